// Joins in the query builder: the SQL (every column qualified once two tables are in play), the
// rows, chained and left joins, joins after conditions and on relation queries, count, paginate,
// bulk update and delete through a join, and the errors for a table that is not joined.
#include "blog_models.hpp"

using namespace blog;
using test::titles;

namespace {

constexpr const char* postColumns = R"("posts"."id", "posts"."user_id", "posts"."editor_id", "posts"."title", "posts"."body")";

/// ann (a@x.com) wrote "one" and "two" (edited by bob), bob (b@x.com) wrote "three" (edited by
/// cy), cy (c@y.org) wrote "four"; "one" has two comments, "three" one.
struct Blog {
  kith::Connection db = database();
  User ann = User::create(db, user("a@x.com"));
  User bob = User::create(db, user("b@x.com"));
  User cy = User::create(db, user("c@y.org"));
  Blog() {
    auto posts = ann.related<&User::posts>().createMany({post("one"), post("two")});
    auto three = bob.related<&User::posts>().create(post("three"));
    cy.related<&User::posts>().create(post("four"));
    posts[1].editorId = bob.id;
    posts[1].save();
    three.editorId = cy.id;
    three.save();
    posts[0].related<&Post::comments>().createMany({Comment{{}, 0, 0, "nice"}, Comment{{}, 0, 0, "meh"}});
    three.related<&Post::comments>().create(Comment{{}, 0, 0, "nice"});
  }
};

}  // namespace

TEST_CASE("join filters by the joined model's columns and qualifies every column", "[query][join][portable]") {
  Blog b;
  test::StatementLog log(b.db);
  auto q = Post::query(b.db).join<&Post::userId, &User::id>().where<&User::email>("like", "%@x.com").orderBy<&Post::id>(kith::desc);
  CHECK(
      q.toSql() ==
      std::string("SELECT ") + postColumns +
          R"( FROM "posts" INNER JOIN "users" ON "users"."id" = "posts"."user_id" WHERE "users"."email" like ? ORDER BY "posts"."id" DESC)");
  const auto posts = q.all();
  CHECK(titles(posts) == std::vector<std::string>{"three", "two", "one"});
  CHECK(posts[0].userId == b.bob.id);
  CHECK(log.count() == 1);

  // The same join with the columns the other way round: the table not yet in the query is joined.
  CHECK(Post::query(b.db).join<&User::id, &Post::userId>().where<&User::email>("like", "%@x.com").orderBy<&Post::id>(kith::desc).toSql() ==
        q.toSql());
  // orderBy a joined column.
  CHECK(titles(Post::query(b.db).join<&Post::userId, &User::id>().orderBy<&User::email>(kith::desc).orderBy<&Post::id>().all()) ==
        std::vector<std::string>{"four", "three", "one", "two"});
}

TEST_CASE("a condition on the query's own column before the join is qualified too", "[query][join][portable]") {
  Blog b;
  // Both tables have "id": unqualified, the condition would be ambiguous (an error on both databases).
  auto q = Post::query(b.db)
               .where<&Post::id>(">", 1)
               .whereIn<&Post::title>({"two", "three", "four"})
               .join<&Post::userId, &User::id>()
               .where<&User::id>("<", b.cy.id);
  CHECK(q.toSql() ==
        std::string("SELECT ") + postColumns +
            R"( FROM "posts" INNER JOIN "users" ON "users"."id" = "posts"."user_id" WHERE "posts"."id" > ? AND "posts"."title" )" +
            (test::onPostgres() ? "= ANY(?)" : "IN (?, ?, ?)") + R"( AND "users"."id" < ?)");
  CHECK(titles(q.all()) == std::vector<std::string>{"two", "three"});
  CHECK(q.count() == 2);
  CHECK(q.exists());
  // Without a join nothing is qualified: the SQL is what it always was.
  CHECK(Post::query(b.db).where<&Post::id>(">", 1).toSql() ==
        R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE "id" > ?)");
}

TEST_CASE("leftJoin keeps the rows without a match, and an optional key joins its value type", "[query][join][portable]") {
  Blog b;
  auto unedited = Post::query(b.db).leftJoin<&Post::editorId, &User::id>().whereNull<&User::id>().orderBy<&Post::id>();
  CHECK(
      unedited.toSql() ==
      std::string("SELECT ") + postColumns +
          R"( FROM "posts" LEFT JOIN "users" ON "users"."id" = "posts"."editor_id" WHERE "users"."id" IS NULL ORDER BY "posts"."id" ASC)");
  CHECK(titles(unedited.all()) == std::vector<std::string>{"one", "four"});
  CHECK(titles(Post::query(b.db).join<&Post::editorId, &User::id>().where<&User::email>("c@y.org").all()) ==
        std::vector<std::string>{"three"});
  CHECK(Post::query(b.db).leftJoin<&Post::editorId, &User::id>().count() == 4);
  CHECK(Post::query(b.db).join<&Post::editorId, &User::id>().count() == 2);
}

TEST_CASE("joins chain through a joined model", "[query][join][portable]") {
  Blog b;
  auto q = Comment::query(b.db)
               .join<&Comment::postId, &Post::id>()
               .join<&Post::userId, &User::id>()
               .where<&User::email>("b@x.com")
               .where<&Comment::body>("nice");
  CHECK(
      q.toSql() ==
      R"(SELECT "comments"."id", "comments"."post_id", "comments"."body" FROM "comments" INNER JOIN "posts" ON "posts"."id" = "comments"."post_id" INNER JOIN "users" ON "users"."id" = "posts"."user_id" WHERE "users"."email" = ? AND "comments"."body" = ?)");
  const auto comments = q.all();
  REQUIRE(comments.size() == 1);
  CHECK(comments[0].postId != 0);
  CHECK(Post::find(b.db, comments[0].postId)->title == "three");
}

TEST_CASE("a relation query takes joins, its scope qualified and still its own group", "[query][join][has-many][portable]") {
  Blog b;
  auto q = b.ann.related<&User::posts>().query().join<&Post::id, &Comment::postId>().where<&Comment::body>("nice").orWhere<&Comment::body>(
      "meh");
  CHECK(
      q.toSql() ==
      std::string("SELECT ") + postColumns +
          R"( FROM "posts" INNER JOIN "comments" ON "comments"."post_id" = "posts"."id" WHERE ("comments"."body" = ? OR "comments"."body" = ?) AND ("posts"."user_id" = ?))");
  // One row per comment that matches: "one" twice (bob's "three" has a "nice" comment but is not ann's).
  CHECK(titles(q.all()) == std::vector<std::string>{"one", "one"});
}

TEST_CASE("where groups name joined columns, whereHas and withCount correlate with the qualified table",
          "[query][join][relationship-queries][portable]") {
  Blog b;
  auto q = Post::query(b.db)
               .join<&Post::userId, &User::id>()
               .where([](auto& g) { g.template where<&User::email>("c@y.org").template orWhere<&Post::title>("two"); })
               .whereHas<&Post::comments>([](auto& c) { c.template where<&Comment::body>("nice"); })
               .withCount<&Post::comments>();
  CHECK(
      q.toSql() ==
      std::string("SELECT ") + postColumns +
          R"(, (SELECT count(*) FROM "comments" WHERE "comments"."post_id" = "posts"."id") AS "comments_count" FROM "posts" INNER JOIN "users" ON "users"."id" = "posts"."user_id" WHERE ("users"."email" = ? OR "posts"."title" = ?) AND EXISTS (SELECT 1 FROM "comments" WHERE ("body" = ?) AND ("comments"."post_id" = "posts"."id")))");
  CHECK(q.all().empty());  // "two" and "four" have no "nice" comment
  auto withComments = Post::query(b.db)
                          .join<&Post::userId, &User::id>()
                          .where<&User::email>("like", "%@x.com")
                          .withCount<&Post::comments>()
                          .orderBy<&Post::id>();
  const auto posts = withComments.all();
  REQUIRE(posts.size() == 3);
  CHECK(posts[0].extra<std::int64_t>("comments_count") == 2);
  CHECK(posts[1].extra<std::int64_t>("comments_count") == 0);
  CHECK(posts[2].extra<std::int64_t>("comments_count") == 1);
}

TEST_CASE("preload on a joined query, and a join in a preload callback with groupLimit", "[query][join][preload][portable]") {
  Blog b;
  test::StatementLog log(b.db);
  const auto posts = Post::query(b.db).join<&Post::userId, &User::id>().where<&User::email>("a@x.com").preload<&Post::comments>().all();
  REQUIRE(posts.size() == 2);
  CHECK(posts[0].comments.size() == 2);
  CHECK(posts[1].comments.empty());
  CHECK(log.count() == 2);

  // Each user's latest post that someone edited, picked by a window partitioned by the qualified key.
  log.clear();
  const auto users = User::query(b.db)
                         .orderBy<&User::id>()
                         .preload<&User::posts>([](auto& p) { p.template join<&Post::editorId, &User::id>().groupLimit(1); })
                         .all();
  REQUIRE(users.size() == 3);
  CHECK(titles(users[0].posts) == std::vector<std::string>{"two"});
  CHECK(titles(users[1].posts) == std::vector<std::string>{"three"});
  CHECK(users[2].posts.empty());
  REQUIRE(log.count() == 2);
  CHECK(test::Contains(R"(row_number() OVER (PARTITION BY "posts"."user_id" ORDER BY "posts"."id" DESC))").match(log.entries[1].sql));
}

TEST_CASE("count and paginate count the rows the join gives", "[query][join][portable]") {
  Blog b;
  auto q = Post::query(b.db).join<&Post::id, &Comment::postId>().orderBy<&Comment::id>();
  CHECK(q.count() == 3);
  const auto page = q.paginate(1, 2);
  CHECK(page.total == 3);
  CHECK(page.lastPage == 2);
  CHECK(titles(page.rows) == std::vector<std::string>{"one", "one"});
  CHECK(titles(q.paginate(2, 2).rows) == std::vector<std::string>{"three"});
}

TEST_CASE("update and remove through a join act on the rows it selects, by primary key", "[query][join][bulk][portable]") {
  Blog b;
  test::StatementLog log(b.db);
  CHECK(Post::query(b.db).join<&Post::userId, &User::id>().where<&User::email>("a@x.com").update(kith::set<&Post::body>("by ann")) == 2);
  REQUIRE(log.count() == 1);
  CHECK(
      log.entries[0].sql ==
      R"(UPDATE "posts" SET "body" = ? WHERE "posts"."id" IN (SELECT "posts"."id" FROM "posts" INNER JOIN "users" ON "users"."id" = "posts"."user_id" WHERE "users"."email" = ?))");
  CHECK(Post::query(b.db).where<&Post::body>("by ann").count() == 2);
  CHECK(User::query(b.db).count() == 3);  // the joined table is not written

  log.clear();
  CHECK(Post::query(b.db).join<&Post::id, &Comment::postId>().where<&Comment::body>("nice").remove() == 2);
  REQUIRE(log.count() == 1);
  CHECK(
      log.entries[0].sql ==
      R"(DELETE FROM "posts" WHERE "posts"."id" IN (SELECT "posts"."id" FROM "posts" INNER JOIN "comments" ON "comments"."post_id" = "posts"."id" WHERE "comments"."body" = ?))");
  CHECK(titles(Post::query(b.db).orderBy<&Post::id>().all()) == std::vector<std::string>{"two", "four"});
  CHECK(test::rows(b.db, "comments") == 3);
}

TEST_CASE("a column of a table the query does not join is refused, and the query is left as it was", "[query][join][bad-input][portable]") {
  Blog b;
  auto q = Post::query(b.db).where<&Post::title>("one");
  const std::string before = q.toSql();
  CHECK_THROWS_WITH(q.where<&User::email>("a@x.com"),
                    "kith: email is a column of User, which this query of Post does not join; add join<...>() for User before naming its "
                    "columns");
  CHECK_THROWS_AS(q.whereIn<&User::id>({1, 2}), kith::UsageError);
  CHECK_THROWS_AS(q.whereNull<&Comment::body>(), kith::UsageError);
  CHECK_THROWS_AS(q.orderBy<&User::id>(), kith::UsageError);
  CHECK(q.toSql() == before);
  CHECK(q.bindings() == std::vector<kith::Value>{std::string("one")});
  CHECK(titles(q.all()) == std::vector<std::string>{"one"});

  CHECK_THROWS_WITH((Post::query(b.db).join<&User::id, &Comment::postId>()),
                    "kith: join<id, postId>(): this query of Post has neither User nor Comment; join one of them first");
  CHECK_THROWS_WITH((Post::query(b.db).join<&Post::userId, &User::id>().join<&Post::editorId, &User::id>()),
                    "kith: join<editorId, id>(): this query already has both Post and User; a table is joined once");
  CHECK_THROWS_WITH(Post::query(b.db).where([](auto& g) { g.template join<&Post::userId, &User::id>(); }),
                    test::Contains("kith: the callback of where(group) may only add conditions"));
  CHECK_THROWS_WITH(User::query(b.db).whereHas<&User::posts>([](auto& p) { p.template join<&Post::id, &Comment::postId>(); }),
                    test::Contains("kith: the callback of whereHas<...>() may only add conditions"));
}

TEST_CASE("the control character kith marks its own columns with is refused in raw SQL and identifiers",
          "[query][join][bad-input][portable]") {
  Blog b;
  const std::string mark(1, '\x1f');
  auto q = Post::query(b.db).join<&Post::userId, &User::id>().where<&Post::id>(">", 0);
  const std::string before = q.toSql();
  const std::string message = "holds the control character 0x1F, which kith reserves; bind such a value as a parameter instead";
  CHECK_THROWS_WITH(q.whereRaw("\"posts\".\"title\" <> '" + mark + "'"), test::Contains("kith: the SQL given to whereRaw " + message));
  CHECK_THROWS_WITH(q.orWhereRaw(mark + "\"title\" = ?", "x"), test::Contains("kith: the SQL given to whereRaw " + message));
  CHECK_THROWS_WITH(q.scope(mark + "\"title\" = ?", {kith::Value{std::string("x")}}),
                    test::Contains("kith: the SQL given to scope " + message));
  CHECK_THROWS_WITH(User::query(b.db).withCount<&User::posts>("posts" + mark),
                    test::Contains("kith: the SQL given to an identifier " + message));
  CHECK(q.toSql() == before);
  CHECK(q.bindings() == std::vector<kith::Value>{std::int64_t{0}});
  // A quote in a raw condition is SQL as always; the value goes bound.
  CHECK(Post::query(b.db).join<&Post::userId, &User::id>().whereRaw("\"posts\".\"title\" <> 'it''s'").count() == 4);
}
