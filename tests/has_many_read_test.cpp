// The relation client's query(): this parent's rows only, in a group of their own, for reads,
// bulk updates and deletes; and Lucid's error for a parent without a key.
#include "blog_models.hpp"

using namespace blog;

namespace {
struct TwoAuthors {
  kith::Connection db = database();
  User virk = User::create(db, user("virk@b"));
  User romain = User::create(db, user("romain@b"));
  TwoAuthors() {
    virk.related<&User::posts>().createMany({post("Adonis 101"), post("Lucid 101")});
    romain.related<&User::posts>().createMany({post("Adonis 101"), post("Edge 101"), post("Japa 101")});
  }
};
}  // namespace

TEST_CASE("query() reads only this parent's rows", "[has-many][read][portable]") {
  TwoAuthors t;
  test::StatementLog log(t.db);
  const auto posts = t.virk.related<&User::posts>().query().all();
  REQUIRE(posts.size() == 2);
  CHECK(posts[0].title == "Adonis 101");
  CHECK(posts[1].title == "Lucid 101");
  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE "user_id" = ?)");
  CHECK(log.entries[0].bindings == std::vector<kith::Value>{t.virk.id});
}

TEST_CASE("the user's conditions and the relation's are separate AND groups, orWhere cannot escape", "[has-many][read][portable]") {
  TwoAuthors t;
  auto q = t.virk.related<&User::posts>().query().where<&Post::title>("Edge 101").orWhere<&Post::title>("Adonis 101");
  CHECK(q.toSql() ==
        R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE ("title" = ? OR "title" = ?) AND ("user_id" = ?))");
  const auto posts = q.all();
  REQUIRE(posts.size() == 1);  // romain's "Edge 101" and "Adonis 101" stay out
  CHECK(posts[0].userId == t.virk.id);
}

TEST_CASE("count, exists, update and remove through query() touch only this parent's rows", "[has-many][read][portable]") {
  TwoAuthors t;
  test::StatementLog log(t.db);
  CHECK(t.romain.related<&User::posts>().query().count() == 3);
  CHECK(log.sql().back() == R"(SELECT count(*) FROM "posts" WHERE "user_id" = ?)");
  CHECK(t.virk.related<&User::posts>().query().where<&Post::title>("Edge 101").exists() == false);

  CHECK(t.virk.related<&User::posts>().query().update(kith::set<&Post::title>("Renamed")) == 2);
  CHECK(log.sql().back() == R"(UPDATE "posts" SET "title" = ? WHERE "user_id" = ?)");
  CHECK(Post::query(t.db).where<&Post::title>("Renamed").count() == 2);
  CHECK(Post::query(t.db).where<&Post::userId>(t.romain.id).where<&Post::title>("Renamed").count() == 0);

  CHECK(t.romain.related<&User::posts>().query().where<&Post::title>("Japa 101").remove() == 1);
  CHECK(log.sql().back() == R"(DELETE FROM "posts" WHERE ("title" = ?) AND ("user_id" = ?))");
  CHECK(t.virk.related<&User::posts>().query().remove() == 2);
  CHECK(test::rows(t.db, "posts") == 2);  // romain's remaining two
}

TEST_CASE("query() on a parent without a key is Lucid's error", "[has-many][read][bad-input][portable]") {
  auto db = database();
  auto unsaved = user("new@b");
  CHECK_THROWS_WITH(unsaved.related<&User::posts>(db).query(), "kith: cannot select \"posts\", value of \"User.id\" is undefined");
  User::create(db, user("a@b"));
  auto partial = User::query(db).select<&User::email>().firstOrFail();
  CHECK_THROWS_WITH(partial.related<&User::posts>().query(), "kith: cannot select \"posts\", value of \"User.id\" is undefined");
}

TEST_CASE("a parent with no connection says how to give it one", "[has-many][read][bad-input][portable]") {
  auto u = user("a@b");
  CHECK_THROWS_WITH(u.related<&User::posts>().query(),
                    "kith: cannot select \"posts\": this User has no connection; save it first, or pass one: related<...>(db)");
}

TEST_CASE("related(trx) reads inside the transaction", "[has-many][read][portable]") {
  TwoAuthors t;
  t.db.transaction([&](kith::Transaction& trx) {
    t.virk.related<&User::posts>(trx).create(post("Draft"));
    CHECK(t.virk.related<&User::posts>(trx).query().count() == 3);
    trx.rollback();
  });
  CHECK(t.virk.related<&User::posts>().query().count() == 2);
}
