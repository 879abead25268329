// M1: a migration that changes a column's type on a SQLite table of 1,000,000 rows — the table
// rebuild of sqlite.org/lang_altertable.html section 7 — run by kith::migrate against the same
// rebuild written by hand with sqlite3 (foreign keys off, BEGIN IMMEDIATE, CREATE the new table,
// INSERT ... SELECT, DROP, RENAME, CREATE INDEX, foreign_key_check, COMMIT). Each run works on a
// fresh copy of one database file (the copy is not timed).
//
//   kith_bench_migrate [rows]    paired times: kith and hand-written runs alternating (kith first,
//                                then raw first), the ratio within each adjacent pair, median of 7
//   kith_bench_migrate --smoke   1,000 rows; fails when the two results differ
//
// V1: kith::verifySchema of 50 models (each with a HasMany whose key is indexed) on the tables
// createTables made: the median of 21 runs, on the SQLite file, and on PostgreSQL when
// KITH_BENCH_POSTGRES holds a conninfo (a fresh schema there, dropped afterwards).
#include <kith/kith.hpp>
#include <kith/verify.hpp>
#ifdef KITH_BENCH_HAVE_POSTGRES
#include <kith/postgres.hpp>
#endif

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "error";
    sqlite3_free(error);
    throw std::runtime_error(message + " in: " + sql);
  }
}

/// The database every run starts from: `events` with an index, `rows` rows.
void makeTemplate(const std::string& file, long rows) {
  fs::remove(file);
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  exec(db,
       "PRAGMA journal_mode = WAL; CREATE TABLE events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, amount INTEGER NOT NULL, "
       "note TEXT); CREATE INDEX events_kind ON events (kind); BEGIN");
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO events (kind, amount, note) VALUES (?, ?, ?)", -1, &insert, nullptr);
  static const char* kinds[] = {"click", "view", "purchase", "refund"};
  for (long i = 0; i < rows; ++i) {
    sqlite3_bind_text(insert, 1, kinds[i % 4], -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 2, i * 7 % 10'000);
    if (i % 3 == 0)
      sqlite3_bind_null(insert, 3);
    else
      sqlite3_bind_text(insert, 3, "a note of a few dozen bytes, as events carry", -1, SQLITE_STATIC);
    sqlite3_step(insert);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(db);
}

const std::vector<kith::Migration>& migrations() {
  static const std::vector<kith::Migration> list{
      {"2026_12_05_01_events_amount_real",
       [](kith::Schema& s) { s.alterTable("events", [](kith::TableChanges& t) { t.changeColumn<double>("amount"); }); },
       {}}};
  return list;
}

void runKith(const std::string& file) {
  auto db = kith::sqlite::open(file, {.wal = true});
  kith::migrate(db, migrations());
}

/// The rebuild an expert writes by hand for this one table, knowing it has one index and nothing
/// else, plus the record a migration tool keeps (one row).
void runRaw(const std::string& file) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);  // as kith opens it
  exec(db,
       "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE; "
       "CREATE TABLE IF NOT EXISTS migrations (name TEXT NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL); "
       "CREATE TABLE new_events (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, amount REAL NOT NULL, note TEXT); "
       "INSERT INTO new_events (id, kind, amount, note) SELECT id, kind, amount, note FROM events; "
       "DROP TABLE events; ALTER TABLE new_events RENAME TO events; CREATE INDEX events_kind ON events (kind); "
       "PRAGMA foreign_key_check; INSERT INTO migrations VALUES ('2026_12_05_01_events_amount_real', datetime('now')); COMMIT; "
       "PRAGMA foreign_keys = ON");
  sqlite3_close(db);
}

/// What a run left: the schema of `events` and a digest of its rows.
std::string result(const std::string& file) {
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  std::string out;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT (SELECT group_concat(name || ' ' || type || ' ' || \"notnull\", ', ') FROM pragma_table_info('events')), "
                     "(SELECT group_concat(name, ', ') FROM pragma_index_list('events')), count(*), total(amount), "
                     "count(note), sum(typeof(amount) = 'real') FROM events",
                     -1, &s, nullptr);
  if (sqlite3_step(s) == SQLITE_ROW)
    for (int i = 0; i < 6; ++i) {
      const auto* text = sqlite3_column_text(s, i);
      out += (text ? reinterpret_cast<const char*>(text) : "NULL") + std::string(" | ");
    }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ---- V1 ----

template <int N>
struct Row;

template <int N>
struct TableName {
  static constexpr std::array<char, 4> text{'t', static_cast<char>('0' + N / 10), static_cast<char>('0' + N % 10), 0};
};

template <int N>
struct Owner : kith::BaseModel<Owner<N>> {
  std::int64_t id{};
  std::string name;
  std::optional<std::string> note;
  std::int64_t count{};
  std::chrono::sys_time<std::chrono::microseconds> createdAt{};
  kith::HasMany<Row<N>, kith::keys{.foreignKey = "ownerId"}> rows;

  static constexpr std::string_view table{TableName<N>::text.data(), 3};
  static constexpr auto columns = kith::columns<&Owner::id, &Owner::name, &Owner::note, &Owner::count, &Owner::createdAt>;
  static constexpr auto relations = kith::relations<&Owner::rows>;
};

/// The rows of the 25 owners: 50 tables in all.
template <int N>
struct Row : kith::BaseModel<Row<N>> {
  std::int64_t id{};
  std::int64_t ownerId{};
  double amount{};

  static constexpr std::string_view table{TableName<N + 50>::text.data(), 3};
  static constexpr auto columns = kith::columns<&Row::id, &Row::ownerId, &Row::amount>;
};

template <int... N>
void verifyFifty(const kith::Connection& db, const char* where, std::integer_sequence<int, N...>) {
  kith::createTables<Owner<N>..., Row<N>...>(db);
  std::vector<double> ms;
  for (int run = 0; run < 21; ++run) {
    const auto start = std::chrono::steady_clock::now();
    const auto report = kith::verifySchema<Owner<N>..., Row<N>...>(db);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!report.ok()) throw std::runtime_error("V1: verifySchema reported " + report.describe());
  }
  std::printf("V1 verifySchema of %zu tables (%s): %.2f ms (median of 21)\n", 2 * sizeof...(N), where, median(ms));
}

}  // namespace

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::string(argv[1]) == "--smoke";
  const long rows = smoke ? 1000 : argc > 1 ? std::stol(argv[1]) : 1'000'000;
  const fs::path dir = fs::temp_directory_path() / ("kith-bench-migrate-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string source = (dir / "template.db").string(), work = (dir / "work.db").string();
  try {
    makeTemplate(source, rows);
    const auto fresh = [&] {
      fs::remove(work);
      fs::remove(work + "-wal");
      fs::remove(work + "-shm");
      fs::copy_file(source, work);
    };
    const auto timed = [&](void (*run)(const std::string&)) {
      fresh();
      const auto start = std::chrono::steady_clock::now();
      run(work);
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    };
    if (smoke) {
      timed(runKith);
      const std::string kith = result(work);
      timed(runRaw);
      const std::string raw = result(work);
      fs::remove_all(dir);
      if (kith != raw) {
        std::fprintf(stderr, "M1 smoke: the results differ\n  kith: %s\n  raw:  %s\n", kith.c_str(), raw.c_str());
        return 1;
      }
      std::printf("M1 smoke: %s\n", kith.c_str());
      return 0;
    }
    std::vector<double> ratios, kithMs, rawMs;
    for (int pair = 0; pair < 7; ++pair) {
      double k = 0, r = 0;
      if (pair % 2 == 0) {
        k = timed(runKith);
        r = timed(runRaw);
      } else {
        r = timed(runRaw);
        k = timed(runKith);
      }
      kithMs.push_back(k);
      rawMs.push_back(r);
      ratios.push_back(k / r);
      std::fprintf(stderr, "pair %d (%s first): kith %.0f ms, raw %.0f ms\n", pair, pair % 2 == 0 ? "kith" : "raw", k, r);
    }
    std::printf("M1 rebuild of %ld rows: kith %.0f ms, hand-written %.0f ms (medians)\nratio M1 kith/raw time=%.3f (7 pairs)\n", rows,
                median(kithMs), median(rawMs), median(ratios));
    {
      auto db = kith::sqlite::open((dir / "fifty.db").string(), {.wal = true});
      verifyFifty(db, "SQLite file", std::make_integer_sequence<int, 25>{});
    }
#ifdef KITH_BENCH_HAVE_POSTGRES
    if (const char* conninfo = std::getenv("KITH_BENCH_POSTGRES")) {
      auto admin = kith::postgres::open(conninfo);
      const std::string schema = "kith_bench_verify_" + std::to_string(getpid());
      admin.execute("CREATE SCHEMA " + schema);
      try {
        auto db = kith::postgres::open(std::string(conninfo) + " options=-csearch_path=" + schema);
        verifyFifty(db, "PostgreSQL, local socket", std::make_integer_sequence<int, 25>{});
      } catch (...) {
        admin.execute("DROP SCHEMA " + schema + " CASCADE");
        throw;
      }
      admin.execute("DROP SCHEMA " + schema + " CASCADE");
    }
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kith_bench_migrate: %s\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
