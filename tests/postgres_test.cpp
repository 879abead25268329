// What only PostgreSQL has: a server that can go away, transactions that a failed statement
// dooms, server-side prepared statements, conninfo strings. Tagged [postgres]: ctest runs them as
// "pg: " tests only, against the server in KITH_TEST_POSTGRES; hidden from a plain run of kith_tests.
#include "blog_models.hpp"
#include "support.hpp"

#ifdef KITH_TEST_HAVE_POSTGRES

#include <cstdlib>
#include <string>

namespace {

std::string conninfo() { return std::getenv("KITH_TEST_POSTGRES"); }

/// These tests mean nothing on SQLite: ctest runs them as "pg: " tests, with KITH_TEST_ADAPTER=postgres.
kith::Connection blogDatabase() {
  REQUIRE(test::onPostgres());
  return test::blogDatabase();
}

}  // namespace

TEST_CASE("a session the server ends: the statement that finds it fails, nothing is claimed saved, and the next one reconnects",
          "[.postgres][reliability]") {
  auto db = blogDatabase();
  std::vector<std::string> events;
  db.onEvent([&](const kith::ConnectionEvent& e) {
    CHECK(e.kind == kith::ConnectionEvent::Kind::Reconnected);
    events.emplace_back(e.message);
  });
  test::User::create(db, {{}, 0, "kept@b", std::nullopt});
  const auto terminate = [&] {
    auto admin = kith::postgres::open(conninfo());
    admin.execute("SELECT pg_terminate_backend(?::int)", std::stoll(test::scalar(db, "SELECT pg_backend_pid()")));
  };
  terminate();

  test::User lost{{}, 0, "lost@b", std::nullopt};
  try {
    lost.save(db);
    FAIL("a write on a terminated session succeeded");
  } catch (const kith::ConnectionError& e) {
    CHECK_THAT(e.what(), test::Contains("the connection to the server is lost: the next statement outside a transaction opens it again"));
    CHECK((e.sqlstate().starts_with("57P") || e.sqlstate().starts_with("08")));
  }
  CHECK_FALSE(lost.isPersisted());
  CHECK(lost.id == 0);
  CHECK(events.empty());

  // The next statement reconnects once, in the same schema (it is in the conninfo), and says so.
  lost.save(db);
  CHECK(lost.isPersisted());
  CHECK(test::User::query(db).count() == 2);
  REQUIRE(events.size() == 1);
  CHECK_THAT(events[0], test::Contains("kith: reconnected to PostgreSQL database"));

  // Inside a transaction the loss is the transaction's: its statements fail, nothing reconnects
  // under it, and the first statement after it reconnects.
  auto trx = db.begin();
  test::User inside{{}, 0, "inside@b", std::nullopt};
  inside.save(trx);
  terminate();
  CHECK_THROWS_AS(test::User::query(trx).count(), kith::ConnectionError);
  CHECK_THROWS_AS(trx.commit(), kith::UsageError);  // the database ended it
  CHECK_FALSE(inside.isPersisted());
  CHECK(events.size() == 1);
  CHECK(test::User::query(db).count() == 2);
  CHECK(events.size() == 2);
}

TEST_CASE("a server that stays down: each statement tries to reconnect once and fails with ConnectionError", "[.postgres][reliability]") {
  REQUIRE(test::onPostgres());
  // A connection to a database that is then dropped: reconnecting fails for good.
  auto admin = kith::postgres::open(conninfo());
  const std::string name = "kith_gone_" + std::to_string(getpid());
  admin.execute("CREATE DATABASE " + name);
  std::string info = conninfo();
  info += " dbname=" + name;
  auto db = kith::postgres::open(info);
  CHECK(test::scalar(db, "SELECT 1") == "1");
  admin.execute("DROP DATABASE " + name + " WITH (FORCE)");
  CHECK_THROWS_AS(db.execute("SELECT 1"), kith::ConnectionError);
  CHECK_THROWS_WITH(db.execute("SELECT 1"), test::Contains("was lost and could not be opened again"));
  CHECK_THROWS_WITH(db.execute("SELECT 1"), test::Contains("was lost and could not be opened again"));
}

TEST_CASE("a bad conninfo is a ConnectionError naming it", "[.postgres][bad-input]") {
  REQUIRE(test::onPostgres());
  CHECK_THROWS_AS(kith::postgres::open("host=/nonexistent-kith-socket-dir port=1 dbname=none"), kith::ConnectionError);
  CHECK_THROWS_WITH(kith::postgres::open("host=/nonexistent-kith-socket-dir port=1 dbname=none"),
                    test::Contains("kith: cannot connect to PostgreSQL with \"host=/nonexistent-kith-socket-dir port=1 dbname=none\"") &&
                        test::Contains("check that the server runs"));
  CHECK_THROWS_AS(kith::postgres::open("not a conninfo"), kith::ConnectionError);
}

TEST_CASE("a statement that fails inside a transaction dooms it: commit rolls back and says so", "[.postgres][transaction]") {
  auto db = blogDatabase();
  auto trx = db.begin();
  test::User a{{}, 0, "a@b", std::nullopt};
  a.save(trx);
  CHECK_THROWS_AS(trx.execute("INSERT INTO users (email) VALUES (NULL)"), kith::NotNullViolation);
  // PostgreSQL refuses everything but a rollback now; kith does not let commit() pretend.
  CHECK_THROWS_AS(test::User::query(trx).count(), kith::DatabaseError);
  CHECK_THROWS_WITH(trx.commit(), test::Contains("a statement failed earlier in this transaction") &&
                                      test::Contains("it was rolled back, nothing was committed"));
  CHECK_FALSE(trx.isActive());
  CHECK_FALSE(db.inTransaction());
  CHECK_FALSE(a.isPersisted());
  CHECK(test::rows(db, "users") == 0);
}

TEST_CASE("a failed relation write inside a transaction rolls back its savepoint and leaves the transaction usable",
          "[.postgres][transaction]") {
  auto db = blogDatabase();
  db.transaction([&](kith::Transaction& trx) {
    test::User a{{}, 0, "a@b", std::nullopt};
    a.save(trx);
    test::User dup{{}, 0, "a@b", std::nullopt};
    CHECK_THROWS_AS(test::User::createMany(trx, {test::User{{}, 0, "b@b", std::nullopt}, dup}), kith::UniqueViolation);
    CHECK(test::User::query(trx).count() == 1);  // the transaction goes on
    test::User::create(trx, {{}, 0, "c@b", std::nullopt});
  });
  CHECK(test::select(db, "SELECT email FROM users ORDER BY email") == std::vector<test::RawRow>{{"a@b"}, {"c@b"}});
}

TEST_CASE("statements are prepared once on the server, and ? is numbered only outside quotes", "[.postgres][connection]") {
  auto db = blogDatabase();
  const auto prepared = [&] { return std::stoll(test::scalar(db, "SELECT count(*) FROM pg_prepared_statements")); };
  const auto before = prepared();
  for (int i = 0; i < 5; ++i) test::User::create(db, {{}, 0, "u" + std::to_string(i) + "@b", std::nullopt});
  CHECK(prepared() == before + 1);  // one INSERT, prepared once for five runs
  CHECK(prepared() == static_cast<std::int64_t>(db.backend().cachedStatements()));

  CHECK(db.execute(R"(UPDATE users SET name = '?' || ? WHERE email = ? AND "email" <> 'it''s ?')", "!", "u1@b") == 1);
  CHECK(test::scalar(db, "SELECT name FROM users WHERE email = 'u1@b'") == "?!");
  CHECK(test::User::query(db).whereRaw("email = '?' OR email = ?", "u2@b").count() == 1);
}

TEST_CASE("statements evicted from the cache are deallocated on the server", "[.postgres][connection]") {
  auto db = blogDatabase();
  const auto limit = static_cast<int>(kith::detail::Backend::maxCachedStatements);
  for (int i = 0; i < limit + 10; ++i)
    test::User::query(db).where<&test::User::id>(i).limit(i + 1).whereRaw(std::to_string(i) + " = " + std::to_string(i)).count();
  const auto prepared = std::stoll(test::scalar(db, "SELECT count(*) FROM pg_prepared_statements"));
  CHECK(prepared <= limit + 1);
  CHECK(prepared == static_cast<std::int64_t>(db.backend().cachedStatements()));
}

TEST_CASE("preload sends the parents' keys as one array: one statement past the 65,535-parameter limit, text keys quoted",
          "[.postgres][preload]") {
  REQUIRE(test::onPostgres());
  auto db = blog::database();
  db.execute("INSERT INTO users (email) SELECT 'u' || i || '@b' FROM generate_series(1, 70000) i");
  db.execute("INSERT INTO posts (user_id, title, body) SELECT id, 'by ' || email, 'b' FROM users");
  test::StatementLog log(db);
  const auto users = blog::User::query(db).preload<&blog::User::posts>().all();
  REQUIRE(log.count() == 2);
  CHECK(log.entries[1].sql == R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE "user_id" = ANY(?))");
  CHECK(log.entries[1].bindings.size() == 1);
  REQUIRE(users.size() == 70000);
  for (const auto& u : users) {
    REQUIRE(u.posts.size() == 1);
    CHECK(u.posts[0].title == "by " + u.email);
  }

  // Text keys with the characters an array literal gives meaning to.
  for (const std::string key : {"a,b", "q\"uote", "back\\slash", "{brace}", "NULL", " space ", ""}) {
    db.execute("INSERT INTO teams (uuid) VALUES (?)", key);
    db.execute("INSERT INTO members (team_uuid, name) VALUES (?, ?)", key, "of " + key);
  }
  const auto teams = blog::Team::query(db).preload<&blog::Team::members>().all();
  REQUIRE(teams.size() == 7);
  for (const auto& t : teams) {
    REQUIRE(t.members.size() == 1);
    CHECK(t.members[0].name == "of " + t.uuid);
  }
}

TEST_CASE("createMany into a table whose key has no sequence says what to do and writes nothing", "[.postgres][createMany][bad-input]") {
  REQUIRE(test::onPostgres());
  auto db = test::database();
  db.execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT)");
  CHECK_THROWS_WITH(test::User::createMany(db, {test::User{{}, 0, "a@b", std::nullopt}, test::User{{}, 0, "b@b", std::nullopt}}),
                    R"(kith: users.id has no sequence to generate keys from; declare it BIGSERIAL (createTables does), or give every )"
                    "row its key");
  CHECK(test::rows(db, "users") == 0);
  CHECK_FALSE(db.inTransaction());
  CHECK(test::User::createMany(db, {test::User{{}, 7, "a@b", std::nullopt}})[0].id == 7);  // keys given: no sequence needed
}

TEST_CASE("createMany takes its keys from the sequence: ids match rows while another connection inserts too", "[.postgres][createMany]") {
  auto db = blogDatabase();
  auto other = test::postgresSchema(test::scalar(db, "SELECT current_schema()"));
  std::vector<test::User> mine, theirs;
  for (int i = 0; i < 600; ++i) {
    mine.push_back({{}, 0, "mine" + std::to_string(i) + "@b", "mine"});
    theirs.push_back({{}, 0, "theirs" + std::to_string(i) + "@b", "theirs"});
  }
  test::StatementLog log(db);
  const auto a = test::User::createMany(db, mine);
  const auto b = test::User::createMany(other, theirs);
  CHECK(log.sql()[1] == R"(WITH "kith_sequence" AS MATERIALIZED (SELECT pg_get_serial_sequence(?, ?)::regclass AS "s") )"
                        R"(SELECT nextval("s") FROM "kith_sequence", generate_series(1, ?))");
  CHECK(log.entries[1].bindings == std::vector<kith::Value>{std::string(R"("users")"), std::string("id"), std::int64_t{600}});
  for (const auto* created : {&a, &b})
    for (const auto& u : *created) CHECK(test::User::findOrFail(db, u.id).email == u.email);
  CHECK(test::rows(db, "users") == 1200);
}

#endif
