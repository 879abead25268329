// Naming defaults (table, column, primary key) and their overrides, checked in the SQL kith sends.
#include "support.hpp"

namespace names {

struct BlogPost : kith::BaseModel<BlogPost> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string HTTPStatus;
  static constexpr auto columns = kith::columns<&BlogPost::id, &BlogPost::authorId, &BlogPost::HTTPStatus>;
};

struct Category : kith::BaseModel<Category> {
  std::int64_t id{};
  static constexpr auto columns = kith::columns<&Category::id>;
};

struct Person : kith::BaseModel<Person> {
  std::int64_t id{};
  std::string emailAddress;
  std::string nickName;
  static constexpr std::string_view table = "persons";
  static constexpr kith::ColumnName columnNames[] = {{"emailAddress", "mail"}};
  static constexpr auto columns = kith::columns<&Person::id, &Person::emailAddress, &Person::nickName>;
};

struct Country : kith::BaseModel<Country> {
  std::string code;
  std::string name;
  static constexpr auto primaryKey = &Country::code;
  static constexpr auto columns = kith::columns<&Country::code, &Country::name>;
};

}  // namespace names

using namespace names;

TEST_CASE("table names are plural snake_case of the type name", "[names][portable]") {
  STATIC_REQUIRE(kith::detail::Meta<BlogPost>::table == "blog_posts");
  STATIC_REQUIRE(kith::detail::Meta<Category>::table == "categories");
  STATIC_REQUIRE(kith::detail::Meta<test::User>::table == "users");
  auto db = test::database();
  CHECK(BlogPost::query(db).toSql() == R"(SELECT "id", "author_id", "http_status" FROM "blog_posts")");
}

namespace names {

struct BookShelf : kith::BaseModel<BookShelf> {
  std::int64_t id{};
  static constexpr auto columns = kith::columns<&BookShelf::id>;
};

}  // namespace names

TEST_CASE("default table names are Lucid's: irregular and uncountable words, -f, -is, -us, -o, and compounds", "[names][portable]") {
  // Each name as Lucid's naming strategy gives it (pluralize 8 on the snake_case type name).
  constexpr std::pair<std::string_view, std::string_view> lucid[] = {{"Shelf", "shelves"},
                                                                     {"BookShelf", "book_shelves"},
                                                                     {"Person", "people"},
                                                                     {"SalesPerson", "sales_people"},
                                                                     {"Child", "children"},
                                                                     {"GrandChild", "grand_children"},
                                                                     {"Leaf", "leaves"},
                                                                     {"Knife", "knives"},
                                                                     {"Wife", "wives"},
                                                                     {"Analysis", "analyses"},
                                                                     {"Axis", "axes"},
                                                                     {"Sheep", "sheep"},
                                                                     {"BlackSheep", "black_sheep"},
                                                                     {"GoldFish", "gold_fish"},
                                                                     {"Information", "information"},
                                                                     {"UserInformation", "user_informations"},
                                                                     {"Status", "statuses"},
                                                                     {"Bus", "buses"},
                                                                     {"Address", "addresses"},
                                                                     {"Settings", "settings"},
                                                                     {"News", "news"},
                                                                     {"Canvas", "canvas"},
                                                                     {"Quiz", "quizzes"},
                                                                     {"BookQuiz", "book_quizs"},
                                                                     {"Waltz", "waltzs"},
                                                                     {"Hero", "heroes"},
                                                                     {"Potato", "potatoes"},
                                                                     {"Photo", "photos"},
                                                                     {"Echo", "echoes"},
                                                                     {"Virus", "viri"},
                                                                     {"Cactus", "cacti"},
                                                                     {"Index", "indices"},
                                                                     {"Matrix", "matrices"},
                                                                     {"Datum", "data"},
                                                                     {"Criterion", "criteria"},
                                                                     {"Schema", "schemata"},
                                                                     {"Mouse", "mice"},
                                                                     {"FieldMouse", "field_mouses"},
                                                                     {"Woman", "women"},
                                                                     {"SalesMan", "sales_men"},
                                                                     {"Human", "humans"},
                                                                     {"Money", "monies"},
                                                                     {"Soliloquy", "soliloquies"},
                                                                     {"Category", "categories"},
                                                                     {"Day", "days"},
                                                                     {"Box", "boxes"},
                                                                     {"Church", "churches"},
                                                                     {"Wish", "wishes"},
                                                                     {"User2", "user2s"},
                                                                     {"Japanese", "japanese"},
                                                                     {"Media", "media"},
                                                                     {"Species", "species"},
                                                                     {"Ox", "oxen"}};
  for (const auto& [type, table] : lucid) {
    CAPTURE(type);
    CHECK(kith::detail::tableNameFor<64>(type).view() == table);
  }
  STATIC_REQUIRE(kith::detail::Meta<BookShelf>::table == "book_shelves");
  auto db = test::database();
  kith::createTables<BookShelf>(db);
  CHECK(BookShelf::query(db).toSql() == R"(SELECT "id" FROM "book_shelves")");
  CHECK(test::rows(db, "book_shelves") == 0);
}

TEST_CASE("each plural rule's quick filter holds exactly the letters its matches end in", "[names]") {
  using kith::detail::plural::Rule;
  // The letters a name matching `rule` ends in: each ending's last, or for an empty ending each
  // stem's last (a letter, never a [..] class).
  const auto lastLetters = [](const Rule& rule) {
    unsigned bits = 0;
    const auto each = [](std::string_view list, auto f) {
      for (std::size_t at = 0; at != std::string_view::npos;) f(kith::detail::plural::nextAlternative(list, at));
    };
    each(rule.endings, [&](std::string_view ending) {
      if (!ending.empty()) return void(bits |= 1u << (ending.back() - 'a'));
      each(rule.stems, [&](std::string_view stem) {
        REQUIRE(stem.back() >= 'a');
        REQUIRE(stem.back() <= 'z');
        bits |= 1u << (stem.back() - 'a');
      });
    });
    return bits;
  };
  for (const Rule& rule : kith::detail::plural::rules) {
    CAPTURE(rule.stems, rule.endings);
    CHECK(rule.last == lastLetters(rule));
  }
}

TEST_CASE("column names are snake_case of the property, property names come from member pointers", "[names][portable]") {
  STATIC_REQUIRE(kith::detail::Meta<BlogPost>::properties[1] == "authorId");
  STATIC_REQUIRE(kith::detail::Meta<BlogPost>::columns[1] == "author_id");
  STATIC_REQUIRE(kith::detail::Meta<BlogPost>::columns[2] == "http_status");
}

TEST_CASE("a model overrides its table and single column names", "[names][portable]") {
  auto db = test::database();
  kith::createTables<Person>(db);
  auto p = Person::create(db, Person{{}, 0, "ada@example.com", "Ada"});
  CHECK(Person::query(db).where<&Person::emailAddress>("ada@example.com").toSql() ==
        R"(SELECT "id", "mail", "nick_name" FROM "persons" WHERE "mail" = ?)");
  CHECK(test::rows(db, "persons") == 1);
  CHECK(Person::findOrFail(db, p.id).emailAddress == "ada@example.com");
}

TEST_CASE("a model overrides its primary key, a text key is not generated", "[names][portable]") {
  auto db = test::database();
  kith::createTables<Country>(db);
  test::StatementLog log(db);
  Country fr{{}, "FR", "France"};
  fr.save(db);
  CHECK(log.sql().back() == R"(INSERT INTO "countries" ("code", "name") VALUES (?, ?))");
  fr.name = "République française";
  fr.save();
  CHECK(log.sql().back() == R"(UPDATE "countries" SET "name" = ? WHERE "code" = ?)");
  CHECK(Country::findOrFail(db, "FR").name == "République française");
  CHECK_FALSE(Country::find(db, "DE").has_value());
}

TEST_CASE("the default foreign key is camelCase of the parent type name and its primary key", "[names][portable]") {
  STATIC_REQUIRE(kith::detail::foreignKeyFor<32>("User", "id").view() == "userId");
  STATIC_REQUIRE(kith::detail::foreignKeyFor<32>("BlogPost", "id").view() == "blogPostId");
  STATIC_REQUIRE(kith::detail::foreignKeyFor<32>("User", "uuid").view() == "userUuid");
}
