// HasManyThrough: a country's articles through its authors. The read SQL (the relation's condition
// in its own group, which Lucid's leaks), preload in one statement, groupLimit, nested preloads,
// has/whereHas/withCount/loadCount, bulk update and remove through the join, custom keys and a
// NULL local key.
#include "support.hpp"

using test::titles;

namespace {

struct Author;
struct Article;

struct Country : kith::BaseModel<Country> {
  std::int64_t id{};
  std::optional<std::string> code;
  std::string name;
  kith::HasManyThrough<Article, Author> articles;  // Author::countryId -> Country::id, Article::authorId -> Author::id
  kith::HasManyThrough<Article, Author, kith::through{.localKey = "code", .foreignKey = "countryCode"}> articlesByCode;
  std::int64_t articleCount = 0;  // not a column: receives withCount

  static constexpr auto columns = kith::columns<&Country::id, &Country::code, &Country::name>;
};

struct Author : kith::BaseModel<Author> {
  std::int64_t id{};
  std::optional<std::int64_t> countryId;
  std::optional<std::string> countryCode;
  std::string name;

  static constexpr auto columns = kith::columns<&Author::id, &Author::countryId, &Author::countryCode, &Author::name>;
};

struct Article : kith::BaseModel<Article> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string title;
  std::int64_t views{};
  kith::BelongsTo<Author> author;

  static constexpr auto columns = kith::columns<&Article::id, &Article::authorId, &Article::title, &Article::views>;
};

constexpr const char* articleColumns = R"("articles"."id", "articles"."author_id", "articles"."title", "articles"."views")";
constexpr const char* joinAuthors = R"( FROM "articles" INNER JOIN "authors" ON "authors"."id" = "articles"."author_id")";

/// France (fr): ann (a, 5 views; b, 50) and bea (c, 20); Germany (de): carl (a, 7); Peru (no code):
/// no authors; dan has no country.
struct World {
  kith::Connection db = [] {
    auto db = test::database();
    kith::createTables<Country, Author, Article>(db);
    return db;
  }();
  Country france = country(db, "fr", "France");
  Country germany = country(db, "de", "Germany");
  Country peru = country(db, std::nullopt, "Peru");
  World() {
    const auto ann = Author::create(db, Author{{}, 0, france.id, "fr", "ann"});
    const auto bea = Author::create(db, Author{{}, 0, france.id, "fr", "bea"});
    const auto carl = Author::create(db, Author{{}, 0, germany.id, "de", "carl"});
    const auto dan = Author::create(db, Author{{}, 0, std::nullopt, std::nullopt, "dan"});
    Article::createMany(db, {article(ann.id, "a", 5), article(ann.id, "b", 50), article(bea.id, "c", 20), article(carl.id, "a", 7),
                             article(dan.id, "d", 1)});
  }
  static Country country(const kith::Connection& db, std::optional<std::string> code, std::string name) {
    Country c;
    c.code = std::move(code);
    c.name = std::move(name);
    c.save(db);
    return c;
  }
  static Article article(std::int64_t author, std::string title, std::int64_t views) {
    Article a;
    a.authorId = author;
    a.title = std::move(title);
    a.views = views;
    return a;
  }
};

}  // namespace

TEST_CASE("HasManyThrough's query joins the intermediate table and keeps its condition in its own group",
          "[has-many-through][read][portable]") {
  World w;
  test::StatementLog log(w.db);
  auto q = w.france.related<&Country::articles>().query().where<&Article::title>("a").orWhere<&Article::title>("c").orderBy<&Article::id>();
  CHECK(q.toSql() ==
        std::string("SELECT ") + articleColumns + joinAuthors +
            R"( WHERE ("articles"."title" = ? OR "articles"."title" = ?) AND ("authors"."country_id" = ?) ORDER BY "articles"."id" ASC)");
  // Germany's "a" stays out: Lucid's HasManyThrough reads `a OR (c AND country)` here.
  CHECK(titles(q.all()) == std::vector<std::string>{"a", "c"});
  CHECK(log.count() == 1);
  CHECK(titles(w.germany.related<&Country::articles>().query().all()) == std::vector<std::string>{"a"});
  CHECK(w.peru.related<&Country::articles>().query().count() == 0);
}

TEST_CASE("preloading a HasManyThrough is one statement for every parent, nested preloads included",
          "[has-many-through][preload][portable]") {
  World w;
  test::StatementLog log(w.db);
  const auto countries =
      Country::query(w.db)
          .orderBy<&Country::id>()
          .preload<&Country::articles>([](auto& q) { q.template orderBy<&Article::id>().template preload<&Article::author>(); })
          .all();
  REQUIRE(countries.size() == 3);
  CHECK(titles(countries[0].articles) == std::vector<std::string>{"a", "b", "c"});
  CHECK(titles(countries[1].articles) == std::vector<std::string>{"a"});
  CHECK(countries[2].articles.isLoaded());
  CHECK(countries[2].articles.empty());
  CHECK(countries[0].articles[2].author->name == "bea");
  REQUIRE(log.count() == 3);  // countries, articles, authors
  CHECK(test::Contains(std::string("SELECT ") + articleColumns + R"(, "authors"."country_id" AS "through_country_id")" + joinAuthors +
                       R"( WHERE "authors"."country_id" )")
            .match(log.entries[1].sql));
  // The key is read beside the row, not kept on it: no extra to allocate per row.
  CHECK(countries[1].articles[0].extras().empty());

  log.clear();
  Country germany = *Country::find(w.db, w.germany.id);
  germany.load<&Country::articles>();
  CHECK(titles(germany.articles) == std::vector<std::string>{"a"});
  CHECK(log.count() == 2);
}

TEST_CASE("groupLimit in a HasManyThrough preload partitions by the intermediate table's key", "[has-many-through][preload][portable]") {
  World w;
  test::StatementLog log(w.db);
  const auto countries =
      Country::query(w.db)
          .orderBy<&Country::id>()
          .preload<&Country::articles>([](auto& q) { q.groupLimit(1).template groupOrderBy<&Article::views>(kith::desc); })
          .all();
  CHECK(titles(countries[0].articles) == std::vector<std::string>{"b"});
  CHECK(titles(countries[1].articles) == std::vector<std::string>{"a"});
  CHECK(countries[2].articles.empty());
  REQUIRE(log.count() == 2);
  CHECK(test::Contains(R"(row_number() OVER (PARTITION BY "authors"."country_id" ORDER BY "articles"."views" DESC))")
            .match(log.entries[1].sql));
}

TEST_CASE("has, whereHas, withCount and loadCount on a HasManyThrough", "[has-many-through][relationship-queries][portable]") {
  World w;
  auto q = Country::query(w.db).whereHas<&Country::articles>([](auto& a) { a.template where<&Article::views>(">", 10); });
  CHECK(q.toSql() ==
        std::string(R"(SELECT "id", "code", "name" FROM "countries" WHERE EXISTS (SELECT 1 FROM "articles" INNER JOIN "authors" ON )") +
            R"("authors"."id" = "articles"."author_id" WHERE ("articles"."views" > ?) AND ("authors"."country_id" = "countries"."id")))");
  const auto busy = q.all();
  REQUIRE(busy.size() == 1);
  CHECK(busy[0].name == "France");
  CHECK(Country::query(w.db).has<&Country::articles>().count() == 2);
  CHECK(Country::query(w.db).doesntHave<&Country::articles>().first()->name == "Peru");
  CHECK(Country::query(w.db).has<&Country::articles>(">=", 3).first()->name == "France");

  const auto counted = Country::query(w.db).orderBy<&Country::id>().withCount<&Country::articles, &Country::articleCount>().all();
  CHECK(counted[0].articleCount == 3);
  CHECK(counted[1].articleCount == 1);
  CHECK(counted[2].articleCount == 0);

  // An aggregate over a column both joined tables have ("id"): qualified in the subquery.
  const auto newest =
      Country::query(w.db).orderBy<&Country::id>().withAggregate<&Country::articles>(kith::max<&Article::id>(), "newest").all();
  CHECK(newest[0].extra<std::int64_t>("newest") == 3);
  CHECK(newest[1].extra<std::int64_t>("newest") == 4);
  CHECK_FALSE(newest[2].extra<std::optional<std::int64_t>>("newest").has_value());

  Country germany = w.germany;
  germany.loadCount<&Country::articles>();
  CHECK(germany.extra<std::int64_t>("articles_count") == 1);
}

TEST_CASE("update and remove through a HasManyThrough's query touch only that parent's related rows",
          "[has-many-through][bulk][portable]") {
  World w;
  test::StatementLog log(w.db);
  CHECK(w.france.related<&Country::articles>().query().where<&Article::title>("a").update(kith::set<&Article::views>(0)) == 1);
  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == std::string(R"(UPDATE "articles" SET "views" = ? WHERE "articles"."id" IN (SELECT "articles"."id")") +
                                  joinAuthors + R"( WHERE ("articles"."title" = ?) AND ("authors"."country_id" = ?)))");
  CHECK(Article::query(w.db).where<&Article::title>("a").where<&Article::views>(0).count() == 1);  // Germany's "a" keeps 7
  CHECK(w.france.related<&Country::articles>().query().where<&Article::views>("<", 30).remove() == 2);
  CHECK(titles(Article::query(w.db).orderBy<&Article::id>().all()) == std::vector<std::string>{"b", "a", "d"});
  CHECK(test::rows(w.db, "authors") == 4);
}

TEST_CASE("HasManyThrough with named keys, and a parent whose local key is NULL", "[has-many-through][options][portable]") {
  World w;
  test::StatementLog log(w.db);
  CHECK(w.france.related<&Country::articlesByCode>().query().toSql() ==
        std::string("SELECT ") + articleColumns + joinAuthors + R"( WHERE "authors"."country_code" = ?)");
  CHECK(w.france.related<&Country::articlesByCode>().query().count() == 3);
  // Peru has no code: no related rows, where Lucid raises.
  CHECK(w.peru.related<&Country::articlesByCode>().query().all().empty());
  log.clear();
  const auto countries = Country::query(w.db).orderBy<&Country::id>().preload<&Country::articlesByCode>().all();
  CHECK(titles(countries[0].articlesByCode).size() == 3);
  CHECK(titles(countries[1].articlesByCode) == std::vector<std::string>{"a"});
  CHECK(countries[2].articlesByCode.isLoaded());
  CHECK(countries[2].articlesByCode.empty());
  CHECK(log.count() == 2);
  Country peru = w.peru;
  peru.loadCount<&Country::articlesByCode>();
  CHECK(peru.extra<std::int64_t>("articlesByCode_count") == 0);
}

TEST_CASE("a HasManyThrough on an unsaved parent, and on a parent whose key was not selected, is refused",
          "[has-many-through][bad-input][portable]") {
  World w;
  test::StatementLog log(w.db);
  Country fresh;
  fresh.name = "Nowhere";
  CHECK_THROWS_WITH(fresh.related<&Country::articles>(w.db).query(),
                    "kith: cannot select \"articles\", value of \"Country.id\" is undefined");
  CHECK_THROWS_WITH(Country::query(w.db).select<&Country::name>().preload<&Country::articles>().all(),
                    "kith: cannot preload \"articles\", value of \"Country.id\" is undefined");
  CHECK(log.count() == 1);  // the countries' SELECT; no articles query
}

namespace {
struct IndexedCountry : kith::BaseModel<IndexedCountry> {
  static constexpr std::string_view table = "indexed_countries";
  std::int64_t id{};
  kith::HasManyThrough<Article, Author, kith::through{.foreignKey = "countryId"}> articles;
  static constexpr auto columns = kith::columns<&IndexedCountry::id>;
  static constexpr auto relations = kith::relations<&IndexedCountry::articles>;
};
}  // namespace

TEST_CASE("createTables indexes a listed HasManyThrough's foreign key on the intermediate model", "[has-many-through][schema][portable]") {
  auto db = test::database();
  test::StatementLog log(db);
  kith::createTables<IndexedCountry, Author, Article>(db);
  const auto sql = log.sql();
  CHECK(std::find(sql.begin(), sql.end(), R"(CREATE INDEX IF NOT EXISTS "authors_country_id_index" ON "authors" ("country_id"))") !=
        sql.end());
  CHECK(IndexedCountry::query(db).has<&IndexedCountry::articles>().count() == 0);
}
