// Relationship queries: withCount, withAggregate, loadCount, has/whereHas and their or/doesnt
// forms, group limits in preloads, paginate, and a relation's onQuery constraint. Each test checks
// the SQL sent, its bindings and the rows or values read back, on SQLite and on PostgreSQL.
#include "blog_models.hpp"
#include "support.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace rq {

struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::int64_t postId{};
  std::string body;
  bool approved = false;

  static constexpr auto columns = kith::columns<&Comment::id, &Comment::postId, &Comment::body, &Comment::approved>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string title;
  std::int64_t views{};
  bool published = false;
  kith::HasMany<Comment> comments;
  // onQuery as a lambda: Comment is complete here.
  kith::HasMany<Comment, kith::keys{}, [](auto& q) { q.template where<&Comment::approved>(true); }> approvedComments;
  std::int64_t commentsCount = -1;  // not a column: receives withCount

  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId, &Post::title, &Post::views, &Post::published>;
};

// onQuery as a function: declared before the relation, defined anywhere.
void publishedOnly(kith::Query<Post>& q);

struct Author : kith::BaseModel<Author> {
  std::int64_t id{};
  std::string name;
  std::optional<std::int64_t> mentorId;
  kith::HasMany<Post> posts;
  kith::HasMany<Post, kith::keys{}, publishedOnly> publishedPosts;
  kith::HasMany<Post, kith::keys{}, [](auto& q) { q.template orderBy<&Post::id>(); }> sortedPosts;  // misuse: onQuery orders
  kith::HasMany<Author, kith::keys{.foreignKey = "mentorId"}> mentees;                              // a self relation
  std::int64_t postsCount = -1;  // these are not columns: they receive counts and aggregates
  std::optional<std::int64_t> totalViews;
  std::optional<double> averageViews;
  std::int64_t maxViews = -1;

  static constexpr auto columns = kith::columns<&Author::id, &Author::name, &Author::mentorId>;
};

void publishedOnly(kith::Query<Post>& q) { q.where<&Post::published>(true); }

const std::string authorColumns = R"("id", "name", "mentor_id")";
const std::string postColumns = R"("id", "author_id", "title", "views", "published")";
const std::string postsOfAuthor = R"("posts"."author_id" = "authors"."id")";

/// ada (mentor of bob and cy) has a1 (5 views, published, 2 comments, 1 approved), a2 (20, draft)
/// and a3 (30, published, 1 approved comment); bob (mentor of dee) has b1 (7, published, 3
/// comments); cy has nothing; dee has d1 (0, draft) and d2 (100, draft, 1 comment).
struct Blog {
  kith::Connection db = test::database();
  std::vector<Author> authors;

  Blog() {
    kith::createTables<Author, Post, Comment>(db);
    authors = Author::createMany(db, {{.name = "ada"}, {.name = "bob"}, {.name = "cy"}, {.name = "dee"}});
    for (int i : {1, 2}) authors[static_cast<std::size_t>(i)].mentorId = authors[0].id;
    authors[3].mentorId = authors[1].id;
    for (auto& a : authors) a.save();
    auto a = authors[0].related<&Author::posts>().createMany(
        {{.title = "a1", .views = 5, .published = true}, {.title = "a2", .views = 20}, {.title = "a3", .views = 30, .published = true}});
    auto b = authors[1].related<&Author::posts>().create({.title = "b1", .views = 7, .published = true});
    auto d = authors[3].related<&Author::posts>().createMany({{.title = "d1", .views = 0}, {.title = "d2", .views = 100}});
    a[0].related<&Post::comments>().createMany({{.body = "c1", .approved = true}, {.body = "c2"}});
    a[2].related<&Post::comments>().create({.body = "c3", .approved = true});
    b.related<&Post::comments>().createMany({{.body = "c4"}, {.body = "c5"}, {.body = "c6"}});
    d[1].related<&Post::comments>().create({.body = "c7"});
  }
};

std::string shown(const kith::Value& v) {
  switch (v.index()) {
    case 0:
      return "NULL";
    case 1:
      return std::to_string(std::get<1>(v));
    case 3:
      return "'" + std::get<3>(v) + "'";
    default:
      return "?";
  }
}

std::vector<std::string> shown(const std::vector<kith::Value>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(shown(v));
  return out;
}

template <class M>
std::vector<std::string> names(const std::vector<M>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) {
    if constexpr (requires { r.name; })
      out.push_back(r.name);
    else
      out.push_back(r.title);
  }
  return out;
}

using Strings = std::vector<std::string>;

/// shown() of a preload's key bindings: SQLite's padded IN list, or PostgreSQL's one array.
Strings keyList(const std::vector<std::int64_t>& padded) { return shown(test::keyBindings(padded)); }

Strings operator+(Strings a, const Strings& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string authorKeys(std::size_t padded) { return test::keysIn(R"("author_id")", padded); }

}  // namespace rq

using namespace rq;
using test::titles;

TEST_CASE("withCount reads each row's number of related rows in the same statement", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const auto q = Author::query(blog.db).withCount<&Author::posts>().orderBy<&Author::id>();
  const auto authors = q.all();

  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == "SELECT " + authorColumns + R"(, (SELECT count(*) FROM "posts" WHERE )" + postsOfAuthor +
                                  R"() AS "posts_count" FROM "authors" ORDER BY "id" ASC)");
  CHECK(log.entries[0].bindings.empty());
  CHECK(q.toSql() == log.entries[0].sql);
  REQUIRE(names(authors) == Strings{"ada", "bob", "cy", "dee"});
  std::vector<std::int64_t> counts;
  for (const auto& a : authors) counts.push_back(a.extra<std::int64_t>("posts_count"));
  CHECK(counts == std::vector<std::int64_t>{3, 1, 0, 2});
  // An extra is not a column: the model is clean, a copy keeps it, and it reads as other types.
  CHECK_FALSE(authors[0].isDirty());
  const Author copy = authors[0];
  CHECK(copy.extra<double>("posts_count") == 3.0);
  CHECK(copy.extra<std::optional<std::int64_t>>("posts_count") == 3);
  REQUIRE(copy.extras().size() == 1);
  CHECK(copy.extras()[0].first == "posts_count");
  CHECK(copy.hasExtra("posts_count"));
  CHECK_FALSE(copy.hasExtra("comments_count"));
  CHECK_THROWS_WITH(copy.extra<std::int64_t>("comments_count"),
                    "kith: this Author has no extra \"comments_count\"; compute it with withCount, withAggregate or loadCount");
}

TEST_CASE("withCount with a constraint and an alias, into a member, with the outer query's bindings", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const auto q = Author::query(blog.db)
                     .where<&Author::name>("!=", "cy")
                     .withCount<&Author::posts>("popular_count", [](auto& p) { p.template where<&Post::views>(">=", 20); })
                     .withCount<&Author::posts, &Author::postsCount>()
                     .orderBy<&Author::id>()
                     .limit(10);
  const auto authors = q.all();

  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == "SELECT " + authorColumns + R"(, (SELECT count(*) FROM "posts" WHERE ("views" >= ?) AND ()" + postsOfAuthor +
                                  R"()) AS "popular_count", (SELECT count(*) FROM "posts" WHERE )" + postsOfAuthor +
                                  R"() AS "postsCount" FROM "authors" WHERE "name" != ? ORDER BY "id" ASC LIMIT ?)");
  // The select list's bindings come first, as their placeholders do.
  CHECK(shown(log.entries[0].bindings) == Strings{"20", "'cy'", "10"});
  CHECK(shown(q.bindings()) == shown(log.entries[0].bindings));
  REQUIRE(names(authors) == Strings{"ada", "bob", "dee"});
  CHECK(authors[0].extra<std::int64_t>("popular_count") == 2);
  CHECK(authors[1].extra<std::int64_t>("popular_count") == 0);
  CHECK(authors[2].extra<std::int64_t>("popular_count") == 1);
  CHECK(authors[0].postsCount == 3);
  CHECK(authors[1].postsCount == 1);
  CHECK(authors[2].postsCount == 2);
  CHECK_FALSE(authors[0].hasExtra("postsCount"));  // a named member gets the value, not the extras

  // count() and first() keep working around the select list.
  CHECK(q.count() == 3);
  CHECK(shown(log.entries.back().bindings) == Strings{"'cy'", "10"});
  CHECK(q.first()->postsCount == 3);

  SECTION("two aggregates with one alias are refused") {
    CHECK_THROWS_WITH(Author::query(blog.db).withCount<&Author::posts>().withCount<&Author::posts>("posts_count"),
                      "kith: two withCount/withAggregate columns are both named \"posts_count\"; give one another alias");
  }
  SECTION("an alias that names a column is refused") {
    CHECK_THROWS_WITH(Author::query(blog.db).withCount<&Author::posts>("mentor_id"),
                      "kith: the withCount/withAggregate alias \"mentor_id\" names a column of Author; choose another alias");
  }
  SECTION("the callback may only add conditions") {
    CHECK_THROWS_WITH(Author::query(blog.db).withCount<&Author::posts>([](auto& p) { p.template orderBy<&Post::id>(); }),
                      test::Contains("kith: the callback of withCount/withAggregate may only add conditions"));
  }
}

TEST_CASE("withAggregate: sum, avg, max and count distinct over a related column", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const auto authors = Author::query(blog.db)
                           .withAggregate<&Author::posts, &Author::totalViews>(kith::sum<&Post::views>())
                           .withAggregate<&Author::posts, &Author::averageViews>(kith::avg<&Post::views>())
                           .withAggregate<&Author::posts>(kith::max<&Post::title>(), "last_title")
                           .withAggregate<&Author::posts>(kith::countDistinct<&Post::published>(), "kinds")
                           .withAggregate<&Author::posts>(kith::min<&Post::views>(), "least_published",
                                                          [](auto& p) { p.template where<&Post::published>(true); })
                           .orderBy<&Author::id>()
                           .all();

  REQUIRE(log.count() == 1);
  const auto sub = [](const std::string& head, const std::string& alias) {
    return "(SELECT " + head + R"( FROM "posts" WHERE )" + postsOfAuthor + ") AS \"" + alias + "\"";
  };
  CHECK(log.entries[0].sql == "SELECT " + authorColumns + ", " + sub(R"(sum("views"))", "totalViews") + ", " +
                                  sub(R"(avg("views"))", "averageViews") + ", " + sub(R"(max("title"))", "last_title") + ", " +
                                  sub(R"(count(DISTINCT "published"))", "kinds") +
                                  R"(, (SELECT min("views") FROM "posts" WHERE ("published" = ?) AND ()" + postsOfAuthor +
                                  R"()) AS "least_published" FROM "authors" ORDER BY "id" ASC)");
  CHECK(shown(log.entries[0].bindings) == Strings{"1"});
  REQUIRE(authors.size() == 4);
  const auto& ada = authors[0];
  const auto& cy = authors[2];
  CHECK(ada.totalViews == 55);
  REQUIRE(ada.averageViews);
  CHECK(*ada.averageViews == Approx(55.0 / 3));
  CHECK(ada.extra<std::string>("last_title") == "a3");
  CHECK(ada.extra<std::int64_t>("kinds") == 2);
  CHECK(ada.extra<std::int64_t>("least_published") == 5);
  CHECK(authors[3].extra<std::optional<std::int64_t>>("least_published") == std::nullopt);  // dee has only drafts
  // Over no rows SQL gives NULL, and kith says so rather than inventing a zero.
  CHECK(cy.totalViews == std::nullopt);
  CHECK(cy.averageViews == std::nullopt);
  CHECK(cy.extra<std::optional<std::string>>("last_title") == std::nullopt);
  CHECK(cy.extra<std::int64_t>("kinds") == 0);
  CHECK_THROWS_WITH(cy.extra<std::string>("last_title"),
                    "kith: the extra \"last_title\" is NULL (no related rows); read it as a std::optional");

  SECTION("a member that cannot hold NULL fails clearly when there are no related rows") {
    const auto q = Author::query(blog.db).withAggregate<&Author::posts, &Author::maxViews>(kith::max<&Post::views>());
    CHECK_THROWS_WITH(q.all(),
                      "kith: Author::maxViews cannot hold NULL, which the aggregate gives when there are no related rows; declare it "
                      "std::optional");
    auto some = Author::query(blog.db).withAggregate<&Author::posts, &Author::maxViews>(kith::max<&Post::views>()).has<&Author::posts>();
    const auto withPosts = some.orderBy<&Author::id>().all();
    REQUIRE(withPosts.size() == 3);
    CHECK(withPosts[0].maxViews == 30);
    CHECK(withPosts[2].maxViews == 100);
  }
}

TEST_CASE("nested relation counts: withCount inside a preload", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const auto authors = Author::query(blog.db)
                           .withCount<&Author::posts>()
                           .preload<&Author::posts>([](auto& p) {
                             p.template withCount<&Post::comments, &Post::commentsCount>()
                                 .template withCount<&Post::approvedComments>()
                                 .template orderBy<&Post::id>();
                           })
                           .orderBy<&Author::id>()
                           .all();

  REQUIRE(log.count() == 2);
  CHECK(log.entries[1].sql == "SELECT " + postColumns +
                                  R"(, (SELECT count(*) FROM "comments" WHERE "comments"."post_id" = "posts"."id") AS "commentsCount")"
                                  R"(, (SELECT count(*) FROM "comments" WHERE ("approved" = ?) AND "comments"."post_id" = "posts"."id"))"
                                  R"( AS "approvedComments_count" FROM "posts" WHERE )" +
                                  authorKeys(4) + R"( ORDER BY "id" ASC)");
  CHECK(shown(log.entries[1].bindings) == Strings{"1"} + keyList({1, 2, 3, 4}));
  const auto& ada = authors[0];
  CHECK(ada.extra<std::int64_t>("posts_count") == 3);
  REQUIRE(titles(ada.posts) == Strings{"a1", "a2", "a3"});
  CHECK(ada.posts[0].commentsCount == 2);
  CHECK(ada.posts[1].commentsCount == 0);
  CHECK(ada.posts[2].commentsCount == 1);
  CHECK(ada.posts[0].extra<std::int64_t>("approvedComments_count") == 1);
  CHECK(authors[1].posts[0].commentsCount == 3);
  CHECK(authors[1].posts[0].extra<std::int64_t>("approvedComments_count") == 0);
  CHECK(authors[2].posts.isLoaded());
  CHECK(authors[2].posts.empty());
}

TEST_CASE("a self relation aliases its inner table, once per level", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const auto mentors = Author::query(blog.db).withCount<&Author::mentees>().has<&Author::mentees>().orderBy<&Author::id>().all();

  const std::string menteesOfAuthor = R"(SELECT count(*) FROM "authors" AS "kith_t1" WHERE "kith_t1"."mentor_id" = "authors"."id")";
  CHECK(log.entries[0].sql ==
        "SELECT " + authorColumns + ", (" + menteesOfAuthor + R"() AS "mentees_count" FROM "authors" WHERE )" +
            R"(EXISTS (SELECT 1 FROM "authors" AS "kith_t1" WHERE "kith_t1"."mentor_id" = "authors"."id") ORDER BY "id" ASC)");
  REQUIRE(names(mentors) == Strings{"ada", "bob"});
  CHECK(mentors[0].extra<std::int64_t>("mentees_count") == 2);
  CHECK(mentors[1].extra<std::int64_t>("mentees_count") == 1);

  // Mentors of mentors: two levels, two aliases.
  log.clear();
  const auto grand =
      Author::query(blog.db).whereHas<&Author::mentees>([](auto& m) { m.template has<&Author::mentees>(); }).orderBy<&Author::id>().all();
  CHECK(log.entries[0].sql == "SELECT " + authorColumns +
                                  R"( FROM "authors" WHERE EXISTS (SELECT 1 FROM "authors" AS "kith_t1" WHERE (EXISTS (SELECT 1 FROM )"
                                  R"("authors" AS "kith_t2" WHERE "kith_t2"."mentor_id" = "kith_t1"."id")) AND ("kith_t1"."mentor_id" = )"
                                  R"("authors"."id")) ORDER BY "id" ASC)");
  CHECK(names(grand) == Strings{"ada"});
}

TEST_CASE("has, orHas, doesntHave, orDoesntHave", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const std::string exists = R"(EXISTS (SELECT 1 FROM "posts" WHERE )" + postsOfAuthor + ")";
  const std::string count = R"((SELECT count(*) FROM "posts" WHERE )" + postsOfAuthor + ")";
  const std::string head = "SELECT " + authorColumns + R"( FROM "authors" WHERE )";
  const std::string tail = R"( ORDER BY "id" ASC)";
  const auto run = [&](const kith::Query<Author>& q) {
    log.clear();
    auto rows = q.all();
    REQUIRE(log.count() == 1);
    CHECK(q.toSql() == log.entries[0].sql);
    return names(rows);
  };
  const auto authors = [&] { return Author::query(blog.db).orderBy<&Author::id>(); };

  CHECK(run(authors().has<&Author::posts>()) == Strings{"ada", "bob", "dee"});
  CHECK(log.entries[0].sql == head + exists + tail);

  CHECK(run(authors().has<&Author::posts>(">", 1)) == Strings{"ada", "dee"});
  CHECK(log.entries[0].sql == head + count + " > ?" + tail);
  CHECK(shown(log.entries[0].bindings) == Strings{"1"});

  CHECK(run(authors().doesntHave<&Author::posts>()) == Strings{"cy"});
  CHECK(log.entries[0].sql == head + "NOT " + exists + tail);

  CHECK(run(authors().where<&Author::name>("bob").orHas<&Author::posts>(">=", 3)) == Strings{"ada", "bob"});
  CHECK(log.entries[0].sql == head + R"("name" = ? OR )" + count + " >= ?" + tail);
  CHECK(shown(log.entries[0].bindings) == Strings{"'bob'", "3"});

  CHECK(run(authors().where<&Author::name>("ada").orDoesntHave<&Author::posts>()) == Strings{"ada", "cy"});
  CHECK(log.entries[0].sql == head + R"("name" = ? OR NOT )" + exists + tail);

  CHECK(run(authors().where<&Author::name>("cy").orHas<&Author::posts>()) == Strings{"ada", "bob", "cy", "dee"});
  CHECK(run(authors().has<&Author::posts>("<", 2)) == Strings{"bob", "cy"});

  CHECK_THROWS_WITH(authors().has<&Author::posts>("=>", 1),
                    "kith: unknown operator \"=>\" in has<>()/whereHas<>(); use one of =, !=, <>, <, <=, >, >=");
}

TEST_CASE("whereHas and its or/doesnt forms put the callback's conditions in the subquery", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const std::string head = "SELECT " + authorColumns + R"( FROM "authors" WHERE )";
  const auto run = [&](kith::Query<Author> q) {
    log.clear();
    auto rows = q.orderBy<&Author::id>().all();
    REQUIRE(log.count() == 1);
    return names(rows);
  };
  const auto authors = [&] { return Author::query(blog.db); };
  const auto viewsOver = [](std::int64_t n) { return [n](auto& p) { p.template where<&Post::views>(">", n); }; };
  const auto drafts = [](auto& p) { p.template where<&Post::published>(false); };

  SECTION("bindings before, inside and after the subquery stay in placeholder order") {
    CHECK(run(authors().where<&Author::name>("!=", "zed").whereHas<&Author::posts>(viewsOver(6), ">=", 2).orWhere<&Author::name>("cy")) ==
          Strings{"ada", "cy"});
    CHECK(log.entries[0].sql == head + R"("name" != ? AND (SELECT count(*) FROM "posts" WHERE ("views" > ?) AND ()" + postsOfAuthor +
                                    R"()) >= ? OR "name" = ? ORDER BY "id" ASC)");
    CHECK(shown(log.entries[0].bindings) == Strings{"'zed'", "6", "2", "'cy'"});
  }
  SECTION("whereHas") {
    CHECK(run(authors().whereHas<&Author::posts>([](auto& p) { p.template where<&Post::title>("like", "d%"); })) == Strings{"dee"});
    CHECK(log.entries[0].sql ==
          head + R"(EXISTS (SELECT 1 FROM "posts" WHERE ("title" like ?) AND ()" + postsOfAuthor + R"()) ORDER BY "id" ASC)");
    CHECK(shown(log.entries[0].bindings) == Strings{"'d%'"});
  }
  SECTION("orWhereHas, with and without a count") {
    CHECK(run(authors().where<&Author::name>("cy").orWhereHas<&Author::posts>(viewsOver(50))) == Strings{"cy", "dee"});
    CHECK(run(authors().whereNull<&Author::mentorId>().orWhereHas<&Author::posts>(viewsOver(99), "=", 1)) == Strings{"ada", "dee"});
    CHECK(log.entries[0].sql == head + R"("mentor_id" IS NULL OR (SELECT count(*) FROM "posts" WHERE ("views" > ?) AND ()" + postsOfAuthor +
                                    R"()) = ? ORDER BY "id" ASC)");
    CHECK(shown(log.entries[0].bindings) == Strings{"99", "1"});
  }
  SECTION("whereDoesntHave and orWhereDoesntHave") {
    CHECK(run(authors().whereDoesntHave<&Author::posts>(drafts)) == Strings{"bob", "cy"});
    CHECK(log.entries[0].sql ==
          head + R"(NOT EXISTS (SELECT 1 FROM "posts" WHERE ("published" = ?) AND ()" + postsOfAuthor + R"()) ORDER BY "id" ASC)");
    CHECK(shown(log.entries[0].bindings) == Strings{"0"});
    CHECK(run(authors().where<&Author::name>("dee").orWhereDoesntHave<&Author::posts>(drafts)) == Strings{"bob", "cy", "dee"});
  }
  SECTION("nested: authors with a post that has an approved comment") {
    CHECK(run(authors().whereHas<&Author::posts>([](auto& p) {
            p.template whereHas<&Post::comments>([](auto& c) { c.template where<&Comment::approved>(true); });
          })) == Strings{"ada"});
    CHECK(log.entries[0].sql == head +
                                    R"(EXISTS (SELECT 1 FROM "posts" WHERE (EXISTS (SELECT 1 FROM "comments" WHERE ("approved" = ?) )"
                                    R"(AND ("comments"."post_id" = "posts"."id"))) AND ()" +
                                    postsOfAuthor + R"()) ORDER BY "id" ASC)");
  }
  SECTION("inside a condition group") {
    CHECK(run(authors().where<&Author::name>("!=", "ada").where([](auto& g) {
            g.template has<&Author::posts>(">", 1).template orWhereNull<&Author::mentorId>();
          })) == Strings{"dee"});
    CHECK(log.entries[0].sql == head + R"("name" != ? AND ((SELECT count(*) FROM "posts" WHERE )" + postsOfAuthor +
                                    R"() > ? OR "mentor_id" IS NULL) ORDER BY "id" ASC)");
    CHECK(shown(log.entries[0].bindings) == Strings{"'ada'", "1"});
  }
  SECTION("a condition group may only add conditions") {
    CHECK_THROWS_WITH(authors().where([](auto& g) { g.template orderBy<&Author::name>(); }),
                      test::Contains("kith: the callback of where(group) may only add conditions"));
  }
  SECTION("a preload is not a condition: refused in a group and in a whereHas callback") {
    CHECK_THROWS_WITH(authors().where([](auto& g) { g.template preload<&Author::posts>(); }),
                      test::Contains("kith: the callback of where(group) may only add conditions"));
    CHECK_THROWS_WITH(authors().whereHas<&Author::mentees>([](auto& m) { m.template preload<&Author::posts>(); }),
                      test::Contains("kith: the callback of whereHas<...>() may only add conditions"));
  }
  SECTION("the callback may only add conditions") {
    CHECK_THROWS_WITH(authors().whereHas<&Author::posts>([](auto& p) { p.limit(1); }),
                      "kith: the callback of whereHas<...>() may only add conditions (where..., has..., whereHas...); orderBy, limit, "
                      "offset, select, join, withCount and preload have no meaning there");
  }
}

TEST_CASE("has and whereHas in related queries, counts, bulk updates and deletes", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  auto& ada = blog.authors[0];

  const auto commented = ada.related<&Author::posts>().query().has<&Post::comments>(">", 1).all();
  CHECK(titles(commented) == Strings{"a1"});
  CHECK(log.entries[0].sql == "SELECT " + postColumns +
                                  R"( FROM "posts" WHERE ((SELECT count(*) FROM "comments" WHERE "comments"."post_id" = "posts"."id") > ?))"
                                  R"( AND ("author_id" = ?))");
  CHECK(shown(log.entries[0].bindings) == Strings{"1", std::to_string(ada.id)});

  log.clear();
  CHECK(Author::query(blog.db).doesntHave<&Author::posts>().count() == 1);
  CHECK(log.entries[0].sql == R"(SELECT count(*) FROM "authors" WHERE NOT EXISTS (SELECT 1 FROM "posts" WHERE )" + postsOfAuthor + ")");

  log.clear();
  CHECK(Author::query(blog.db).has<&Author::posts>(">", 1).update(kith::set<&Author::name>("prolific")) == 2);
  CHECK(log.entries[0].sql == R"(UPDATE "authors" SET "name" = ? WHERE (SELECT count(*) FROM "posts" WHERE )" + postsOfAuthor + ") > ?");
  CHECK(shown(log.entries[0].bindings) == Strings{"'prolific'", "1"});
  CHECK(test::select(blog.db, "SELECT name FROM authors ORDER BY id") ==
        std::vector<test::RawRow>{{"prolific"}, {"bob"}, {"cy"}, {"prolific"}});

  log.clear();
  CHECK(Post::query(blog.db).doesntHave<&Post::comments>().remove() == 2);
  CHECK(log.entries[0].sql ==
        R"(DELETE FROM "posts" WHERE NOT EXISTS (SELECT 1 FROM "comments" WHERE "comments"."post_id" = "posts"."id"))");
  CHECK(test::select(blog.db, "SELECT title FROM posts ORDER BY id") == std::vector<test::RawRow>{{"a1"}, {"a3"}, {"b1"}, {"d2"}});
}

TEST_CASE("groupLimit in a preload: at most n children per parent, in one statement", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const std::string window = "SELECT " + postColumns + " FROM (SELECT " + postColumns;

  SECTION("default order: primary key descending") {
    const auto authors = Author::query(blog.db).orderBy<&Author::id>().preload<&Author::posts>([](auto& p) { p.groupLimit(2); }).all();
    REQUIRE(log.count() == 2);
    CHECK(log.entries[1].sql == window +
                                    R"(, row_number() OVER (PARTITION BY "author_id" ORDER BY "id" DESC) AS "kith_row" FROM "posts")"
                                    R"( WHERE )" +
                                    authorKeys(4) + R"() AS "kith_group" WHERE "kith_row" <= ? ORDER BY "kith_row")");
    CHECK(shown(log.entries[1].bindings) == keyList({1, 2, 3, 4}) + Strings{"2"});
    CHECK(titles(authors[0].posts) == Strings{"a3", "a2"});
    CHECK(titles(authors[1].posts) == Strings{"b1"});
    CHECK(authors[2].posts.isLoaded());
    CHECK(authors[2].posts.empty());
    CHECK(titles(authors[3].posts) == Strings{"d2", "d1"});
  }
  SECTION("groupOrderBy, with conditions, a nested preload and a relation count") {
    const auto authors = Author::query(blog.db)
                             .orderBy<&Author::id>()
                             .preload<&Author::posts>([](auto& p) {
                               p.template where<&Post::title>("!=", "a1")
                                   .template groupOrderBy<&Post::views>(kith::asc)
                                   .groupLimit(1)
                                   .template withCount<&Post::comments, &Post::commentsCount>()
                                   .template preload<&Post::comments>();
                             })
                             .all();
    REQUIRE(log.count() == 3);
    CHECK(log.entries[1].sql == "SELECT " + postColumns + R"(, "commentsCount" FROM (SELECT )" + postColumns +
                                    R"(, (SELECT count(*) FROM "comments" WHERE "comments"."post_id" = "posts"."id") AS "commentsCount", )"
                                    R"(row_number() OVER (PARTITION BY "author_id" ORDER BY "views" ASC) AS "kith_row" FROM "posts" WHERE )"
                                    R"(("title" != ?) AND ()" +
                                    authorKeys(4) +
                                    R"()) AS "kith_group" WHERE "kith_row" <= ? )"
                                    R"(ORDER BY "kith_row")");
    CHECK(shown(log.entries[1].bindings) == Strings{"'a1'"} + keyList({1, 2, 3, 4}) + Strings{"1"});
    CHECK(titles(authors[0].posts) == Strings{"a2"});  // a1 excluded; a2 has fewer views than a3
    CHECK(titles(authors[1].posts) == Strings{"b1"});
    CHECK(titles(authors[3].posts) == Strings{"d1"});
    CHECK(authors[1].posts[0].commentsCount == 3);
    CHECK(authors[1].posts[0].comments.size() == 3);
    CHECK(authors[3].posts[0].comments.isLoaded());
    CHECK(authors[3].posts[0].comments.empty());
    // The nested preload loads the comments of the kept posts only.
    CHECK(shown(log.entries[2].bindings) ==
          keyList({authors[0].posts[0].id, authors[1].posts[0].id, authors[3].posts[0].id, authors[3].posts[0].id}));
  }
  SECTION("with select: the foreign key is added, the window still partitions by it") {
    const auto authors = Author::query(blog.db)
                             .orderBy<&Author::id>()
                             .preload<&Author::posts>([](auto& p) { p.template select<&Post::id, &Post::title>().groupLimit(1); })
                             .all();
    CHECK(log.entries[1].sql ==
          R"(SELECT "id", "title", "author_id" FROM (SELECT "id", "title", "author_id", row_number() OVER (PARTITION BY "author_id" )"
          R"(ORDER BY "id" DESC) AS "kith_row" FROM "posts" WHERE )" +
              authorKeys(4) +
              R"() AS "kith_group" WHERE "kith_row" <= ? )"
              R"(ORDER BY "kith_row")");
    CHECK(titles(authors[0].posts) == Strings{"a3"});
    CHECK(titles(authors[3].posts) == Strings{"d2"});
  }
  SECTION("outside a preload they are a plain limit and order") {
    const auto q = Post::query(blog.db).groupLimit(2).groupOrderBy<&Post::views>(kith::desc);
    CHECK(titles(q.all()) == Strings{"d2", "a3"});
    CHECK(log.entries[0].sql == "SELECT " + postColumns + R"( FROM "posts" ORDER BY "views" DESC LIMIT ?)");
    CHECK(shown(log.entries[0].bindings) == Strings{"2"});
  }
}

TEST_CASE("paginate: rows plus total, per page, current and last page", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  const auto posts = [&] { return Post::query(blog.db).orderBy<&Post::id>(); };

  const auto second = posts().paginate(2, 4);
  REQUIRE(log.count() == 2);
  CHECK(log.entries[0].sql == R"(SELECT count(*) FROM "posts")");
  CHECK(log.entries[1].sql == "SELECT " + postColumns + R"( FROM "posts" ORDER BY "id" ASC LIMIT ? OFFSET ?)");
  CHECK(shown(log.entries[1].bindings) == Strings{"4", "4"});
  CHECK(titles(second) == Strings{"d1", "d2"});
  CHECK(second.total == 6);
  CHECK(second.perPage == 4);
  CHECK(second.currentPage == 2);
  CHECK(second.lastPage == 2);
  CHECK_FALSE(second.hasMorePages());
  CHECK(second.hasPages());

  const auto first = posts().paginate(1, 4);
  CHECK(titles(first) == Strings{"a1", "a2", "a3", "b1"});
  CHECK(first.hasMorePages());

  log.clear();
  const auto past = posts().paginate(3, 4);  // past the last row: the count alone says so
  CHECK(log.count() == 1);
  CHECK(past.empty());
  CHECK(past.total == 6);
  CHECK(past.lastPage == 2);
  CHECK_FALSE(past.hasMorePages());

  const auto none = posts().where<&Post::title>("none").paginate(1, 10);
  CHECK(none.total == 0);
  CHECK(none.lastPage == 1);
  CHECK(none.empty());
  CHECK_FALSE(none.hasPages());

  const auto all = posts().paginate(1, std::numeric_limits<std::int64_t>::max());
  CHECK(all.size() == 6);
  CHECK(all.lastPage == 1);
  CHECK(posts().paginate(std::numeric_limits<std::int64_t>::max(), 2).empty());

  SECTION("on a related query, with conditions") {
    log.clear();
    const auto page = blog.authors[0].related<&Author::posts>().query().where<&Post::views>(">", 1).orderBy<&Post::id>().paginate(1, 2);
    CHECK(log.entries[0].sql == R"(SELECT count(*) FROM "posts" WHERE ("views" > ?) AND ("author_id" = ?))");
    CHECK(shown(log.entries[0].bindings) == Strings{"1", std::to_string(blog.authors[0].id)});
    CHECK(titles(page) == Strings{"a1", "a2"});
    CHECK(page.total == 3);
    CHECK(page.lastPage == 2);
  }
  SECTION("with a preload: the page's rows get their relation") {
    log.clear();
    const auto page = Author::query(blog.db).orderBy<&Author::id>().preload<&Author::posts>().paginate(2, 2);
    CHECK(log.count() == 3);
    CHECK(names(page.rows) == Strings{"cy", "dee"});
    CHECK(page[0].posts.empty());
    CHECK(titles(page[1].posts) == Strings{"d1", "d2"});
  }
  SECTION("bad input") {
    CHECK_THROWS_WITH(posts().paginate(0, 10), "kith: paginate() counts pages from 1; there is no page 0");
    CHECK_THROWS_WITH(posts().paginate(1, 0), "kith: paginate() needs at least 1 row per page, not 0");
    CHECK_THROWS_WITH(posts().limit(3).paginate(1, 2),
                      "kith: paginate() sets the limit and offset itself; remove limit() and offset() from this query");
  }
  SECTION("inside a preload callback it is an error") {
    log.clear();
    CHECK_THROWS_WITH(Author::query(blog.db).preload<&Author::posts>([](auto& p) { p.paginate(1, 10); }).all(),
                      "kith: cannot paginate relationship \"posts\" during preload");
    CHECK(log.count() == 1);  // the authors only
  }
}

TEST_CASE("a relation's onQuery constrains every query it builds, once", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  auto& ada = blog.authors[0];
  const auto occurrences = [](const std::string& sql, const std::string& what) {
    std::size_t n = 0;
    for (auto at = sql.find(what); at != std::string::npos; at = sql.find(what, at + 1)) ++n;
    return n;
  };

  SECTION("related query, with the user's nested groups left alone") {
    const auto posts = ada.related<&Author::publishedPosts>()
                           .query()
                           .where([](auto& g) {
                             g.template where<&Post::views>(">", 1).template orWhere([](auto& h) { h.template where<&Post::title>("x"); });
                           })
                           .orderBy<&Post::id>()
                           .all();
    CHECK(titles(posts) == Strings{"a1", "a3"});
    CHECK(log.entries[0].sql == "SELECT " + postColumns +
                                    R"( FROM "posts" WHERE (("views" > ? OR ("title" = ?))) AND (("published" = ?) AND "author_id" = ?))"
                                    R"( ORDER BY "id" ASC)");
    CHECK(shown(log.entries[0].bindings) == Strings{"1", "'x'", "1", std::to_string(ada.id)});
    CHECK(occurrences(log.entries[0].sql, R"("published" = ?)") == 1);
  }
  SECTION("preload and load") {
    const auto authors = Author::query(blog.db).orderBy<&Author::id>().preload<&Author::publishedPosts>().all();
    CHECK(log.entries[1].sql == "SELECT " + postColumns + R"( FROM "posts" WHERE ("published" = ?) AND )" + authorKeys(4));
    CHECK(titles(authors[0].publishedPosts) == Strings{"a1", "a3"});
    CHECK(authors[3].publishedPosts.empty());
    log.clear();
    ada.load<&Author::publishedPosts>();
    CHECK(log.entries[0].sql == "SELECT " + postColumns + R"( FROM "posts" WHERE ("published" = ?) AND )" + authorKeys(1));
    CHECK(titles(ada.publishedPosts) == Strings{"a1", "a3"});
  }
  SECTION("has, whereHas, withCount and loadCount") {
    const auto authors = Author::query(blog.db).has<&Author::publishedPosts>().withCount<&Author::publishedPosts>().all();
    CHECK(names(authors) == Strings{"ada", "bob"});
    CHECK(authors[0].extra<std::int64_t>("publishedPosts_count") == 2);
    CHECK(occurrences(log.entries[0].sql, R"(("published" = ?) AND "posts"."author_id" = "authors"."id")") == 2);
    CHECK(shown(log.entries[0].bindings) == Strings{"1", "1"});
    log.clear();
    const auto popular =
        Author::query(blog.db).whereHas<&Author::publishedPosts>([](auto& p) { p.template where<&Post::views>(">", 10); }).all();
    CHECK(names(popular) == Strings{"ada"});
    CHECK(log.entries[0].sql == "SELECT " + authorColumns +
                                    R"( FROM "authors" WHERE EXISTS (SELECT 1 FROM "posts" WHERE ("views" > ?))"
                                    R"( AND (("published" = ?) AND )" +
                                    postsOfAuthor + "))");
    CHECK(shown(log.entries[0].bindings) == Strings{"10", "1"});
    log.clear();
    blog.authors[3].loadCount<&Author::publishedPosts>();
    CHECK(blog.authors[3].extra<std::int64_t>("publishedPosts_count") == 0);
    CHECK(log.entries[0].sql == R"(SELECT count(*) FROM "posts" WHERE ("published" = ?) AND "author_id" = ?)");
  }
  SECTION("bulk update and delete touch only the rows the relation sees") {
    CHECK(ada.related<&Author::publishedPosts>().query().update(kith::set<&Post::views>(0)) == 2);
    CHECK(test::select(blog.db, "SELECT title, views FROM posts WHERE author_id = 1 ORDER BY id") ==
          std::vector<test::RawRow>{{"a1", "0"}, {"a2", "20"}, {"a3", "0"}});
    CHECK(blog.authors[3].related<&Author::publishedPosts>().query().remove() == 0);
    CHECK(test::rows(blog.db, "posts") == 6);
  }
  SECTION("the lookups of firstOrCreate see only what the relation sees") {
    // a2 is a draft: the published posts have no "a2", so one is created (published, as the payload says).
    const auto post = ada.related<&Author::publishedPosts>().firstOrCreate<&Post::title>({.title = "a2", .published = true});
    REQUIRE(log.entries[0].sql == test::beginSql());
    CHECK(log.entries[1 + test::createLocks()].sql == "SELECT " + postColumns +
                                                          R"( FROM "posts" WHERE ("title" = ?) AND (("published" = ?) AND "author_id" = ?))"
                                                          R"( LIMIT ?)");
    CHECK(post.published);
    CHECK(test::scalar(blog.db, "SELECT count(*) FROM posts WHERE title = 'a2'") == "2");
  }
  SECTION("an onQuery that does more than add conditions is refused") {
    CHECK_THROWS_WITH(ada.related<&Author::sortedPosts>().query(), test::Contains("kith: the onQuery of relation \"sortedPosts\" may only "
                                                                                  "add conditions"));
    CHECK_THROWS_WITH(Author::query(blog.db).has<&Author::sortedPosts>(), test::Contains("the onQuery of relation \"sortedPosts\""));
  }
}

TEST_CASE("relationship queries join on a custom local key", "[relationship-queries][portable]") {
  auto db = test::database();
  kith::createTables<blog::Team, blog::Member>(db);
  auto teams = blog::Team::createMany(db, {{.uuid = "t-1"}, {.uuid = "t-2"}, {.uuid = "t-3"}});
  // Team ids and uuids do not line up: a join on id would count the wrong rows.
  teams[1].related<&blog::Team::members>().createMany({{.name = "ann"}, {.name = "ben"}});
  teams[2].related<&blog::Team::members>().create({.name = "cat"});
  test::StatementLog log(db);

  const auto rows = blog::Team::query(db)
                        .has<&blog::Team::members>()
                        .withCount<&blog::Team::members>()
                        .whereDoesntHave<&blog::Team::members>([](auto& m) { m.template where<&blog::Member::name>("cat"); })
                        .all();
  const std::string join = R"("members"."team_uuid" = "teams"."uuid")";
  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == R"(SELECT "id", "uuid", (SELECT count(*) FROM "members" WHERE )" + join +
                                  R"() AS "members_count" FROM "teams" WHERE EXISTS (SELECT 1 FROM "members" WHERE )" + join +
                                  R"() AND NOT EXISTS (SELECT 1 FROM "members" WHERE ("name" = ?) AND ()" + join + "))");
  CHECK(shown(log.entries[0].bindings) == Strings{"'cat'"});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].uuid == "t-2");
  CHECK(rows[0].extra<std::int64_t>("members_count") == 2);

  teams[2].loadCount<&blog::Team::members>();
  CHECK(log.entries.back().sql == R"(SELECT count(*) FROM "members" WHERE "team_uuid" = ?)");
  CHECK(shown(log.entries.back().bindings) == Strings{"'t-3'"});
  CHECK(teams[2].extra<std::int64_t>("members_count") == 1);
}

TEST_CASE("loadCount on one instance", "[relationship-queries][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  auto& ada = blog.authors[0];

  ada.loadCount<&Author::posts>();
  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == R"(SELECT count(*) FROM "posts" WHERE "author_id" = ?)");
  CHECK(shown(log.entries[0].bindings) == Strings{std::to_string(ada.id)});
  CHECK(ada.extra<std::int64_t>("posts_count") == 3);
  CHECK_FALSE(ada.isDirty());

  log.clear();
  ada.loadCount<&Author::posts, &Author::postsCount>([](auto& p) { p.template where<&Post::published>(true); });
  CHECK(log.entries[0].sql == R"(SELECT count(*) FROM "posts" WHERE ("published" = ?) AND ("author_id" = ?))");
  CHECK(ada.postsCount == 2);

  ada.loadCount<&Author::posts>("big", [](auto& p) { p.template where<&Post::views>(">=", 20); });
  CHECK(ada.extra<std::int64_t>("big") == 2);
  ada.loadCount<&Author::mentees>();
  CHECK(ada.extra<std::int64_t>("mentees_count") == 2);

  // A new count replaces the old one.
  ada.related<&Author::posts>().create({.title = "a4"});
  ada.loadCount<&Author::posts>();
  CHECK(ada.extra<std::int64_t>("posts_count") == 4);
  CHECK(ada.extras().size() == 3);

  Author fresh{.name = "new"};
  CHECK_THROWS_WITH(fresh.loadCount<&Author::posts>(),
                    "kith: cannot count the related rows of an unpersisted model instance; save it first");
  CHECK_THROWS_WITH(ada.loadCount<&Author::posts>("", [](auto&) {}), "kith: loadCount() needs a non-empty alias");
}
