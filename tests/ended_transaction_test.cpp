// Transactions the database ends on its own after an error (issue 13, item 2): a deferred foreign
// key failing at COMMIT (PostgreSQL ends the transaction, SQLite keeps it open), a constraint
// declared ON CONFLICT ROLLBACK, an interrupted write, a full database. After each, kith's view of
// the transaction must be the database's: when it is gone, the models written in it stop claiming
// their rows and every later use of it is a UsageError, never a write in autocommit.
#include "blog_models.hpp"

namespace {

/// kith's view of the connection agrees with the database's own.
void checkAgrees(const kith::Connection& db, const kith::Transaction& trx) {
  CHECK(trx.isActive() == db.backend().nativeTransactionActive());
  CHECK(db.inTransaction() == db.backend().nativeTransactionActive());
}

constexpr const char* ended = "the database ended this transaction after an error";

}  // namespace

TEST_CASE("a deferred foreign key that fails at COMMIT: kith follows what the database did", "[transaction][ended][portable]") {
  auto db = test::database();
  db.execute("CREATE TABLE users (" + test::idColumn() + ", email TEXT NOT NULL UNIQUE, name TEXT)");
  db.execute("CREATE TABLE posts (" + test::idColumn() +
             ", user_id BIGINT NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED, title TEXT NOT NULL, body TEXT NOT NULL)");
  auto kept = test::User::create(db, {{}, 0, "kept@b", std::nullopt});

  auto trx = db.begin();
  test::User fresh{{}, 0, "fresh@b", std::nullopt};
  fresh.save(trx);
  kept.name = "renamed";
  kept.save(trx);
  test::Post orphan{{}, 0, 999, "orphan", "no such user"};
  orphan.save(trx);  // a deferred key is checked at COMMIT
  CHECK(orphan.isPersisted());

  CHECK_THROWS_AS(trx.commit(), kith::ConstraintError);
  checkAgrees(db, trx);
  if (test::onPostgres()) {
    // The server ended the transaction: nothing in it exists, and the models say so.
    CHECK_FALSE(trx.isActive());
    CHECK_FALSE(fresh.isPersisted());
    CHECK(fresh.isDirty());
    CHECK_FALSE(orphan.isPersisted());
    CHECK(kept.isPersisted());
    CHECK(kept.isDirty());  // its UPDATE was undone: the next save writes it again
    // Every later use of the transaction is refused, through it or through the models that remember it.
    test::StatementLog log(db);
    CHECK_THROWS_WITH(fresh.save(trx), test::Contains(ended));
    CHECK_THROWS_WITH(fresh.save(), test::Contains(ended));
    CHECK_THROWS_WITH(test::User::create(trx, {{}, 0, "late@b", std::nullopt}), test::Contains(ended));
    CHECK_THROWS_WITH(trx.rollback(), test::Contains(ended));
    CHECK_THROWS_WITH(trx.commit(), test::Contains("violates foreign key constraint"));
    CHECK_THROWS_AS(trx.begin(), kith::UsageError);
    CHECK(log.count() == 0);  // nothing was sent, so nothing landed in autocommit
    CHECK(test::rows(db, "users") == 1);
    CHECK(test::rows(db, "posts") == 0);
    CHECK(test::scalar(db, "SELECT name FROM users") == "NULL");
    // The connection itself goes on; the models save again as new (or changed) rows.
    fresh.save(db);
    kept.save(db);
    CHECK(test::rows(db, "users") == 2);
    CHECK(test::scalar(db, "SELECT name FROM users WHERE email = 'kept@b'") == "renamed");
  } else {
    // SQLite keeps the transaction open after a deferred key fails at COMMIT: mend it and commit.
    CHECK(trx.isActive());
    CHECK(fresh.isPersisted());
    orphan.userId = fresh.id;
    orphan.save(trx);
    trx.commit();
    CHECK(test::rows(db, "posts") == 1);
    CHECK(orphan.isPersisted());
  }
  CHECK_FALSE(db.inTransaction());
}

TEST_CASE("transaction(fn) whose body swallowed the error that ended the transaction does not report success",
          "[transaction][ended][portable]") {
  auto db = test::database();
  db.execute("CREATE TABLE users (" + test::idColumn() + ", email TEXT NOT NULL UNIQUE, name TEXT)");
  db.execute("CREATE TABLE posts (" + test::idColumn() +
             ", user_id BIGINT NOT NULL REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED, title TEXT NOT NULL, body TEXT NOT NULL)");
  test::User u{{}, 0, "a@b", std::nullopt};
  if (test::onPostgres()) {
    // A deferred key checked early (SET CONSTRAINTS ALL IMMEDIATE) fails inside the transaction;
    // PostgreSQL dooms it. The body catches that and goes on: commit() must not pretend.
    CHECK_THROWS_WITH(db.transaction([&](kith::Transaction& trx) {
      u.save(trx);
      test::Post{{}, 0, 999, "t", "b"}.save(trx);
      try {
        trx.execute("SET CONSTRAINTS ALL IMMEDIATE");
      } catch (const kith::ConstraintError&) {
      }
    }),
                      test::Contains("nothing was committed"));
  } else {
    // SQLite: the interrupted write ends the transaction; the body catches the error.
    CHECK_THROWS_WITH(db.transaction([&](kith::Transaction& trx) {
      u.save(trx);
      sqlite3_progress_handler(
          kith::sqlite::handle(db), 1, [](void*) { return 1; }, nullptr);
      try {
        test::User::create(trx, {{}, 0, "b@b", std::nullopt});
      } catch (const kith::DatabaseError& e) {
        CHECK(e.code() == SQLITE_INTERRUPT);
      }
      sqlite3_progress_handler(kith::sqlite::handle(db), 0, nullptr, nullptr);
    }),
                      test::Contains(ended));
  }
  CHECK_FALSE(u.isPersisted());
  CHECK(test::rows(db, "users") == 0);
  CHECK_FALSE(db.inTransaction());
  CHECK_FALSE(db.backend().nativeTransactionActive());
}

TEST_CASE("SQLite: a constraint declared ON CONFLICT ROLLBACK ends the caller's transaction, and kith knows", "[transaction][ended]") {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE ON CONFLICT ROLLBACK, parent_id BIGINT)");
  db.execute(
      "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id BIGINT NOT NULL, editor_id BIGINT, title TEXT NOT NULL, body TEXT NOT NULL)");
  db.execute("CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id BIGINT NOT NULL, body TEXT NOT NULL)");
  auto kept = blog::User::create(db, blog::user("kept@b"));

  auto trx = db.begin();
  auto author = blog::user("author@b");
  auto posts = author.related<&blog::User::posts>(trx).createMany({blog::post("one"), blog::post("two")});
  kept.parentId = author.id;
  kept.save(trx);
  CHECK_FALSE(author.posts.isLoaded());  // not loaded: nothing appended
  CHECK(test::rows(db, "posts") == 2);

  // A relation write inside the caller's transaction hits the ROLLBACK constraint: SQLite rolls back
  // the whole transaction, not only kith's savepoint.
  auto dup = blog::user("kept@b");
  CHECK_THROWS_AS(dup.related<&blog::User::posts>(trx).create(blog::post("three")), kith::UniqueViolation);
  checkAgrees(db, trx);
  CHECK_FALSE(trx.isActive());
  CHECK_FALSE(author.isPersisted());
  CHECK_FALSE(posts[0].isPersisted());
  CHECK_FALSE(posts[1].isPersisted());
  CHECK(kept.isDirty());
  CHECK_FALSE(dup.isPersisted());
  CHECK(dup.id == 0);
  CHECK(test::rows(db, "users") == 1);
  CHECK(test::rows(db, "posts") == 0);

  test::StatementLog log(db);
  CHECK_THROWS_WITH(posts[0].save(trx), test::Contains("UNIQUE constraint failed: users.email"));
  CHECK_THROWS_WITH(posts[0].save(), test::Contains(ended));
  CHECK_THROWS_WITH(author.related<&blog::User::posts>().create(blog::post("four")), test::Contains(ended));
  CHECK_THROWS_WITH(trx.commit(), test::Contains(ended));
  CHECK_THROWS_WITH(trx.rollback(), test::Contains(ended));
  CHECK(log.count() == 0);
  CHECK(test::rows(db, "posts") == 0);

  // The models save again through a live connection, as after any rollback.
  author.save(db);
  for (auto& p : posts) p.userId = author.id;
  author.related<&blog::User::posts>(db).saveMany(posts);
  CHECK(test::rows(db, "posts") == 2);
  CHECK(posts[0].isPersisted());
}

TEST_CASE("SQLite: an interrupted write ends the transaction, and kith knows", "[transaction][ended]") {
  auto db = kith::sqlite::open(":memory:");
  blog::createSchema(db);
  auto trx = db.begin();
  auto author = blog::user("author@b");
  author.save(trx);
  auto other = blog::user("other@b");
  sqlite3_progress_handler(
      kith::sqlite::handle(db), 1, [](void*) { return 1; }, nullptr);
  try {
    other.save(trx);  // an INSERT: SQLite rolls back the whole transaction when a write is interrupted
    FAIL("the write was not interrupted");
  } catch (const kith::DatabaseError& e) {
    CHECK(e.code() == SQLITE_INTERRUPT);
  }
  sqlite3_progress_handler(kith::sqlite::handle(db), 0, nullptr, nullptr);
  checkAgrees(db, trx);
  CHECK_FALSE(other.isPersisted());
  CHECK_FALSE(trx.isActive());
  CHECK_FALSE(author.isPersisted());
  CHECK_THROWS_WITH(trx.commit(), test::Contains("interrupted"));
  CHECK(test::rows(db, "users") == 0);
}

TEST_CASE("SQLite: a full database leaves kith's view of the transaction the same as SQLite's", "[transaction][ended]") {
  test::TempDir dir;
  auto db = kith::sqlite::open(dir.file("full.db"));
  blog::createSchema(db);
  auto author = blog::user("author@b");
  author.save(db);
  db.execute("PRAGMA max_page_count = " + std::to_string(std::stoll(test::scalar(db, "PRAGMA page_count")) + 2));
  auto trx = db.begin();
  auto small = blog::user("small@b");
  small.save(trx);  // fits in the two pages left
  std::vector<blog::Post> many;
  for (int i = 0; i < 200; ++i) many.push_back(blog::post("title " + std::to_string(i), std::string(1000, 'x')));
  CHECK_THROWS_AS(author.related<&blog::User::posts>(trx).createMany(many), kith::DatabaseError);
  checkAgrees(db, trx);
  // Either SQLite undid the statement only (the transaction and `small` live on) or all of it.
  CHECK(small.isPersisted() == trx.isActive());
  CHECK(test::rows(db, "users") == (trx.isActive() ? 2 : 1));
  CHECK(test::rows(db, "posts") == 0);
  if (trx.isActive()) trx.rollback();
  CHECK_FALSE(small.isPersisted());
  CHECK(author.isPersisted());
}
