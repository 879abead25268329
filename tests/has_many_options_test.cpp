// Declaring HasMany: default and custom keys, several relations to one type, a self relation, and
// the loaded/not-loaded distinction.
#include "blog_models.hpp"

using namespace blog;

TEST_CASE("the default foreign key is camelCase(parent type + primary key), the local key is the primary key",
          "[has-many][options][portable]") {
  using Info = kith::detail::RelationInfo<&User::posts>;
  STATIC_REQUIRE(Info::foreignKey == "userId");
  STATIC_REQUIRE(Info::ownerKey == "id");  // the local key
  auto db = database();
  auto u = User::create(db, user("a@b"));
  CHECK(u.related<&User::posts>().query().toSql() ==
        R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE "user_id" = ?)");
}

TEST_CASE("a custom foreign key, and a second relation to the same type", "[has-many][options][portable]") {
  auto db = database();
  auto u = User::create(db, user("a@b"));
  u.related<&User::posts>().create(post("Written"));
  auto edited = post("Edited");
  edited.userId = 99;  // another author; u is its editor
  u.related<&User::editedPosts>().save(edited);
  CHECK(edited.editorId == std::optional<std::int64_t>(u.id));
  CHECK(edited.userId == 99);
  CHECK(u.related<&User::posts>().query().count() == 1);
  CHECK(u.related<&User::editedPosts>().query().count() == 1);
  CHECK(u.related<&User::editedPosts>().query().toSql().ends_with(R"(WHERE "editor_id" = ?)"));
}

TEST_CASE("a custom local key", "[has-many][options][portable]") {
  auto db = database();
  auto team = Team::create(db, Team{{}, 0, "4f2a-team", {}});
  auto members = team.related<&Team::members>().createMany({Member{{}, 0, "", "Ada"}, Member{{}, 0, "ignored", "Grace"}});
  CHECK(members[0].teamUuid == "4f2a-team");
  CHECK(members[1].teamUuid == "4f2a-team");
  test::StatementLog log(db);
  auto teams = Team::query(db).preload<&Team::members>().all();
  REQUIRE(teams.size() == 1);
  REQUIRE(teams[0].members.size() == 2);
  CHECK(teams[0].members[1].name == "Grace");
  CHECK(log.sql().back() == R"(SELECT "id", "team_uuid", "name" FROM "members" WHERE )" + test::keysIn(R"("team_uuid")", 1));
  CHECK(log.entries.back().bindings == std::vector<kith::Value>{std::string(test::onPostgres() ? R"({"4f2a-team"})" : "4f2a-team")});
}

TEST_CASE("a self relation: a user has many users by parentId", "[has-many][options][portable]") {
  auto db = database();
  auto root = User::create(db, user("root@b"));
  auto kids = root.related<&User::children>().createMany({user("kid1@b"), user("kid2@b")});
  CHECK(kids[0].parentId == std::optional<std::int64_t>(root.id));
  auto loaded = User::query(db).whereNull<&User::parentId>().preload<&User::children>().all();
  REQUIRE(loaded.size() == 1);
  REQUIRE(loaded[0].children.size() == 2);
  CHECK(loaded[0].children[0].email == "kid1@b");
  CHECK(loaded[0].children[1].children.isLoaded() == false);
}

TEST_CASE("a relation never loaded is not the same as loaded and empty", "[has-many][options][portable]") {
  auto db = database();
  User::create(db, user("a@b"));
  auto plain = User::findOrFail(db, 1);
  CHECK_FALSE(plain.posts.isLoaded());
  CHECK_THROWS_AS(plain.posts.empty(), kith::UsageError);  // not an empty list
  auto preloaded = User::query(db).preload<&User::posts>().firstOrFail();
  CHECK(preloaded.posts.isLoaded());
  CHECK(preloaded.posts.empty());
  CHECK(preloaded.posts.size() == 0);
  CHECK(preloaded.posts.begin() == preloaded.posts.end());
}
