// HasOne: preload (2 statements, which row wins when there are several), load, the nullable
// member with value semantics, relationship queries, and the client: query, create, save,
// firstOrCreate, updateOrCreate with HasMany's atomicity.
#include "people_models.hpp"

using namespace people;

namespace {

Profile profile(std::string bio) {
  Profile p;
  p.bio = std::move(bio);
  return p;
}

/// `users` users; every other one with a profile.
kith::Connection seeded(int users) {
  auto db = database();
  std::vector<User> us;
  for (int i = 0; i < users; ++i) us.push_back(user("u" + std::to_string(i) + "@b"));
  us = User::createMany(db, us);
  std::vector<Profile> ps;
  for (std::size_t i = 0; i < us.size(); i += 2) {
    auto p = profile("bio of " + us[i].email);
    p.userId = us[i].id;
    ps.push_back(p);
  }
  Profile::createMany(db, ps);
  return db;
}

const std::string profileColumns = R"(SELECT "id", "user_id", "bio" FROM "profiles")";

}  // namespace

TEST_CASE("HasOne's keys default as HasMany's", "[has-one][options][portable]") {
  using Info = kith::detail::RelationInfo<&User::profile>;
  STATIC_REQUIRE(Info::foreignKey == "userId");
  STATIC_REQUIRE(Info::ownerKey == "id");
  auto db = seeded(1);
  auto u = User::query(db).firstOrFail();
  const auto q = u.related<&User::profile>().query();
  CHECK(q.toSql() == profileColumns + R"( WHERE "user_id" = ?)");
  REQUIRE(q.first());
  CHECK(q.first()->bio == "bio of u0@b");
}

TEST_CASE("preloading a HasOne runs 2 statements for any number of parents", "[has-one][preload][portable]") {
  for (int users : {1, 7, 300}) {
    auto db = seeded(users);
    test::StatementLog log(db);
    const auto loaded = User::query(db).orderBy<&User::id>().preload<&User::profile>().all();
    CHECK(log.count() == 2);
    REQUIRE(loaded.size() == static_cast<std::size_t>(users));
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      REQUIRE(loaded[i].profile.isLoaded());
      if (i % 2 == 0) {
        REQUIRE(loaded[i].profile);
        CHECK(loaded[i].profile->bio == "bio of " + loaded[i].email);
        CHECK(loaded[i].profile->userId == loaded[i].id);
      } else {
        CHECK_FALSE(loaded[i].profile);  // loaded, none
      }
    }
  }
  auto db = seeded(3);
  test::StatementLog log(db);
  User::query(db).orderBy<&User::id>().preload<&User::profile>().all();
  CHECK(log.entries[1].sql == profileColumns + " WHERE " + test::keysIn(R"("user_id")", 4));
  CHECK(log.entries[1].bindings == test::keyBindings({1, 2, 3, 3}));
}

TEST_CASE("with several related rows for one parent, the lowest primary key wins unless the preload orders them",
          "[has-one][preload][portable]") {
  auto db = seeded(1);
  auto u = User::query(db).firstOrFail();
  // Three profiles for the same user, inserted out of key order (PostgreSQL returns them in that
  // order, SQLite in key order).
  db.execute("DELETE FROM profiles");
  db.execute("INSERT INTO profiles (id, user_id, bio) VALUES (50, ?, 'fifty'), (20, ?, 'twenty'), (30, ?, 'thirty')", u.id, u.id, u.id);
  const auto byKey = User::query(db).preload<&User::profile>().firstOrFail();
  REQUIRE(byKey.profile);
  CHECK(byKey.profile->bio == "twenty");
  const auto ordered = User::query(db).preload<&User::profile>([](auto& q) { q.template orderBy<&Profile::id>(kith::desc); }).firstOrFail();
  REQUIRE(ordered.profile);
  CHECK(ordered.profile->bio == "fifty");
  // firstOrCreate picks the same row as preload.
  CHECK(u.related<&User::profile>().firstOrCreate<>(profile("unused")).bio == "twenty");
  CHECK(test::rows(db, "profiles") == 3);
  CHECK_THROWS_WITH(User::query(db).preload<&User::profile>([](auto& q) { q.groupLimit(1); }).all(),
                    test::Contains("cannot apply groupLimit or groupOrderBy to \"profile\": it holds at most one Profile"));
}

TEST_CASE("load<...>() and nested preloads on a HasOne", "[has-one][preload][portable]") {
  auto db = seeded(2);
  auto u = User::query(db).orderBy<&User::id>().firstOrFail();
  test::StatementLog log(db);
  u.load<&User::profile>();
  CHECK(log.count() == 1);
  REQUIRE(u.profile);
  log.clear();
  const auto profiles = Profile::query(db).preload<&Profile::user>([](auto& q) { q.template preload<&User::profile>(); }).all();
  CHECK(log.count() == 3);
  REQUIRE(profiles.size() == 1);
  REQUIRE(profiles[0].user);
  REQUIRE(profiles[0].user->profile);
  CHECK(profiles[0].user->profile->id == profiles[0].id);
}

TEST_CASE("copying a parent copies its HasOne model", "[has-one][portable]") {
  auto db = seeded(1);
  auto u = User::query(db).preload<&User::profile>().firstOrFail();
  User copy = u;
  REQUIRE(copy.profile);
  CHECK(copy.profile.get() != u.profile.get());
  copy.profile->bio = "changed";
  CHECK(u.profile->bio == "bio of u0@b");
  User moved = std::move(copy);
  CHECK(moved.profile->bio == "changed");
  User never;
  CHECK_FALSE(never.profile.isLoaded());
}

TEST_CASE("has, doesntHave, whereHas and withCount on a HasOne", "[has-one][relationship-queries][portable]") {
  auto db = seeded(4);
  auto q = User::query(db).has<&User::profile>();
  CHECK(
      q.toSql() ==
      R"(SELECT "id", "email", "manager_id" FROM "users" WHERE EXISTS (SELECT 1 FROM "profiles" WHERE "profiles"."user_id" = "users"."id"))");
  CHECK(q.count() == 2);
  CHECK(User::query(db).doesntHave<&User::profile>().count() == 2);
  CHECK(User::query(db).whereHas<&User::profile>([](auto& p) { p.template where<&Profile::bio>("bio of u2@b"); }).count() == 1);
  const auto counted = User::query(db).orderBy<&User::id>().withCount<&User::profile>().all();
  CHECK(counted[0].extra<std::int64_t>("profile_count") == 1);
  CHECK(counted[1].extra<std::int64_t>("profile_count") == 0);
}

TEST_CASE("create saves a new parent first, sets the foreign key, and updates a loaded relation", "[has-one][write][portable]") {
  auto db = database();
  auto u = user("new@b");
  u.useConnection(db);
  test::StatementLog log(db);
  auto p = u.related<&User::profile>().create(profile("Hi"));
  CHECK(log.sql() == test::statements({{test::beginSql(), test::insertOne(R"(INSERT INTO "users" ("email", "manager_id") VALUES (?, ?))")},
                                       test::insertMany(R"(INSERT INTO "profiles" ("user_id", "bio") VALUES (?, ?))"),
                                       {"COMMIT"}}));
  CHECK(u.isPersisted());
  CHECK(p.isPersisted());
  CHECK(p.userId == u.id);
  CHECK_FALSE(u.profile.isLoaded());  // never loaded: stays so

  u.load<&User::profile>();
  auto other = Profile::create(db, [&] {
    auto o = profile("other");
    o.userId = 999;
    return o;
  }());
  u.related<&User::profile>().save(other);  // moves it to this user
  CHECK(other.userId == u.id);
  REQUIRE(u.profile);
  CHECK(u.profile->id == other.id);
  CHECK(test::scalar(db, "SELECT count(*) FROM profiles WHERE user_id = " + std::to_string(u.id)) == "2");
}

TEST_CASE("a HasOne write that fails leaves tables and objects as they were", "[has-one][write][bad-input][portable]") {
  auto db = database();
  auto u = user("new@b");
  u.useConnection(db);
  auto bad = profile("");  // breaks the CHECK on bio
  CHECK_THROWS_AS(u.related<&User::profile>().save(bad), kith::ConstraintError);
  CHECK_FALSE(u.isPersisted());
  CHECK(u.id == 0);
  CHECK_FALSE(bad.isPersisted());
  CHECK(bad.userId == 0);
  CHECK(test::rows(db, "users") == 0);
  CHECK(test::rows(db, "profiles") == 0);
  CHECK_THROWS_AS(u.related<&User::profile>().create(profile("")), kith::ConstraintError);
  CHECK(test::rows(db, "users") == 0);
  CHECK_THROWS_AS(u.related<&User::profile>().firstOrCreate<>(profile("")), kith::ConstraintError);
  CHECK_FALSE(u.isPersisted());
  CHECK(test::rows(db, "users") == 0);
}

TEST_CASE("firstOrCreate<>() gives the parent's related row, creating it once, and updateOrCreate updates it",
          "[has-one][write][portable]") {
  auto db = database();
  auto u = User::create(db, user("a@b"));
  u.load<&User::profile>();
  test::StatementLog log(db);
  auto first = u.related<&User::profile>().firstOrCreate<>(profile("first"));
  CHECK(log.sql() == test::statements({{test::beginSql()},
                                       test::createLock(),
                                       {profileColumns + R"( WHERE "user_id" = ? ORDER BY "id" ASC LIMIT ?)",
                                        test::insertOne(R"(INSERT INTO "profiles" ("user_id", "bio") VALUES (?, ?))"), "COMMIT"}}));
  REQUIRE(u.profile);
  CHECK(u.profile->bio == "first");
  auto again = u.related<&User::profile>().firstOrCreate<>(profile("second"));
  CHECK(again.id == first.id);
  CHECK(again.bio == "first");
  CHECK(test::rows(db, "profiles") == 1);

  auto updated = u.related<&User::profile>().updateOrCreate<>(profile("updated"));
  CHECK(updated.id == first.id);
  CHECK(test::scalar(db, "SELECT bio FROM profiles") == "updated");
  REQUIRE(u.profile);
  CHECK(u.profile->bio == "updated");  // the loaded member follows the update
  // With a search column: a row matching it, or a new one.
  auto searched = u.related<&User::profile>().firstOrCreate<&Profile::bio>(profile("other"));
  CHECK(searched.id != first.id);
  CHECK(test::rows(db, "profiles") == 2);
}

TEST_CASE("a HasOne on a custom local key", "[has-one][options][portable]") {
  auto db = database();
  auto club = Club::create(db, people::club("go"));
  Membership m;
  m.name = "Bo";
  club.related<&Club::membership>().save(m);
  CHECK(m.clubCode == "go");
  const auto clubs = Club::query(db).preload<&Club::membership>().all();
  REQUIRE(clubs[0].membership);
  CHECK(clubs[0].membership->name == "Bo");
}
