// kith::Pool: leases, exhaustion and its errors, what a returned lease leaves behind (nothing),
// dead and old connections replaced, leak reports, models that outlive their lease, and many
// threads through one pool. [portable]: on SQLite (a WAL file) and on PostgreSQL. The threaded
// cases also run in the ThreadSanitizer build ("tsan: " tests).
#include "support.hpp"

#include <kith/pool.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace pool_test {

using namespace std::chrono_literals;

struct Account : kith::BaseModel<Account> {
  std::int64_t id{};
  std::string owner;
  std::int64_t balance{};
  static constexpr auto columns = kith::columns<&Account::id, &Account::owner, &Account::balance>;
};

/// Where the pool's connections go: a WAL file in a temporary directory (every connection of a
/// pool to ":memory:" would be its own database), or a new schema on the PostgreSQL server, named
/// in the conninfo so that every connection of the pool is in it.
struct Database {
  test::TempDir dir;
  std::string schema;
  std::function<kith::Connection()> open;

  Database() {
    if (test::onPostgres()) {
      auto first = test::database();  // makes the schema, dropped when the test program ends
      schema = test::scalar(first, "SELECT current_schema()");
      const std::string info = test::postgresConninfo(schema);
      open = [info] { return kith::postgres::open(info); };
    } else {
      const std::string file = dir.file("pool.db");
      open = [file] { return kith::sqlite::open(file, {.wal = true, .synchronous = kith::sqlite::Synchronous::Normal}); };
    }
    auto db = open();
    kith::createTables<Account>(db);
  }
};

/// The server's id of a connection's session (PostgreSQL), or the address of its handle (SQLite):
/// the same connection gives the same answer.
std::string identity(const kith::Connection& c) {
  if (test::onPostgres()) return test::scalar(c, "SELECT pg_backend_pid()");
  return std::to_string(reinterpret_cast<std::uintptr_t>(kith::sqlite::handle(c)));
}

/// Collects what the pool reports.
struct Events {
  std::mutex mutex;
  std::vector<kith::ConnectionEvent::Kind> kinds;
  std::vector<std::string> messages, places;
  kith::ConnectionHook hook() {
    return [this](const kith::ConnectionEvent& e) {
      std::lock_guard lock(mutex);
      kinds.push_back(e.kind);
      messages.emplace_back(e.message);
      places.emplace_back(e.acquiredAt);
    };
  }
  std::size_t count(kith::ConnectionEvent::Kind kind) {
    std::lock_guard lock(mutex);
    return static_cast<std::size_t>(std::count(kinds.begin(), kinds.end(), kind));
  }
};

/// Waits up to two seconds for `done`, checking every few milliseconds.
template <class F>
bool eventually(F done) {
  for (int i = 0; i < 400; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

}  // namespace pool_test

using namespace pool_test;

TEST_CASE("a pool hands out at most max connections, reuses them, and counts what it does", "[pool][portable]") {
  Database database;
  kith::Pool pool(database.open, {.max = 2});
  std::string first;
  {
    auto lease = pool.acquire();
    first = identity(lease);
    Account::create(lease, {.owner = "ann", .balance = 10});
    CHECK(pool.stats().inUse == 1);
  }
  CHECK(pool.stats().inUse == 0);
  CHECK(pool.stats().idle == 1);
  auto again = pool.acquire();
  CHECK(identity(again) == first);  // the idle connection, not a new one
  auto second = pool.acquire();
  CHECK(identity(second) != first);
  const auto stats = pool.stats();
  CHECK(stats.max == 2);
  CHECK(stats.inUse == 2);
  CHECK(stats.idle == 0);
  CHECK(stats.created == 2);
  CHECK(Account::query(second).count() == 1);
}

TEST_CASE("acquire waits for a lease to come back, then times out with PoolTimeout naming the pool's state", "[pool][portable]") {
  Database database;
  kith::Pool pool(database.open, {.max = 1, .acquireTimeout = 150ms});
  auto held = std::make_optional(pool.acquire());
  std::string timedOut = "<acquired a connection while the only one was leased>";
  kith::PoolStats stats;
  std::thread other([&] {  // assertions stay on the test's thread: Catch2 takes them from one
    try {
      auto lease = pool.acquire();
    } catch (const kith::PoolTimeout& e) {
      timedOut = e.what();
      stats = e.stats();
    }
  });
  other.join();
  CHECK_THAT(timedOut, test::Contains("no connection came free within 150 ms (1 in use, 0 idle, 0 opening, 0 waiting, max 1)"));
  CHECK(stats.inUse == 1);
  CHECK(stats.waiting == 0);  // it has stopped waiting
  CHECK(stats.timedOut == 1);
  CHECK(pool.stats().timedOut == 1);

  // A waiter gets the connection the moment it is given back.
  std::string got;
  std::thread waiter([&] {
    auto lease = pool.acquire();
    got = identity(lease);
  });
  CHECK(eventually([&] { return pool.stats().waiting == 1; }));
  const std::string id = identity(*held);
  held.reset();
  waiter.join();
  CHECK(got == id);
}

TEST_CASE("a thread that holds a lease and asks for another when none is free gets an error at once, not a hang", "[pool][portable]") {
  Database database;
  kith::Pool pool(database.open, {.max = 2, .acquireTimeout = 10s});
  auto outer = pool.acquire();
  auto inner = pool.acquire();  // one was free: no error
  const auto started = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(pool.acquire(), test::Contains("this thread already holds a lease of this pool and asks for another while all 2 are "
                                                   "leased (2 in use, 0 idle, 0 opening, 0 waiting, max 2): it would wait for itself"));
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  CHECK_THROWS_AS(pool.transaction([](kith::Transaction&) {}), kith::UsageError);
}

TEST_CASE("a lease given back inside an open transaction is rolled back, and the next lease sees nothing of it", "[pool][portable]") {
  Database database;
  kith::Pool pool(database.open, {.max = 1});
  Account written;
  written.owner = "uncommitted";
  {
    auto lease = pool.acquire();
    auto trx = lease.begin();  // never committed
    written.save(trx);
    CHECK(written.isPersisted());
    lease.onQuery([](const kith::QueryEvent&) { FAIL("a lease's query hook ran under the next lease"); });
    // The lease goes first, the Transaction object after it: the pool undoes the transaction.
    auto taken = std::move(lease);
    taken.release();
  }
  CHECK_FALSE(written.isPersisted());  // its row went with the rollback
  auto next = pool.acquire();
  CHECK_FALSE(next.inTransaction());
  CHECK_FALSE(next.backend().nativeTransactionActive());
  CHECK(Account::query(next).count() == 0);
  Account::create(next, {.owner = "next", .balance = 1});  // autocommit again: visible to another connection
  CHECK(Account::query(database.open()).count() == 1);
}

TEST_CASE("a lease given back with a BEGIN run by hand, or a failed transaction, leaves none of it to the next", "[pool][portable]") {
  Database database;
  kith::Pool pool(database.open, {.max = 1});
  {
    auto lease = pool.acquire();
    lease.execute(test::beginSql());
    lease.execute("INSERT INTO accounts (owner, balance) VALUES ('by hand', 1)");
    if (test::onPostgres()) CHECK_THROWS(lease.execute("SELECT * FROM no_such_table"));  // the transaction is now failed
  }
  auto next = pool.acquire();
  CHECK_FALSE(next.backend().nativeTransactionActive());
  CHECK(Account::query(next).count() == 0);
  Account::create(next, {.owner = "works", .balance = 1});
  CHECK(Account::query(database.open()).count() == 1);
}

TEST_CASE("a model read under a lease that has ended refuses save() without a connection, and sends nothing", "[pool][portable]") {
  Database database;
  kith::Pool pool(database.open, {.max = 1});
  Account ann;
  {
    auto lease = pool.acquire();
    ann = Account::create(lease, {.owner = "ann", .balance = 10});
  }
  auto lease = pool.acquire();  // the same connection, now under another lease
  test::StatementLog log(lease);
  ann.balance = 20;
  CHECK_THROWS_WITH(ann.save(), test::Contains("this handle came from a pool lease that has ended"));
  CHECK_THROWS_WITH(ann.refresh(), test::Contains("this handle came from a pool lease that has ended"));
  CHECK_THROWS_AS(ann.destroy(), kith::UsageError);
  CHECK(log.count() == 0);
  CHECK(ann.isPersisted());
  CHECK(ann.isDirty());
  ann.save(lease);  // with the lease that writes it, which it remembers from then on
  CHECK(Account::findOrFail(lease, ann.id).balance == 20);
  ann.balance = 30;
  ann.save();
  CHECK(Account::findOrFail(lease, ann.id).balance == 30);
  // A connection handle copied from a lease is good while the lease lasts, and no longer.
  kith::Connection copy = lease;
  CHECK(Account::query(copy).count() == 1);
  lease.release();
  CHECK_THROWS_AS(Account::query(copy).count(), kith::UsageError);
}

TEST_CASE("pool.transaction commits, or rolls back and rethrows, and gives the connection back either way", "[pool][portable]") {
  Database database;
  kith::Pool pool(database.open, {.max = 1});
  const auto id = pool.transaction([](kith::Transaction& trx) { return Account::create(trx, {.owner = "ok", .balance = 5}).id; });
  CHECK(id > 0);
  CHECK_THROWS_WITH(pool.transaction([](kith::Transaction& trx) {
    Account::create(trx, {.owner = "undone", .balance = 5});
    throw std::runtime_error("changed my mind");
  }),
                    "changed my mind");
  CHECK(pool.stats().inUse == 0);
  auto lease = pool.acquire();
  CHECK(Account::query(lease).count() == 1);
}

TEST_CASE("a lease held past the leak threshold is reported with where it was acquired", "[pool][portable]") {
  Database database;
  Events events;
  kith::Pool pool(database.open, {.max = 2, .leakThreshold = 60ms, .onEvent = events.hook()});
  {
    auto quick = pool.acquire();  // given back at once: never reported
  }
  auto held = pool.acquire();
  const auto line = __LINE__ - 1;
  CHECK(eventually([&] { return events.count(kith::ConnectionEvent::Kind::LeaseHeldLong) == 1; }));
  std::this_thread::sleep_for(150ms);
  std::lock_guard lock(events.mutex);
  REQUIRE(events.kinds.size() == 1);  // once per lease
  CHECK_THAT(events.places[0], test::Contains("pool_test.cpp:" + std::to_string(line)));
  CHECK_THAT(events.messages[0], test::Contains("has been held for"));
}

TEST_CASE("connections past their lifetime are replaced, idle ones past the idle timeout closed, minIdle kept open", "[pool][portable]") {
  Database database;
  Events events;
  SECTION("maxLifetime") {
    kith::Pool pool(database.open, {.max = 1, .maxLifetime = 100ms, .onEvent = events.hook()});
    std::string first;
    {
      auto lease = pool.acquire();
      first = identity(lease);
    }
    std::this_thread::sleep_for(150ms);
    auto lease = pool.acquire();
    CHECK(identity(lease) != first);
    CHECK(pool.stats().created == 2);
    CHECK(pool.stats().replaced >= 1);
  }
  SECTION("idleTimeout and minIdle") {
    kith::Pool pool(database.open, {.max = 4, .minIdle = 1, .idleTimeout = 100ms});
    CHECK(eventually([&] { return pool.stats().idle == 1; }));  // opened ahead of need
    { auto a = pool.acquire(), b = pool.acquire(), c = pool.acquire(); }
    CHECK(pool.stats().idle >= 3);                              // the housekeeper may have opened one more meanwhile
    CHECK(eventually([&] { return pool.stats().idle == 1; }));  // back down to minIdle
    CHECK(pool.stats().inUse == 0);
  }
}

TEST_CASE("a pool connection whose server ended it is replaced, never handed out", "[.postgres][pool]") {
  REQUIRE(test::onPostgres());
  Database database;
  Events events;
  kith::Pool pool(database.open, {.max = 2, .onEvent = events.hook()});
  std::string pid;
  {
    auto lease = pool.acquire();
    pid = identity(lease);
  }
  kith::postgres::open(std::getenv("KITH_TEST_POSTGRES")).execute("SELECT pg_terminate_backend(?::int)", std::stoll(pid));
  CHECK(eventually([&] { return test::scalar(database.open(), "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) == "0"; }));
  auto lease = pool.acquire();  // at once: within the validation window, found by what its socket says
  CHECK(identity(lease) != pid);
  Account::create(lease, {.owner = "after", .balance = 1});
  CHECK(events.count(kith::ConnectionEvent::Kind::Replaced) == 1);
  CHECK(pool.stats().replaced == 1);

  // One that dies while leased: its statement fails, and the pool closes it when it comes back.
  const std::string leasedPid = identity(lease);
  kith::postgres::open(std::getenv("KITH_TEST_POSTGRES")).execute("SELECT pg_terminate_backend(?::int)", std::stoll(leasedPid));
  CHECK(eventually([&] { return test::scalar(database.open(), "SELECT count(*) FROM pg_stat_activity WHERE pid = " + leasedPid) == "0"; }));
  CHECK_THROWS_AS(Account::query(lease).count(), kith::ConnectionError);
  lease.release();
  CHECK(pool.stats().replaced == 2);
  CHECK(pool.stats().idle == 0);
  auto fresh = pool.acquire();
  CHECK(Account::query(fresh).count() == 1);
}

TEST_CASE("16 threads x 1,000 operations through one pool: every write lands once, the totals add up", "[pool][threads][portable]") {
  Database database;
  constexpr int threads = 16;
  constexpr int rounds = 1000;  // about 5 s under ThreadSanitizer
  kith::Pool pool(database.open, {.max = 4, .acquireTimeout = 60s});
  {
    auto lease = pool.acquire();
    std::vector<Account> accounts(threads);
    for (int t = 0; t < threads; ++t) accounts[static_cast<std::size_t>(t)].owner = "thread " + std::to_string(t);
    Account::createMany(lease, accounts);
  }
  std::mutex mutex;
  std::vector<std::string> failures;  // assertions stay on the test's thread: Catch2 takes them from one
  const auto fail = [&](std::string what) {
    std::lock_guard lock(mutex);
    failures.push_back(std::move(what));
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      const std::string owner = "thread " + std::to_string(t);
      try {
        for (int i = 0; i < rounds; ++i) {
          switch (i % 4) {
            case 0: {  // a write in a transaction: read, change, save
              pool.transaction([&](kith::Transaction& trx) {
                auto mine = Account::query(trx).where<&Account::owner>(owner).firstOrFail();
                mine.balance += 1;
                mine.save();
              });
              break;
            }
            case 1: {  // a bulk update through a lease
              auto lease = pool.acquire();
              Account::query(lease).where<&Account::owner>(owner).update(
                  kith::set<&Account::balance>(Account::query(lease).where<&Account::owner>(owner).firstOrFail().balance + 1));
              break;
            }
            case 2: {  // reads
              auto lease = pool.acquire();
              if (Account::query(lease).count() < threads) fail("a read missed a row");
              break;
            }
            default: {  // an insert and a delete of a row of its own
              auto lease = pool.acquire();
              auto temporary = Account::create(lease, {.owner = owner + " temporary", .balance = i});
              temporary.destroy();
            }
          }
        }
      } catch (const std::exception& e) {
        fail("thread " + std::to_string(t) + ": " + e.what());
      }
    });
  for (auto& w : workers) w.join();
  CHECK(failures == std::vector<std::string>{});
  auto lease = pool.acquire();
  CHECK(Account::query(lease).count() == threads);
  for (const auto& account : Account::query(lease).all()) {
    CAPTURE(account.owner);
    CHECK(account.balance == rounds / 2);  // two increments in every four operations
  }
  CHECK(pool.stats().created <= 4);
}
