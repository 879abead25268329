// kith::withReplicas: reads outside transactions to the replicas in turn, everything else to the
// primary, read-your-writes after a write, Query::onPrimary() and kith::OnPrimary, and a replica
// that fails mid-run replaced by the others or the primary without an error. Routing is shown on
// SQLite with two files (a "replica" that is a copy); on PostgreSQL against a real streaming standby
// whose replay is paused, so that a read the standby served cannot see a new row; and a standby of
// the test's own whose server is killed (kill -9) in the middle of a run.
#include <kith/pool.hpp>
#include <kith/replicas.hpp>

#include "support.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <signal.h>

using test::User;
using namespace std::chrono_literals;

TEST_CASE("which statements a connection with replicas may send to a replica", "[replicas]") {
  using kith::detail::readOnlySql;
  CHECK(readOnlySql(R"(SELECT "id" FROM "users")"));
  CHECK(readOnlySql("  select count(*) from users"));
  CHECK(readOnlySql("(SELECT 1) UNION (SELECT 2)"));
  CHECK(readOnlySql(R"(SELECT "id" FROM "users" WHERE "email" = 'for update')"));  // the words in a string are not a lock: a read
  CHECK_FALSE(readOnlySql(R"(SELECT "id" FROM "users" FOR UPDATE)"));
  CHECK_FALSE(readOnlySql("SELECT id FROM users for no key update"));
  CHECK_FALSE(readOnlySql("SELECT id FROM users FOR SHARE"));
  CHECK_FALSE(readOnlySql("SELECT id FROM users FOR KEY SHARE"));
  CHECK_FALSE(readOnlySql(R"(INSERT INTO "users" ("email") VALUES (?) RETURNING "id")"));
  CHECK_FALSE(readOnlySql("WITH x AS (DELETE FROM users RETURNING id) SELECT * FROM x"));
  CHECK_FALSE(readOnlySql("UPDATE users SET name = 'select'"));
  CHECK_FALSE(readOnlySql("BEGIN"));
  CHECK_FALSE(readOnlySql("SELEC"));
}

namespace {

/// Two SQLite files: `primary`, and `replica` (a copy made now, then left behind on purpose, so
/// that which one a read went to shows in what it finds).
struct TwoFiles {
  test::TempDir dir;
  std::string primaryFile = dir.file("primary.db");
  std::string replicaFile = dir.file("replica.db");
  TwoFiles() {
    for (const auto& file : {primaryFile, replicaFile}) {
      auto db = kith::sqlite::open(file);
      kith::createTables<User>(db);
      User::create(db, {{}, 0, "first@x", std::nullopt});
    }
  }
  kith::Connection connect(kith::ReplicaOptions options = {}) const {
    return kith::withReplicas(kith::sqlite::open(primaryFile), {kith::sqlite::open(replicaFile)}, options);
  }
  std::int64_t rowsOnPrimary() const { return test::rows(kith::sqlite::open(primaryFile), "users"); }
};

}  // namespace

TEST_CASE("reads outside a transaction go to the replica, writes, transactions and onPrimary to the primary", "[replicas]") {
  TwoFiles files;
  auto db = files.connect({.sticky = 0ms});
  kith::sqlite::open(files.primaryFile).execute(R"(INSERT INTO "users" ("email") VALUES ('second@x'))");  // another client's write

  CHECK(User::query(db).all().size() == 1);  // the replica's
  CHECK(User::query(db).count() == 1);
  CHECK_FALSE(User::find(db, 2).has_value());
  CHECK(User::query(db).onPrimary().all().size() == 2);
  CHECK(User::query(db).onPrimary().count() == 2);
  {
    kith::OnPrimary primary(db);
    CHECK(User::find(db, 2).has_value());
    CHECK(User::query(db).count() == 2);
  }
  CHECK(User::query(db).count() == 1);  // the scope ended
  db.transaction([&](kith::Transaction& trx) { CHECK(User::query(trx).count() == 2); });

  // A write goes to the primary, and a model read from the replica is saved there.
  auto first = User::findOrFail(db, 1);
  first.name = "renamed";
  first.save();
  User::create(db, {{}, 0, "third@x", std::nullopt});
  CHECK(files.rowsOnPrimary() == 3);
  CHECK(test::select(kith::sqlite::open(files.primaryFile), R"(SELECT "name" FROM "users" WHERE "id" = 1)") ==
        std::vector<test::RawRow>{{"renamed"}});
  CHECK(test::rows(kith::sqlite::open(files.replicaFile), "users") == 1);
}

TEST_CASE("read-your-writes: after a write, reads go to the primary for the sticky window", "[replicas]") {
  TwoFiles files;
  auto db = files.connect({.sticky = 60s});
  CHECK(User::query(db).count() == 1);  // no write yet: the replica
  kith::sqlite::open(files.primaryFile).execute(R"(INSERT INTO "users" ("email") VALUES ('other@x'))");
  CHECK(User::query(db).count() == 1);  // another client's write is not ours: still the replica
  User::create(db, {{}, 0, "mine@x", std::nullopt});
  CHECK(User::query(db).count() == 3);  // ours: the primary, which has both
  CHECK(User::query(db).where<&User::email>("mine@x").first().has_value());

  // A transaction that only reads does not pin.
  auto other = files.connect({.sticky = 60s});
  other.transaction([&](kith::Transaction& trx) { CHECK(User::query(trx).count() == 3); });
  CHECK(User::query(other).count() == 1);

  // Outside a pool the window is all: once it has passed, reads go back to the replica.
  auto brief = files.connect({.sticky = 2s});
  User::create(brief, {{}, 0, "brief@x", std::nullopt});
  CHECK(User::query(brief).count() == 4);
  std::this_thread::sleep_for(2100ms);
  CHECK(User::query(brief).count() == 1);
  auto none = files.connect({.sticky = 0ms});
  User::create(none, {{}, 0, "none@x", std::nullopt});
  CHECK(User::query(none).count() == 1);
}

TEST_CASE("read-your-writes in a pool: for the rest of the lease, and not the next lease's", "[replicas]") {
  TwoFiles files;
  kith::Pool pool([&] { return files.connect({.sticky = 0ms}); }, {.max = 1});
  {
    auto lease = pool.acquire();
    CHECK(User::query(lease).count() == 1);
    User::create(lease, {{}, 0, "mine@x", std::nullopt});
    CHECK(User::query(lease).count() == 2);  // the rest of this lease: the primary
  }
  auto next = pool.acquire();  // the same connection, another request
  CHECK(pool.stats().created == 1);
  CHECK(User::query(next).count() == 1);
}

TEST_CASE("withReplicas refuses connections it cannot route", "[replicas]") {
  TwoFiles files;
  CHECK_THROWS_WITH(kith::withReplicas(kith::Connection{}, {}), test::Contains("needs an open primary connection"));
  auto primary = kith::sqlite::open(files.primaryFile);
  CHECK_THROWS_WITH(kith::withReplicas(primary, {primary}), test::Contains("cannot be the primary's own"));
  CHECK_THROWS_WITH(kith::withReplicas(primary, {kith::Connection{}}), test::Contains("open replica connections"));
  auto trx = primary.begin();
  CHECK_THROWS_WITH(kith::withReplicas(primary, {}), test::Contains("outside a transaction"));
}

#ifdef KITH_TEST_HAVE_POSTGRES
namespace {

/// The standby of the test server (scripts/test.sh starts one: KITH_TEST_POSTGRES_STANDBY).
std::string standbyConninfo() {
  const char* standby = std::getenv("KITH_TEST_POSTGRES_STANDBY");
  if (!standby || !*standby)
    FAIL(
        "KITH_TEST_POSTGRES_STANDBY is not set: start a standby of the test server with scripts/postgres.sh standby (scripts/test.sh "
        "does)");
  return standby;
}

/// Waits until `check()` holds (the standby replaying the primary's WAL); fails after 30 s.
template <class F>
void eventually(F check, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!check()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL(std::string("timed out waiting for: ") + what);
    std::this_thread::sleep_for(20ms);
  }
}

/// Which server answered: a view whose one row says whether it was read on a standby.
struct Server : kith::BaseModel<Server> {
  std::int64_t id{};
  bool replica = false;
  static constexpr auto columns = kith::columns<&Server::id, &Server::replica>;
};

/// A schema on the primary, with a users table and the servers view, and connections to it on the
/// primary and on the standby.
struct Replicated {
  kith::Connection primary = test::database();
  std::string schema = test::scalar(primary, "SELECT current_schema()");
  kith::Connection standbyAdmin = kith::postgres::open(standbyConninfo());
  Replicated() {
    kith::createTables<User>(primary);
    primary.execute("CREATE VIEW servers AS SELECT 1::bigint AS id, pg_is_in_recovery() AS replica");
    User::create(primary, {{}, 0, "first@x", std::nullopt});
    eventually(
        [&] {
          try {
            return test::scalar(standbyAdmin, "SELECT count(*) FROM " + schema + ".users") == "1";
          } catch (const std::exception&) {  // not replayed yet: no such table
            return false;
          }
        },
        "the standby has the table");
  }
  kith::Connection replica() const { return kith::postgres::open(standbyConninfo() + " options=-csearch_path=" + schema); }
  kith::Connection connect(kith::ReplicaOptions options) const {
    return kith::withReplicas(test::postgresSchema(schema), {replica()}, options);
  }
  ~Replicated() {
    try {
      standbyAdmin.execute("SELECT pg_wal_replay_resume()");
    } catch (...) {
    }
  }
};

}  // namespace

TEST_CASE("PostgreSQL: reads go to a streaming standby, onPrimary, transactions and read-your-writes to the primary",
          "[replicas][.postgres]") {
  REQUIRE(test::onPostgres());
  Replicated cluster;
  auto db = cluster.connect({.sticky = 60s});
  cluster.standbyAdmin.execute("SELECT pg_wal_replay_pause()");
  User::create(cluster.primary, {{}, 0, "second@x", std::nullopt});  // another client: the paused standby cannot see it

  CHECK(User::query(db).all().size() == 1);
  CHECK(User::query(db).count() == 1);
  CHECK(User::query(db).onPrimary().count() == 2);
  {
    kith::OnPrimary primary(db);
    CHECK(User::query(db).all().size() == 2);
  }
  db.transaction([&](kith::Transaction& trx) { CHECK(User::query(trx).count() == 2); });

  // Our own write: read back at once, from the primary, although the standby is paused.
  auto mine = User::create(db, {{}, 0, "mine@x", std::nullopt});
  CHECK(User::find(db, mine.id).has_value());
  CHECK(User::query(db).count() == 3);

  // The statements kith runs on the primary's own session (the key reservation) reach this
  // connection's query hook as the others do.
  std::vector<std::string> seen;
  db.onQuery([&](const kith::QueryEvent& e) { seen.emplace_back(e.sql); });
  User::createMany(db, {User{{}, 0, "a@x", std::nullopt}, User{{}, 0, "b@x", std::nullopt}});
  db.onQuery(nullptr);
  CHECK(std::count_if(seen.begin(), seen.end(), [](const std::string& sql) { return sql.starts_with(R"(WITH "kith_sequence")"); }) == 1);
  CHECK(std::count_if(seen.begin(), seen.end(), [](const std::string& sql) { return sql.starts_with("INSERT INTO"); }) == 1);

  // Resumed, the standby catches up, and a connection that has not written reads it there.
  cluster.standbyAdmin.execute("SELECT pg_wal_replay_resume()");
  auto reader = cluster.connect({.sticky = 0ms});
  eventually([&] { return User::query(reader).count() == 5; }, "the standby caught up");
}

TEST_CASE("PostgreSQL: a replica whose session is killed mid-run: reads go on through the primary, then the replica again",
          "[replicas][.postgres]") {
  REQUIRE(test::onPostgres());
  Replicated cluster;
  auto replica = cluster.replica();
  const std::string pid = test::scalar(replica, "SELECT pg_backend_pid()");
  auto db = kith::withReplicas(test::postgresSchema(cluster.schema), {replica}, {.sticky = 0ms, .retryAfter = 200ms});
  std::vector<std::string> events;
  db.onEvent([&](const kith::ConnectionEvent& e) {
    if (e.kind == kith::ConnectionEvent::Kind::ReplicaDown) events.emplace_back(e.message);
  });

  // Which server answered each read (the servers view: pg_is_in_recovery()), not what it found:
  // other tests pause and resume the same standby's replay.
  std::vector<bool> onReplica;
  for (int i = 0; i < 40; ++i) {
    if (i == 10) cluster.standbyAdmin.execute("SELECT pg_terminate_backend(" + pid + ")");
    onReplica.push_back(Server::findOrFail(db, 1).replica);  // never throws
  }
  CHECK(std::count(onReplica.begin(), onReplica.begin() + 10, true) == 10);
  CHECK_FALSE(onReplica[10]);  // the read that found the replica gone: served by the primary
  REQUIRE(events.size() >= 1);
  CHECK_THAT(events[0], test::Contains("left out for 200 ms"));

  // After retryAfter the replica is tried again: reconnected, it serves the reads once more.
  std::this_thread::sleep_for(250ms);
  CHECK(Server::findOrFail(db, 1).replica);
  CHECK(test::scalar(replica, "SELECT pg_backend_pid()") != pid);  // a new session
}

#ifdef KITH_TEST_SCRIPTS
namespace {

/// The output of a shell command; fails the test when it fails.
std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
  REQUIRE(pclose(pipe) == 0);
  return out;
}

/// A standby of the test server of its own, in a fresh directory: started here, stopped (or what
/// is left of it removed) at the end.
struct OwnStandby {
  std::string dir = std::filesystem::temp_directory_path() / ("kith-standby-" + std::to_string(::getpid()));
  std::string conninfo;
  OwnStandby() {
    const std::string primary = std::getenv("KITH_TEST_POSTGRES");
    const auto host = primary.find("host=");
    REQUIRE(host != std::string::npos);
    const std::string primaryDir = primary.substr(host + 5, primary.find(' ', host) - host - 5);
    const std::string out = run(std::string(KITH_TEST_SCRIPTS) + "/postgres.sh standby '" + primaryDir + "' '" + dir + "' 2>&1");
    conninfo = out.substr(out.rfind("host="));
    conninfo.erase(conninfo.find_last_not_of('\n') + 1);
  }
  /// kill -9 of the server and every process of it: what a crash of its machine looks like to a client.
  void kill() {
    std::ifstream pidFile(dir + "/data/postmaster.pid");
    std::string line;
    REQUIRE(std::getline(pidFile, line));
    const pid_t postmaster = std::stoi(line);
    std::vector<pid_t> children;  // parent pid in /proc/N/stat; found first, killed once it cannot start more
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::ifstream stat(entry.path() / "stat");
      std::string text;
      if (!std::getline(stat, text) || text.rfind(')') == std::string::npos) continue;
      std::istringstream rest(text.substr(text.rfind(')') + 2));
      char state = 0;
      pid_t parent = 0;
      if (rest >> state >> parent && parent == postmaster) children.push_back(std::stoi(entry.path().filename().string()));
    }
    REQUIRE(::kill(postmaster, SIGKILL) == 0);
    for (const pid_t child : children) ::kill(child, SIGKILL);
  }
  ~OwnStandby() { std::system((std::string(KITH_TEST_SCRIPTS) + "/postgres.sh stop '" + dir + "' >/dev/null 2>&1").c_str()); }
};

}  // namespace

TEST_CASE("PostgreSQL: a replica whose server is killed mid-run: every read is answered, by the primary from then on",
          "[replicas][.postgres]") {
  REQUIRE(test::onPostgres());
  Replicated cluster;
  OwnStandby standby;
  auto replica = kith::postgres::open(standby.conninfo + " options=-csearch_path=" + cluster.schema);
  eventually([&] { return test::scalar(replica, "SELECT count(*) FROM users") == "1"; }, "the new standby has the rows");
  auto db = kith::withReplicas(test::postgresSchema(cluster.schema), {replica}, {.sticky = 0ms, .retryAfter = 100ms});
  std::vector<std::string> events;
  db.onEvent([&](const kith::ConnectionEvent& e) {
    if (e.kind == kith::ConnectionEvent::Kind::ReplicaDown) events.emplace_back(e.message);
  });
  std::vector<bool> onReplica;
  for (int i = 0; i < 30; ++i) {
    if (i == 10) standby.kill();
    if (i == 20) std::this_thread::sleep_for(150ms);         // past retryAfter: the replica is tried again, and is still gone
    onReplica.push_back(Server::findOrFail(db, 1).replica);  // never throws
  }
  CHECK(std::count(onReplica.begin(), onReplica.begin() + 10, true) == 10);
  CHECK(std::count(onReplica.begin() + 10, onReplica.end(), true) == 0);
  REQUIRE(events.size() >= 2);  // left out when it failed, and again when it could not be reopened
  CHECK_THAT(events[0], test::Contains("left out for 100 ms"));
  CHECK_THAT(events.back(), test::Contains("is still unavailable"));
  // Writes and transactions never needed it.
  User::create(db, {{}, 0, "after@x", std::nullopt});
  CHECK(User::query(db).count() == 2);
}
#endif
#endif
