// Relation writes and transactions: the parent's own transaction, an explicit one, nesting, and
// concurrent writers on one parent object.
#include <thread>

#include "blog_models.hpp"

using namespace blog;

namespace {
std::vector<std::string> titlesOf(const kith::Connection& db) {
  std::vector<std::string> out;
  for (const auto& p : Post::query(db).all()) out.push_back(p.title);
  return out;
}
}  // namespace

TEST_CASE("a write through a parent bound to a transaction runs in a savepoint and leaves that transaction open",
          "[has-many][transaction][portable]") {
  auto db = database();
  test::StatementLog log(db);
  auto trx = db.begin();
  auto u = user("virk@b");
  u.save(trx);
  u.related<&User::posts>().create(post("Inside"));
  CHECK(trx.isActive());
  CHECK(log.sql() ==
        test::statements(
            {{test::beginSql(), test::insertOne(R"(INSERT INTO "users" ("email", "parent_id") VALUES (?, ?))"), "SAVEPOINT kith_2"},
             test::insertMany(R"(INSERT INTO "posts" ("user_id", "editor_id", "title", "body") VALUES (?, ?, ?, ?))"),
             {"RELEASE kith_2"}}));
  trx.rollback();  // kith committed nothing of the caller's transaction
  CHECK(test::rows(db, "posts") == 0);
  CHECK(test::rows(db, "users") == 0);
  CHECK_FALSE(u.isPersisted());
}

TEST_CASE("related(trx) writes inside the given transaction", "[has-many][transaction][portable]") {
  auto db = database();
  auto u = User::create(db, user("virk@b"));
  std::vector<Post> created;
  {
    auto trx = db.begin();
    created = u.related<&User::posts>(trx).createMany({post("A"), post("B")});
    CHECK(created[0].isPersisted());
  }  // rolled back
  CHECK(test::rows(db, "posts") == 0);
  CHECK_FALSE(created[0].isPersisted());
  CHECK(u.isPersisted());  // the parent was saved before the transaction
}

TEST_CASE("a relation write never leaves the parent bound to a finished transaction", "[has-many][transaction][portable]") {
  auto db = database();
  auto u = user("virk@b");
  db.transaction([&](kith::Transaction& trx) { u.related<&User::posts>(trx).create(post("A")); });
  u.email = "changed@b";
  CHECK_NOTHROW(u.save());
  CHECK_NOTHROW(u.related<&User::posts>().create(post("B")));
  CHECK(User::findOrFail(db, u.id).email == "changed@b");
  CHECK(u.related<&User::posts>().query().count() == 2);
}

TEST_CASE("a failing relation write inside the caller's transaction undoes only its savepoint", "[has-many][transaction][portable]") {
  auto db = database();
  db.transaction([&](kith::Transaction& trx) {
    auto u = User::create(trx, user("virk@b"));
    u.related<&User::posts>().create(post("Kept"));
    CHECK_THROWS_AS(u.related<&User::posts>().createMany({post("Lost"), post("")}), kith::ConstraintError);
    CHECK(trx.isActive());
  });
  CHECK(test::rows(db, "users") == 1);
  CHECK(titlesOf(db).size() == 1);
}

TEST_CASE("concurrent relation writes on one parent object, each thread with its own connection, do not interfere",
          "[has-many][transaction][concurrency][portable]") {
  test::TempDir dir;
  const auto file = dir.file("blog.db");
  createSchema(kith::sqlite::open(file, {.wal = true}));
  auto main = kith::sqlite::open(file, {.wal = true});
  auto u = User::create(main, user("shared@b"));
  constexpr int perThread = 50;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(2);
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      try {
        auto own = kith::sqlite::open(file, {.wal = true});
        for (int i = 0; i < perThread; ++i)
          u.related<&User::posts>(own).createMany({post("t" + std::to_string(t) + "-" + std::to_string(i)), post("x")});
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(t)] = e.what();
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures[0].empty());
  CHECK(failures[1].empty());
  CHECK(u.related<&User::posts>().query().count() == 2 * perThread * 2);
}
