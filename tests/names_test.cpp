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
  static constexpr std::string_view table = "people";
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
        R"(SELECT "id", "mail", "nick_name" FROM "people" WHERE "mail" = ?)");
  CHECK(test::rows(db, "people") == 1);
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
