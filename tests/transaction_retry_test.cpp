// transaction(fn, {.isolation, .retries}): the isolation level a transaction begins with, the body
// run again after a serialization failure or a deadlock, and what the models of an aborted attempt
// say before the next one.
#include "support.hpp"

using test::User;
using namespace std::chrono_literals;

namespace {

/// A serialization failure as PostgreSQL reports one (its SQLSTATE is what decides a retry).
kith::BusyError serializationFailure(const char* sqlstate = "40001") {
  return kith::BusyError(std::string("kith: could not serialize access (SQLSTATE ") + sqlstate + ")", "", 0, 0,
                         "could not serialize access", sqlstate);
}

/// Every onEvent message of a connection.
struct EventLog {
  std::vector<std::string> messages;
  std::vector<kith::ConnectionEvent::Kind> kinds;
  explicit EventLog(const kith::Connection& db) {
    db.onEvent([this](const kith::ConnectionEvent& e) {
      messages.emplace_back(e.message);
      kinds.push_back(e.kind);
    });
  }
};

std::string beginAt(const char* level) { return test::onPostgres() ? std::string("BEGIN ISOLATION LEVEL ") + level : "BEGIN IMMEDIATE"; }

}  // namespace

TEST_CASE("transaction(fn, {.retries}) runs fn again after a serialization failure, the aborted attempt as after a rollback",
          "[transaction][retry][portable]") {
  auto db = test::blogDatabase();
  User kept = User::create(db, {{}, 0, "kept@x", "before"});
  User gone = User::create(db, {{}, 0, "gone@x", std::nullopt});
  User fresh{{}, 0, "fresh@x", std::nullopt};
  EventLog events(db);
  test::StatementLog log(db);
  int attempts = 0;
  std::vector<std::int64_t> freshIds;

  const int result = db.transaction(
      [&](kith::Transaction& trx) {
        ++attempts;
        fresh.save(trx);
        freshIds.push_back(fresh.id);
        kept.name = "attempt " + std::to_string(attempts);
        kept.save(trx);
        gone.destroy();  // through its own connection: the same one, inside trx
        if (attempts == 1) throw serializationFailure();
        return attempts * 10;
      },
      {.isolation = kith::Isolation::Serializable, .retries = 2, .backoff = 1ms});

  CHECK(result == 20);
  CHECK(attempts == 2);
  // The first attempt's rows are gone, the second's are there: one fresh row, kept renamed once,
  // gone deleted (its DELETE in the first attempt was undone, so the second could destroy it again).
  CHECK(test::select(db, R"(SELECT "email", "name" FROM "users" ORDER BY "id")") ==
        std::vector<test::RawRow>{{"kept@x", "attempt 2"}, {"fresh@x", std::nullopt}});
  CHECK(fresh.isPersisted());
  CHECK(fresh.id == std::stoll(*test::select(db, R"(SELECT "id" FROM "users" WHERE "email" = 'fresh@x')").at(0).at(0)));
  REQUIRE(freshIds.size() == 2);
  CHECK(freshIds[0] != 0);
  CHECK(kept.isPersisted());
  CHECK_FALSE(kept.isDirty());
  CHECK(gone.isDeleted());
  CHECK_FALSE(gone.isPersisted());
  CHECK_FALSE(db.inTransaction());

  // Two transactions, each from its BEGIN; the first rolled back.
  const auto sql = log.sql();
  CHECK(std::count(sql.begin(), sql.end(), beginAt("SERIALIZABLE")) == 2);
  CHECK(std::count(sql.begin(), sql.end(), "ROLLBACK") == 1);
  CHECK(std::count(sql.begin(), sql.end(), "COMMIT") == 1);
  CHECK(sql.front() == beginAt("SERIALIZABLE"));
  CHECK(sql.back() == "COMMIT");

  REQUIRE(events.kinds == std::vector<kith::ConnectionEvent::Kind>{kith::ConnectionEvent::Kind::Retrying});
  CHECK_THAT(events.messages[0], test::Contains("SQLSTATE 40001, attempt 1 of 3"));
}

TEST_CASE("transaction(fn, {.retries}) gives up after the last retry with the database's error, and commits nothing",
          "[transaction][retry][portable]") {
  auto db = test::blogDatabase();
  EventLog events(db);
  int attempts = 0;
  User user{{}, 0, "a@x", std::nullopt};
  try {
    db.transaction(
        [&](kith::Transaction& trx) {
          ++attempts;
          user.save(trx);
          throw serializationFailure(attempts % 2 ? "40P01" : "40001");  // a deadlock, then a serialization failure, ...
        },
        {.retries = 2, .backoff = 0ms});
    FAIL("the transaction did not throw");
  } catch (const kith::BusyError& e) {
    CHECK(e.sqlstate() == "40P01");  // the third attempt's
  }
  CHECK(attempts == 3);
  CHECK(events.kinds.size() == 2);
  CHECK(test::rows(db, "users") == 0);
  CHECK_FALSE(user.isPersisted());
  CHECK_FALSE(db.inTransaction());
  // The model inserted by aborted attempts is new: a plain save inserts it now.
  user.save(db);
  CHECK(test::rows(db, "users") == 1);
}

TEST_CASE("transaction(fn, {.retries}) does not retry other errors, nor a body that caught the failure", "[transaction][retry][portable]") {
  auto db = test::blogDatabase();
  User::create(db, {{}, 0, "taken@x", std::nullopt});
  int attempts = 0;
  CHECK_THROWS_AS(db.transaction(
                      [&](kith::Transaction& trx) {
                        ++attempts;
                        User::create(trx, {{}, 0, "taken@x", std::nullopt});
                      },
                      {.retries = 3, .backoff = 0ms}),
                  kith::UniqueViolation);
  CHECK(attempts == 1);

  attempts = 0;
  CHECK_THROWS_WITH(db.transaction(
                        [&](kith::Transaction&) {
                          ++attempts;
                          throw std::runtime_error("not the database's");
                        },
                        {.retries = 3, .backoff = 0ms}),
                    "not the database's");
  CHECK(attempts == 1);
  CHECK(test::rows(db, "users") == 1);
  CHECK_FALSE(db.inTransaction());
}

TEST_CASE("transaction options that cannot work are refused before anything is sent", "[transaction][retry][portable]") {
  auto db = test::blogDatabase();
  test::StatementLog log(db);
  const auto body = [](kith::Transaction&) {};
  CHECK_THROWS_WITH(db.transaction(body, {.retries = -1}), test::Contains("retries is -1; pass 0 or more"));
  CHECK_THROWS_WITH(db.transaction(body, {.retries = 1, .backoff = -1ms}), test::Contains("cannot be negative"));
  CHECK_THROWS_WITH(db.begin({.retries = 1}), test::Contains("for retries pass the body: db.transaction(fn, {.retries = N})"));
  CHECK(log.count() == 0);

  auto outer = db.begin();
  log.clear();
  CHECK_THROWS_WITH(db.transaction(body, {.retries = 1}), test::Contains("must be the outermost one"));
  CHECK_THROWS_WITH(outer.transaction(body, {.retries = 1}), test::Contains("must be the outermost one"));
  CHECK_THROWS_WITH(outer.begin({.isolation = kith::Isolation::Serializable}), test::Contains("isolation level of the outermost one"));
  CHECK(log.count() == 0);
  // Without retries or a level, a nested one is a savepoint as before.
  outer.transaction(body, {});
  CHECK(log.sql() == std::vector<std::string>{"SAVEPOINT kith_2", "RELEASE kith_2"});
  outer.commit();
}

TEST_CASE("each isolation level begins as the database names it", "[transaction][retry][portable]") {
  auto db = test::blogDatabase();
  test::StatementLog log(db);
  const auto body = [](kith::Transaction&) {};
  db.transaction(body, {});
  db.transaction(body, {.isolation = kith::Isolation::ReadCommitted});
  db.transaction(body, {.isolation = kith::Isolation::RepeatableRead});
  db.begin({.isolation = kith::Isolation::Serializable}).commit();
  CHECK(log.sql() == std::vector<std::string>{test::beginSql(), "COMMIT", beginAt("READ COMMITTED"), "COMMIT", beginAt("REPEATABLE READ"),
                                              "COMMIT", beginAt("SERIALIZABLE"), "COMMIT"});
}

TEST_CASE("a model destroyed in a transaction that is rolled back exists again", "[transaction][portable]") {
  auto db = test::blogDatabase();
  User user = User::create(db, {{}, 0, "a@x", std::nullopt});
  {
    auto trx = db.begin();
    user.destroy();
    CHECK(user.isDeleted());
    CHECK_FALSE(user.isPersisted());
    trx.rollback();
  }
  CHECK(test::rows(db, "users") == 1);
  CHECK_FALSE(user.isDeleted());
  CHECK(user.isPersisted());
  // It can be saved (an UPDATE of every column: kith cannot know what the row holds) and destroyed.
  user.name = "back";
  user.save();
  CHECK(test::select(db, R"(SELECT "name" FROM "users")") == std::vector<test::RawRow>{{"back"}});
  CHECK_FALSE(user.isDeleted());
  user.destroy();
  CHECK(user.isDeleted());
  CHECK(test::rows(db, "users") == 0);
  // A DELETE that stands (committed) keeps the model destroyed.
  User other = User::create(db, {{}, 0, "b@x", std::nullopt});
  db.transaction([&](kith::Transaction&) { other.destroy(); });
  CHECK(other.isDeleted());
  CHECK_THROWS_WITH(other.save(), test::Contains("was destroyed"));
}

#ifdef KITH_TEST_HAVE_POSTGRES
namespace {

struct Doctor : kith::BaseModel<Doctor> {
  std::int64_t id{};
  std::string name;
  bool onCall = false;
  static constexpr auto columns = kith::columns<&Doctor::id, &Doctor::name, &Doctor::onCall>;
};

std::int64_t doctorsOnCall(const kith::Connection& c) {
  return static_cast<std::int64_t>(Doctor::query(c).where<&Doctor::onCall>(true).all().size());
}

/// Goes off call if another doctor is still on call: correct alone, a write skew when two run at once.
void goOffCall(const kith::Connection& trx, std::int64_t me) {
  if (doctorsOnCall(trx) < 2) return;
  auto doctor = Doctor::findOrFail(trx, me);
  doctor.onCall = false;
  doctor.save(trx);
}

}  // namespace

TEST_CASE("PostgreSQL: of a write-skew pair of SERIALIZABLE transactions one commits, the other retries and commits",
          "[transaction][retry][.postgres]") {
  REQUIRE(test::onPostgres());
  auto a = test::database();
  const auto schema = test::scalar(a, "SELECT current_schema()");
  auto b = test::postgresSchema(schema);
  a.execute("CREATE TABLE doctors (id bigint PRIMARY KEY, name text NOT NULL, on_call boolean NOT NULL)");
  a.execute("INSERT INTO doctors VALUES (1, 'alice', true), (2, 'bob', true)");
  EventLog events(a);
  std::vector<std::int64_t> seen;  // what each attempt of A read

  a.transaction(
      [&](kith::Transaction& trx) {
        seen.push_back(doctorsOnCall(trx));
        // B runs all of its transaction between A's read and A's write, on its own connection:
        // it reads two on call and takes bob off, and commits first.
        if (seen.size() == 1) b.transaction([&](kith::Transaction& t) { goOffCall(t, 2); }, {.isolation = kith::Isolation::Serializable});
        goOffCall(trx, 1);
      },
      {.isolation = kith::Isolation::Serializable, .retries = 3, .backoff = 1ms});

  // A's first attempt read two on call and was aborted (its UPDATE or COMMIT); its second read
  // one and kept alice on call: what running A and B one after the other gives.
  CHECK(seen == std::vector<std::int64_t>{2, 1});
  CHECK(test::select(a, "SELECT name, on_call::text FROM doctors ORDER BY id") ==
        std::vector<test::RawRow>{{"alice", "true"}, {"bob", "false"}});
  REQUIRE(events.messages.size() == 1);
  CHECK_THAT(events.messages[0], test::Contains("SQLSTATE 40001, attempt 1 of 4"));
  CHECK_FALSE(a.inTransaction());

  // Without retries the same pair loses A's transaction with the server's error.
  a.execute("UPDATE doctors SET on_call = true");
  int attempts = 0;
  try {
    a.transaction(
        [&](kith::Transaction& trx) {
          ++attempts;
          doctorsOnCall(trx);
          b.transaction([&](kith::Transaction& t) { goOffCall(t, 2); }, {.isolation = kith::Isolation::Serializable});
          goOffCall(trx, 1);
        },
        {.isolation = kith::Isolation::Serializable});
    FAIL("no serialization failure");
  } catch (const kith::BusyError& e) {
    CHECK(e.sqlstate() == "40001");
  }
  CHECK(attempts == 1);
  CHECK(test::select(a, "SELECT name, on_call::text FROM doctors ORDER BY id") ==
        std::vector<test::RawRow>{{"alice", "true"}, {"bob", "false"}});
}

TEST_CASE("PostgreSQL: a deadlock the server reports (40P01) is retried", "[transaction][retry][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = test::blogDatabase();
  int attempts = 0;
  db.transaction(
      [&](kith::Transaction& trx) {
        ++attempts;
        User::create(trx, {{}, 0, "a@x", std::nullopt});
        if (attempts == 1) trx.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$");
      },
      {.retries = 1, .backoff = 1ms});
  CHECK(attempts == 2);
  CHECK(test::rows(db, "users") == 1);
}
#endif
