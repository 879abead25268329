// Shared by kith's tests: the Catch2 header (v2 or v3), a statement log, and the models most tests use.
#pragma once

#ifdef KITH_CATCH_V3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <kith/kith.hpp>
#ifdef KITH_TEST_HAVE_POSTGRES
#include <kith/postgres.hpp>
#endif

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KITH_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KITH_TEST_SANITIZED 1
#endif
#endif

namespace test {

/// True in a build under AddressSanitizer or ThreadSanitizer, where the tests run 3-5 times slower:
/// the slowest tests write fewer rows there, keeping every kind of check (no test may need more
/// than a fifth of its ctest timeout on an idle machine).
#ifdef KITH_TEST_SANITIZED
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif

/// `full` in an ordinary build, `full / divisor` in a sanitized one.
constexpr std::int64_t scaled(std::int64_t full, std::int64_t divisor) { return sanitized ? full / divisor : full; }

#ifdef KITH_CATCH_V3
inline auto Contains(const std::string& s) { return Catch::Matchers::ContainsSubstring(s); }
#else
inline auto Contains(const std::string& s) { return Catch::Matchers::Contains(s); }
#endif

/// Records every statement a connection runs, through the query hook.
struct StatementLog {
  struct Entry {
    std::string sql;
    std::vector<kith::Value> bindings;
  };
  std::vector<Entry> entries;

  explicit StatementLog(const kith::Connection& db) {
    db.onQuery([this](const kith::QueryEvent& e) { entries.push_back({std::string(e.sql), {e.bindings.begin(), e.bindings.end()}}); });
  }
  std::size_t count() const { return entries.size(); }
  std::vector<std::string> sql() const {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.sql);
    return out;
  }
  void clear() { entries.clear(); }
};

/// What model hooks did, in order ("hook:who"), and which hook throws: hooks call record().
struct HookJournal {
  static inline std::vector<std::string> calls;
  static inline std::string failIn;
  static void record(const std::string& hook, const std::string& who) {
    calls.push_back(hook + ":" + who);
    if (failIn == hook) throw std::runtime_error("hook " + hook + " refused " + who);
  }
  static void reset() {
    calls.clear();
    failIn.clear();
  }
};

/// The database the portable tests (tag [portable]) run against: SQLite, unless the environment
/// says KITH_TEST_ADAPTER=postgres (ctest's "pg: " tests do), then the server whose libpq conninfo
/// is in KITH_TEST_POSTGRES. Without one, a PostgreSQL test exits with 77, which ctest reports as
/// skipped, after a line that says how to run it.
enum class Adapter { Sqlite, Postgres };

inline Adapter adapter() {
  static const Adapter chosen = [] {
    const char* name = std::getenv("KITH_TEST_ADAPTER");
    if (!name || std::string_view(name) != "postgres") return Adapter::Sqlite;
#ifdef KITH_TEST_HAVE_POSTGRES
    const char* conninfo = std::getenv("KITH_TEST_POSTGRES");
    if (conninfo && *conninfo) return Adapter::Postgres;
    std::puts("skipped: set KITH_TEST_POSTGRES to a libpq conninfo (scripts/postgres.sh start prints one) to run the PostgreSQL tests");
#else
    std::puts("skipped: kith was built without libpq (Debian: libpq-dev), so without its PostgreSQL adapter");
#endif
    std::fflush(stdout);
    std::_Exit(77);
  }();
  return chosen;
}

inline bool onPostgres() { return adapter() == Adapter::Postgres; }

/// The statement that opens a transaction on the adapter under test.
inline std::string beginSql() { return onPostgres() ? "BEGIN" : "BEGIN IMMEDIATE"; }

/// What save() sends for `insert`, a one-row INSERT without the generated key written as on
/// SQLite: PostgreSQL returns the key (RETURNING "id").
inline std::string insertOne(const std::string& insert) { return onPostgres() ? insert + R"( RETURNING "id")" : insert; }

/// What createMany/saveMany send for `insert`, a multi-row INSERT without the generated key written
/// as on SQLite: SQLite first reads the largest key when there are several rows (their keys follow
/// from it); PostgreSQL takes the keys from the sequence first, then inserts them with the rows.
inline std::vector<std::string> insertMany(const std::string& insert) {
  if (!onPostgres()) {
    const auto tuples = std::count(insert.begin(), insert.end(), '(') - 1;
    if (tuples < 2) return {insert};
    const auto table = insert.substr(12, insert.find('"', 13) - 11);  // INSERT INTO "table"
    return {"SELECT max(\"id\") FROM " + table, insert};
  }
  std::string withKeys;
  const auto columns = insert.find(" (");
  const auto values = insert.find(" VALUES ");
  withKeys = insert.substr(0, columns) + R"( ("id", )" + insert.substr(columns + 2, values - columns - 2);
  for (std::size_t at = values; at < insert.size(); ++at) {
    withKeys += insert[at];
    if (insert[at] == '(') withKeys += "?, ";
  }
  return {R"(WITH "kith_sequence" AS MATERIALIZED (SELECT pg_get_serial_sequence(?, ?)::regclass AS "s") )"
          R"(SELECT nextval("s") FROM "kith_sequence", generate_series(1, ?))",
          withKeys};
}

/// A preload's condition on its foreign key `column` (quoted) for `padded` keys, written as on
/// SQLite (an IN list padded to a power of two); PostgreSQL takes the keys as one array.
inline std::string keysIn(const std::string& column, std::size_t padded) {
  if (onPostgres()) return column + " = ANY(?)";
  std::string in = column + " IN (";
  for (std::size_t k = 0; k < padded; ++k) in += k ? ", ?" : "?";
  return in + ")";
}

/// The bindings of keysIn(): SQLite's padded list, or PostgreSQL's array literal of the distinct keys.
inline std::vector<kith::Value> keyBindings(const std::vector<std::int64_t>& padded) {
  std::vector<kith::Value> out;
  if (!onPostgres()) {
    for (auto k : padded) out.emplace_back(k);
    return out;
  }
  std::string array = "{";
  std::vector<std::int64_t> seen;
  for (auto k : padded)
    if (std::find(seen.begin(), seen.end(), k) == seen.end()) {
      array += (seen.empty() ? "" : ",") + std::to_string(k);
      seen.push_back(k);
    }
  out.emplace_back(array + "}");
  return out;
}

/// The statements of a run, from single statements and insertMany()'s lists.
inline std::vector<std::string> statements(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

/// Statements a createMany or saveMany of `rows` new rows sends besides its INSERTs: the key
/// reservation on PostgreSQL, the look at the largest key on SQLite (for more than one row).
inline std::size_t keyReservations(std::size_t rows) { return onPostgres() || rows > 1 ? 1 : 0; }

/// What a find-or-create sends first in its transaction: PostgreSQL's advisory lock on the parent's
/// related rows (SQLite's BEGIN IMMEDIATE already excludes other writers).
inline std::vector<std::string> createLock() {
  if (!onPostgres()) return {};
  return {"SELECT pg_advisory_xact_lock(?)"};
}
inline std::size_t createLocks() { return createLock().size(); }

#ifdef KITH_TEST_HAVE_POSTGRES
/// The schemas the tests made on the server, dropped when the test program ends.
struct PostgresSchemas {
  kith::Connection admin = kith::postgres::open(std::getenv("KITH_TEST_POSTGRES"));
  std::vector<std::string> names;
  PostgresSchemas() = default;
  PostgresSchemas(const PostgresSchemas&) = delete;
  PostgresSchemas& operator=(const PostgresSchemas&) = delete;
  ~PostgresSchemas() {
    for (const auto& name : names) {
      try {
        admin.execute("DROP SCHEMA " + name + " CASCADE");
      } catch (...) {  // the server went away: its temporary cluster goes with it
      }
    }
  }
};
#endif

#ifdef KITH_TEST_HAVE_POSTGRES
/// The test server's conninfo (KITH_TEST_POSTGRES) with its search_path set to `schema`, in the
/// conninfo itself, so that a connection kith reopens after losing it keeps it.
inline std::string postgresConninfo(const std::string& schema) {
  const std::string server = std::getenv("KITH_TEST_POSTGRES");
  if (server.find("://") == std::string::npos) return server + " options=-csearch_path=" + schema;
  return server + (server.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

/// A new connection to the test server (KITH_TEST_POSTGRES), its search_path set to `schema`.
inline kith::Connection postgresSchema(const std::string& schema) { return kith::postgres::open(postgresConninfo(schema)); }
#endif

/// A fresh, empty database on the adapter under test: SQLite in memory, or a new schema on the
/// PostgreSQL server that the connection's search_path points to.
inline kith::Connection database() {
#ifdef KITH_TEST_HAVE_POSTGRES
  if (onPostgres()) {
    static PostgresSchemas schemas;
    static int made = 0;
    const std::string name = "kith_test_" + std::to_string(getpid()) + "_" + std::to_string(++made);
    schemas.admin.execute("CREATE SCHEMA " + name);
    schemas.names.push_back(name);
    return postgresSchema(name);
  }
#endif
  (void)adapter();
  return kith::sqlite::open(":memory:");
}

/// One row as SQLite gives it as text; NULL is an empty optional.
using RawRow = std::vector<std::optional<std::string>>;

/// Every row of `sql`, straight from the database (sqlite3_exec, or libpq's PQexec), bypassing kith.
inline std::vector<RawRow> select(const kith::Connection& db, const std::string& sql) {
  std::vector<RawRow> out;
#ifdef KITH_TEST_HAVE_POSTGRES
  if (onPostgres()) {
    PGresult* r = PQexec(kith::postgres::handle(db), sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    for (int row = 0; ok && row < PQntuples(r); ++row) {
      RawRow values;
      for (int c = 0; c < PQnfields(r); ++c)
        values.push_back(PQgetisnull(r, row, c) ? std::nullopt : std::optional<std::string>(PQgetvalue(r, row, c)));
      out.push_back(std::move(values));
    }
    const std::string message = ok ? "" : PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) throw std::runtime_error("test::select: " + message + " in: " + sql);
    return out;
  }
#endif
  char* error = nullptr;
  const int rc = sqlite3_exec(
      kith::sqlite::handle(db), sql.c_str(),
      [](void* sink, int n, char** values, char**) {
        RawRow row;
        for (int i = 0; i < n; ++i) row.push_back(values[i] ? std::optional<std::string>(values[i]) : std::nullopt);
        static_cast<std::vector<RawRow>*>(sink)->push_back(std::move(row));
        return 0;
      },
      &out, &error);
  if (rc != SQLITE_OK) {
    const std::string message = error ? error : "error";
    sqlite3_free(error);
    throw std::runtime_error("test::select: " + message + " in: " + sql);
  }
  return out;
}

/// The first value of the first row as text: "NULL" for NULL, "<none>" when there is no row.
inline std::string scalar(const kith::Connection& db, const std::string& sql) {
  const auto rows = select(db, sql);
  return rows.empty() ? "<none>" : rows[0].at(0).value_or("NULL");
}

/// A row count straight from SQLite, bypassing kith's models.
inline std::int64_t rows(const kith::Connection& db, const std::string& table) {
  return std::stoll(scalar(db, "SELECT count(*) FROM \"" + table + "\""));
}

/// The titles of a range of posts (any model with a `title`), in order.
template <class Posts>
std::vector<std::string> titles(const Posts& posts) {
  std::vector<std::string> out;
  for (const auto& p : posts) out.push_back(p.title);
  return out;
}

/// A fresh directory under the system's temporary directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("kith-test-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::optional<std::string> name;

  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;

  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body>;
};

/// The `id` column of a hand-written CREATE TABLE, generated by the database: SQLite's rowid
/// alias, or PostgreSQL's BIGSERIAL.
inline std::string idColumn() { return onPostgres() ? "id BIGSERIAL PRIMARY KEY" : "id INTEGER PRIMARY KEY"; }

/// A fresh database (test::database()) with users (email UNIQUE) and posts tables.
inline kith::Connection blogDatabase() {
  auto db = database();
  db.execute("CREATE TABLE users (" + idColumn() + ", email TEXT NOT NULL UNIQUE, name TEXT)");
  db.execute("CREATE TABLE posts (" + idColumn() +
             ", user_id BIGINT NOT NULL, title TEXT NOT NULL CHECK (title <> ''), body TEXT NOT NULL)");
  return db;
}

}  // namespace test
