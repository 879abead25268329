// Crash consistency: a child process writes big batches through a relation (createMany of 200,000
// rows, then a saveMany that updates 20,000 of them and inserts 20,000 more; a fifth of that under
// sanitizers) to a WAL file
// database and is killed with SIGKILL, at chosen statements and at random moments. After reopening,
// each batch is wholly present or wholly absent and PRAGMA integrity_check says ok.
#include "support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

namespace {

struct Entry;

struct Ledger : kith::BaseModel<Ledger> {
  std::int64_t id{};
  std::string name;
  kith::HasMany<Entry> entries;

  static constexpr auto columns = kith::columns<&Ledger::id, &Ledger::name>;
};

struct Entry : kith::BaseModel<Entry> {
  std::int64_t id{};
  std::int64_t ledgerId{};
  std::string batch;
  std::int64_t n{};
  std::string payload;

  static constexpr auto columns = kith::columns<&Entry::id, &Entry::ledgerId, &Entry::batch, &Entry::n, &Entry::payload>;
};

// A fifth of the rows under sanitizers: still hundreds of INSERT statements per batch to be killed in.
constexpr std::int64_t batchRows = test::scaled(200'000, 5);
constexpr std::int64_t savedRows = test::scaled(20'000, 5);  // updated by the saveMany, and as many inserted

std::vector<Entry> entries(const std::string& batch, std::int64_t from, std::int64_t count) {
  std::vector<Entry> out(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    auto& e = out[static_cast<std::size_t>(i)];
    e.batch = batch;
    e.n = from + i;
    e.payload = "entry " + std::to_string(from + i) + " of a batch written all at once or not at all";
  }
  return out;
}

/// The child's work: batch A (a new ledger and its 200,000 entries, one transaction), then batch B
/// (saveMany: 20,000 of A's entries moved to B, 20,000 new ones). Kills itself after statement
/// `killAt` when it is positive; writes one character per statement to `trace` when it finishes.
[[noreturn]] void work(const std::string& file, long killAt, const std::string& trace) {
  int status = 0;
  try {
    auto db = kith::sqlite::open(file, {.wal = true, .synchronous = kith::sqlite::Synchronous::Normal});
    std::string seen;
    db.onQuery([&](const kith::QueryEvent& e) {
      seen += e.sql.starts_with("COMMIT") ? 'C' : '.';
      if (static_cast<long>(seen.size()) == killAt) raise(SIGKILL);
    });
    Ledger ledger;
    ledger.name = "main";
    ledger.related<&Ledger::entries>(db).createMany(entries("A", 0, batchRows));
    auto moved = Entry::query(db).orderBy<&Entry::id>().limit(savedRows).all();
    for (auto& e : moved) e.batch = "B";
    auto added = entries("B", batchRows, savedRows);
    moved.insert(moved.end(), std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
    ledger.related<&Ledger::entries>().saveMany(moved);
    std::ofstream(trace) << seen;
  } catch (...) {
    status = 3;
  }
  _exit(status);
}

enum class State { Nothing, A, B };

const char* describe(State s) { return s == State::Nothing ? "nothing" : s == State::A ? "batch A" : "batches A and B"; }

struct Counts {
  std::int64_t ledgers, rows, a, b, sumN, distinctN, foreign;
};

/// Reopens the database after a kill, checks its integrity and returns which batches it holds;
/// fails the test on anything in between.
State inspect(const std::string& file, std::int64_t& rowsChecked) {
  auto db = kith::sqlite::open(file, {.wal = true});
  std::string integrity;
  for (const auto& row : test::select(db, "PRAGMA integrity_check")) integrity += row[0].value_or("NULL");
  CHECK(integrity == "ok");
  const auto v =
      test::select(
          db,
          "SELECT (SELECT count(*) FROM ledgers), count(*), count(*) FILTER (WHERE batch = 'A'), count(*) FILTER (WHERE batch = 'B'), "
          "coalesce(sum(n), 0), count(DISTINCT n), count(*) FILTER (WHERE ledger_id = (SELECT min(id) FROM ledgers)) FROM entries")
          .at(0);
  const auto number = [&](std::size_t i) { return std::stoll(v.at(i).value()); };
  const Counts c{number(0), number(1), number(2), number(3), number(4), number(5), number(6)};
  rowsChecked += c.rows;
  db.close();
  CAPTURE(c.ledgers, c.rows, c.a, c.b, c.sumN, c.distinctN, c.foreign);
  if (c.ledgers == 0) {
    CHECK(c.rows == 0);
    return State::Nothing;
  }
  CHECK(c.ledgers == 1);
  CHECK(c.foreign == c.rows);
  CHECK(c.distinctN == c.rows);
  if (c.b == 0) {
    CHECK(c.a == batchRows);
    CHECK(c.sumN == batchRows * (batchRows - 1) / 2);
    return State::A;
  }
  const std::int64_t all = batchRows + savedRows;
  CHECK(c.a == batchRows - savedRows);
  CHECK(c.b == 2 * savedRows);
  CHECK(c.sumN == all * (all - 1) / 2);
  return State::B;
}

struct Scratch {
  test::TempDir dir;

  /// A fresh database file with the schema, no rows.
  std::string database(const std::string& name) const {
    const auto file = dir.file(name);
    auto db = kith::sqlite::open(file, {.wal = true});
    db.execute("CREATE TABLE ledgers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    db.execute(
        "CREATE TABLE entries (id INTEGER PRIMARY KEY, ledger_id INTEGER NOT NULL REFERENCES ledgers (id), batch TEXT NOT NULL, "
        "n INTEGER NOT NULL, payload TEXT NOT NULL)");
    return file;
  }
};

/// Forks the child; returns how it ended (waitpid status). `killAfter`, when set, is when the parent
/// sends SIGKILL.
int runChild(const std::string& file, long killAt, const std::string& trace,
             std::optional<std::chrono::microseconds> killAfter = std::nullopt) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) work(file, killAt, trace);
  if (killAfter) {
    std::this_thread::sleep_for(*killAfter);
    kill(pid, SIGKILL);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("a process killed during createMany or saveMany leaves each batch wholly present or absent", "[reliability][crash]") {
  Scratch scratch;
  std::int64_t rowsChecked = 0;

  // One run to the end gives the statement sequence and the time the whole work takes.
  const auto trace = scratch.dir.file("trace");
  const auto started = std::chrono::steady_clock::now();
  const int status = runChild(scratch.database("complete.db"), 0, trace);
  const auto duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  std::string statements;
  std::ifstream(trace) >> statements;
  const auto firstCommit = static_cast<long>(statements.find('C')) + 1;  // statement numbers start at 1
  const auto secondCommit = static_cast<long>(statements.find('C', static_cast<std::size_t>(firstCommit))) + 1;
  const auto total = static_cast<long>(statements.size());
  REQUIRE(firstCommit > 0);
  REQUIRE(secondCommit == total);
  CHECK(inspect(scratch.dir.file("complete.db"), rowsChecked) == State::B);

  // Killed right after chosen statements: the state is known exactly.
  const std::vector<long> points{
      1,           2, firstCommit / 2, firstCommit - 1, firstCommit, firstCommit + 1, (firstCommit + secondCommit) / 2, secondCommit - 1,
      secondCommit};
  for (std::size_t i = 0; i < points.size(); ++i) {
    const long at = points[i];
    CAPTURE(at, total);
    const auto file = scratch.database("at-" + std::to_string(i) + ".db");
    const int killed = runChild(file, at, trace);
    REQUIRE(WIFSIGNALED(killed));
    const State expected = at < firstCommit ? State::Nothing : at < secondCommit ? State::A : State::B;
    CHECK(describe(inspect(file, rowsChecked)) == std::string(describe(expected)));
  }

  // Killed by the parent at random moments: inside a statement, a commit, a WAL write.
  const auto seed = std::random_device{}();
  CAPTURE(seed);
  std::mt19937 random(seed);
  std::uniform_int_distribution<long> moment(0, duration.count());
  std::array<int, 3> seen{};
  constexpr int timedKills = 8;
  for (int i = 0; i < timedKills; ++i) {
    const auto after = std::chrono::microseconds(moment(random));
    CAPTURE(after.count());
    const auto file = scratch.database("timed-" + std::to_string(i) + ".db");
    runChild(file, 0, trace, after);
    ++seen[static_cast<std::size_t>(inspect(file, rowsChecked))];
  }
  WARN("crash test: " << points.size() + timedKills << " kills (" << points.size() << " after chosen statements of " << total << ", "
                      << timedKills << " timed within " << duration.count() / 1000 << " ms: " << seen[0] << " nothing, " << seen[1]
                      << " A, " << seen[2] << " A+B); " << rowsChecked << " rows checked");
}
