// Misuse at run time: each is a kith::UsageError (or NotFound) whose message says what to do, and
// leaves nothing half-written. Run under ASan+UBSan in CI, so "no crash" includes no undefined
// behaviour.
#include "blog_models.hpp"

using namespace blog;

TEST_CASE("a model with no connection: every call that needs one says how to give it one", "[misuse][bad-input][portable]") {
  auto u = user("new@b");
  CHECK_THROWS_WITH(u.save(), "kith: cannot save this User: it has no connection; pass one (save(db)), or load the model through a query");
  CHECK_THROWS_WITH(u.related<&User::posts>().create(post("A")),
                    "kith: cannot persist \"posts\": this User has no connection; save it first, or pass one: related<...>(db)");
  CHECK_THROWS_WITH(u.related<&User::posts>().query(),
                    "kith: cannot select \"posts\": this User has no connection; save it first, or pass one: related<...>(db)");
  CHECK_THROWS_WITH(u.load<&User::posts>(), "kith: cannot lazy load relationship for an unpersisted model instance; save it first");
  CHECK_THROWS_WITH(u.refresh(), "kith: cannot refresh a User that was never saved");
  CHECK_THROWS_WITH(u.destroy(), "kith: cannot destroy a User that was never saved");
  CHECK_THROWS_AS(u.connection(), kith::UsageError);
  CHECK_FALSE(u.isPersisted());
}

TEST_CASE("a moved-from model is a new model without a connection", "[misuse][bad-input][portable]") {
  auto db = database();
  auto u = User::create(db, user("a@b"));
  auto moved = std::move(u);
  CHECK_FALSE(u.isPersisted());  // NOLINT(bugprone-use-after-move): this is the test
  CHECK_THROWS_AS(u.save(), kith::UsageError);
  CHECK(moved.isPersisted());
  moved.email = "b@b";
  moved.save();
  CHECK(User::findOrFail(db, moved.id).email == "b@b");
}

TEST_CASE("a moved-from connection or transaction is an empty handle", "[misuse][bad-input][portable]") {
  auto db = database();
  auto trx = db.begin();
  auto other = std::move(trx);
  const char* empty =
      "kith: this connection handle is empty (default-constructed or moved from); pass one from kith::sqlite::open or a transaction";
  CHECK_THROWS_WITH(trx.commit(), empty);  // NOLINT(bugprone-use-after-move)
  CHECK_THROWS_WITH(User::create(trx, user("a@b")), empty);
  CHECK_FALSE(trx.isActive());
  CHECK(other.isActive());
  User::create(other, user("a@b"));
  other.commit();
  CHECK(test::rows(db, "users") == 1);
}

TEST_CASE("a closed connection: models, relations, queries and transactions say to open a new one", "[misuse][bad-input][portable]") {
  auto db = database();
  auto u = User::create(db, user("a@b"));
  db.close();
  db.close();  // closing twice is harmless
  const auto closed = test::Contains("is closed; open a new one");
  u.email = "changed@b";
  CHECK_THROWS_WITH(u.save(), closed);
  CHECK_THROWS_WITH(u.related<&User::posts>().create(post("A")), closed);
  CHECK_THROWS_WITH(u.related<&User::posts>().query().all(), closed);
  CHECK_THROWS_WITH(u.load<&User::posts>(), closed);
  CHECK_THROWS_WITH(u.refresh(), closed);
  CHECK_THROWS_WITH(db.begin(), closed);
  CHECK_THROWS_WITH(db.execute("SELECT 1"), closed);
  CHECK(u.isPersisted());  // its row is still in the database: closing is not a rollback of committed work
  CHECK(u.email == "changed@b");
}

TEST_CASE("closing a connection with a transaction open rolls it back, and its models say so", "[misuse][transaction][bad-input]") {
  test::TempDir dir;
  const auto file = dir.file("blog.db");
  {
    auto db = kith::sqlite::open(file);
    createSchema(db);
    auto trx = db.begin();
    auto u = User::create(trx, user("a@b"));
    auto posts = u.related<&User::posts>().createMany({post("A"), post("B")});
    REQUIRE(posts[0].isPersisted());
    db.close();
    CHECK_FALSE(trx.isActive());
    CHECK_FALSE(u.isPersisted());
    CHECK_FALSE(posts[0].isPersisted());
    CHECK_THROWS_WITH(trx.commit(), test::Contains("already rolled back"));
  }  // the Transaction's destructor runs on a closed connection: nothing to do, nothing thrown
  auto reopened = kith::sqlite::open(file);
  CHECK(test::rows(reopened, "users") == 0);
  CHECK(test::rows(reopened, "posts") == 0);
}

TEST_CASE("the query hook cannot close the connection or replace itself under a running statement", "[misuse][hook][bad-input][portable]") {
  auto db = database();
  std::vector<std::string> errors;
  db.onQuery([&](const kith::QueryEvent& e) {
    try {
      db.close();
    } catch (const kith::UsageError& error) {
      errors.emplace_back(error.what());
    }
    try {
      db.onQuery(nullptr);
    } catch (const kith::UsageError& error) {
      errors.emplace_back(error.what());
    }
    errors.emplace_back(e.sql);  // the statement's SQL is still valid here
  });
  User::create(db, user("a@b"));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0] ==
        "kith: cannot close the connection while one of its statements is running (from the query hook); close it after the call "
        "returns");
  CHECK(errors[1] == "kith: cannot replace the query hook while one of this connection's statements is running");
  CHECK(errors[2] == test::insertOne(R"(INSERT INTO "users" ("email", "parent_id") VALUES (?, ?))"));
  CHECK(db.isOpen());
  db.onQuery(nullptr);
  db.close();
  CHECK_FALSE(db.isOpen());
}

TEST_CASE("a transaction used after commit or rollback says to start a new one", "[misuse][transaction][bad-input][portable]") {
  auto db = database();
  auto u = User::create(db, user("a@b"));
  auto trx = db.begin();
  trx.commit();
  const auto committed = test::Contains("this transaction was already committed; start a new one");
  CHECK_THROWS_WITH(u.related<&User::posts>(trx).create(post("A")), committed);
  CHECK_THROWS_WITH(Post::query(trx).all(), committed);
  CHECK_THROWS_WITH(trx.begin(), committed);
  CHECK_THROWS_WITH(trx.rollback(), committed);
  auto p = post("B");
  p.userId = u.id;
  CHECK_THROWS_WITH(p.save(trx), committed);
  CHECK_FALSE(p.isPersisted());
  CHECK(test::rows(db, "posts") == 0);
  // A model saved through the transaction before commit falls back to the connection (Lucid's rule).
  auto later = db.begin();
  auto q = Post::create(later, p);
  later.commit();
  q.title = "after commit";
  CHECK_NOTHROW(q.save());
  CHECK(Post::findOrFail(db, q.id).title == "after commit");
}

TEST_CASE("load and relation writes on a row whose key was not selected give Lucid's error", "[misuse][preload][bad-input][portable]") {
  // preload<>() on such rows: tests/preload_test.cpp.
  auto db = database();
  auto u = User::create(db, user("a@b"));
  u.related<&User::posts>().create(post("A"));
  auto partial = User::query(db).select<&User::email>().firstOrFail();
  CHECK_THROWS_WITH(partial.load<&User::posts>(), "kith: cannot preload \"posts\", value of \"User.id\" is undefined");
  CHECK_THROWS_WITH(partial.related<&User::posts>().create(post("B")), "kith: cannot persist \"posts\", value of \"User.id\" is undefined");
  CHECK(test::rows(db, "posts") == 1);
}
