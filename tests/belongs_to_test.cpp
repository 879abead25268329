// BelongsTo: default and custom keys, the nullable handle, preload (shared owners, NULL foreign
// keys, nesting both ways), relationship queries, and the client: query, associate, dissociate.
#include "people_models.hpp"

#include <set>

using namespace people;

namespace {

/// `users` users with `postsEach` posts each, plus `orphans` posts without an author.
kith::Connection seeded(int users, int postsEach, int orphans = 0) {
  auto db = database();
  std::vector<User> us;
  for (int i = 0; i < users; ++i) us.push_back(user("u" + std::to_string(i) + "@b"));
  us = User::createMany(db, us);
  std::vector<Post> ps;
  for (int k = 0; k < postsEach; ++k)
    for (auto& u : us) ps.push_back(post(u.email + " post " + std::to_string(k), u.id));
  for (int k = 0; k < orphans; ++k) ps.push_back(post("orphan " + std::to_string(k)));
  Post::createMany(db, ps);
  return db;
}

const std::string userColumns = R"(SELECT "id", "email", "manager_id" FROM "users")";

}  // namespace

TEST_CASE("BelongsTo's default foreign key is camelCase(related type + primary key) on the declaring model",
          "[belongs-to][options][portable]") {
  using Info = kith::detail::RelationInfo<&Post::author>;
  STATIC_REQUIRE(Info::foreignKey == "userId");
  STATIC_REQUIRE(Info::ownerKey == "id");
  using Custom = kith::detail::RelationInfo<&Membership::club>;
  STATIC_REQUIRE(Custom::foreignKey == "clubCode");
  STATIC_REQUIRE(Custom::ownerKey == "code");

  auto db = database();
  auto u = User::create(db, user("a@b"));
  auto p = Post::create(db, post("Hello", u.id));
  const auto q = p.related<&Post::author>().query();
  CHECK(q.toSql() == userColumns + R"( WHERE "id" = ?)");
  CHECK(q.bindings() == std::vector<kith::Value>{u.id});
  REQUIRE(q.first());
  CHECK(q.first()->email == "a@b");
}

TEST_CASE("a BelongsTo never loaded, loaded without an owner, and loaded with one are told apart", "[belongs-to][portable]") {
  auto db = seeded(1, 1, 1);
  Post fresh;
  CHECK_FALSE(fresh.author.isLoaded());
  // Never loaded is not "no owner": reading it says so.
  CHECK_THROWS_WITH(bool(fresh.author), test::Contains("BelongsTo<User>") && test::Contains("Post::author") &&
                                            test::Contains("was read before anything loaded it"));
  CHECK_THROWS_AS(fresh.author.get(), kith::UsageError);

  const auto posts = Post::query(db).orderBy<&Post::id>().preload<&Post::author>().all();
  REQUIRE(posts.size() == 2);
  CHECK(posts[0].author.isLoaded());
  REQUIRE(posts[0].author);
  CHECK(posts[0].author->email == "u0@b");
  CHECK((*posts[0].author).id == *posts[0].userId);
  CHECK(posts[1].author.isLoaded());  // a NULL foreign key: loaded, no owner
  CHECK_FALSE(posts[1].author);
}

TEST_CASE("preloading many posts of few users runs 2 statements and shares each owner", "[belongs-to][preload][portable]") {
  auto db = seeded(10, 20, 5);
  test::StatementLog log(db);
  const auto posts = Post::query(db).preload<&Post::author>().all();
  REQUIRE(log.count() == 2);
  CHECK(log.entries[1].sql == userColumns + " WHERE " + test::keysIn(R"("id")", 16));
  REQUIRE(posts.size() == 205);
  std::set<const User*> owners;
  std::size_t orphans = 0;
  for (const auto& p : posts) {
    REQUIRE(p.author.isLoaded());
    if (!p.userId) {
      CHECK_FALSE(p.author);
      ++orphans;
      continue;
    }
    REQUIRE(p.author);
    CHECK(p.author->id == *p.userId);
    CHECK(p.title.starts_with(p.author->email));
    owners.insert(p.author.get());
  }
  CHECK(orphans == 5);
  CHECK(owners.size() == 10);  // 10 User objects for 200 posts
}

TEST_CASE("a preload whose parents all have a NULL foreign key sends no second statement", "[belongs-to][preload][portable]") {
  auto db = seeded(2, 0, 3);
  test::StatementLog log(db);
  bool called = false;
  const auto posts = Post::query(db).preload<&Post::author>([&](auto&) { called = true; }).all();
  CHECK(log.count() == 1);
  CHECK_FALSE(called);
  REQUIRE(posts.size() == 3);
  for (const auto& p : posts) CHECK((p.author.isLoaded() && !p.author));
}

TEST_CASE("load<...>() loads one model's owner with one statement", "[belongs-to][preload][portable]") {
  auto db = seeded(3, 1);
  auto p = Post::query(db).where<&Post::title>("u1@b post 0").firstOrFail();
  test::StatementLog log(db);
  p.load<&Post::author>();
  CHECK(log.count() == 1);
  REQUIRE(p.author);
  CHECK(p.author->email == "u1@b");
}

TEST_CASE("preload constraints, select without the owner key, and groupLimit refused", "[belongs-to][preload][portable]") {
  auto db = seeded(3, 1);
  const auto posts =
      Post::query(db)
          .orderBy<&Post::id>()
          .preload<&Post::author>([](auto& q) { q.template select<&User::email>().template where<&User::email>("!=", "u1@b"); })
          .all();
  REQUIRE(posts.size() == 3);
  REQUIRE(posts[0].author);
  CHECK(posts[0].author->id == *posts[0].userId);  // the owner key was added to the select list
  CHECK_FALSE(posts[1].author);                    // filtered out by the constraint
  REQUIRE(posts[2].author);
  CHECK_THROWS_WITH(Post::query(db).preload<&Post::author>([](auto& q) { q.groupLimit(1); }).all(),
                    test::Contains("cannot apply groupLimit or groupOrderBy to \"author\": it holds at most one User"));
}

TEST_CASE("a BelongsTo preload nests inside a HasMany preload and the other way round", "[belongs-to][preload][portable]") {
  auto db = seeded(4, 3);
  test::StatementLog log(db);
  const auto users = User::query(db).preload<&User::posts>([](auto& q) { q.template preload<&Post::author>(); }).all();
  CHECK(log.count() == 3);
  for (const auto& u : users) {
    REQUIRE(u.posts.size() == 3);
    for (const auto& p : u.posts) {
      REQUIRE(p.author);
      CHECK(p.author->email == u.email);
    }
  }
  log.clear();
  const auto posts = Post::query(db).preload<&Post::author>([](auto& q) { q.template preload<&User::posts>(); }).all();
  CHECK(log.count() == 3);
  for (const auto& p : posts) {
    REQUIRE(p.author);
    REQUIRE(p.author->posts.isLoaded());
    CHECK(p.author->posts.size() == 3);
  }
}

TEST_CASE("has, whereHas, doesntHave and withCount on a BelongsTo", "[belongs-to][relationship-queries][portable]") {
  auto db = seeded(2, 1, 2);
  auto q = Post::query(db).has<&Post::author>();
  CHECK(
      q.toSql() ==
      R"(SELECT "id", "user_id", "title", "views" FROM "posts" WHERE EXISTS (SELECT 1 FROM "users" WHERE "users"."id" = "posts"."user_id"))");
  CHECK(q.count() == 2);
  CHECK(Post::query(db).doesntHave<&Post::author>().count() == 2);
  CHECK(Post::query(db).whereHas<&Post::author>([](auto& u) { u.template where<&User::email>("u1@b"); }).count() == 1);
  CHECK(Post::query(db)
            .where<&Post::title>("orphan 0")
            .orWhereHas<&Post::author>([](auto& u) { u.template where<&User::email>("u1@b"); })
            .count() == 2);
  CHECK(Post::query(db).where<&Post::title>("orphan 0").orDoesntHave<&Post::author>().count() == 2);
  CHECK(Post::query(db).has<&Post::author>(">=", 1).count() == 2);

  const auto counted = Post::query(db)
                           .orderBy<&Post::id>()
                           .withCount<&Post::author>()
                           .withAggregate<&Post::author>(kith::max<&User::email>(), "author_email")
                           .all();
  REQUIRE(counted.size() == 4);
  CHECK(counted[0].extra<std::int64_t>("author_count") == 1);
  CHECK(counted[0].extra<std::optional<std::string>>("author_email") == "u0@b");
  CHECK(counted[3].extra<std::int64_t>("author_count") == 0);
  CHECK_FALSE(counted[3].extra<std::optional<std::string>>("author_email"));

  auto p = Post::query(db).where<&Post::title>("u0@b post 0").firstOrFail();
  p.loadCount<&Post::author>();
  CHECK(p.extra<std::int64_t>("author_count") == 1);
  auto orphan = Post::query(db).where<&Post::title>("orphan 0").firstOrFail();
  test::StatementLog log(db);
  orphan.loadCount<&Post::author>();
  CHECK(orphan.extra<std::int64_t>("author_count") == 0);
  CHECK(log.count() == 0);  // a NULL foreign key has no owner to count
}

TEST_CASE("a self BelongsTo aliases the inner table and preloads", "[belongs-to][self][portable]") {
  auto db = database();
  auto boss = User::create(db, user("boss@b"));
  auto report = user("report@b");
  report.managerId = boss.id;
  report.save(db);
  auto q = User::query(db).has<&User::manager>();
  CHECK(q.toSql() == userColumns + R"( WHERE EXISTS (SELECT 1 FROM "users" AS "kith_t1" WHERE "kith_t1"."id" = "users"."manager_id"))");
  const auto managed = q.all();
  REQUIRE(managed.size() == 1);
  CHECK(managed[0].email == "report@b");
  const auto all = User::query(db).orderBy<&User::id>().preload<&User::manager>().preload<&User::firstReport>().all();
  CHECK_FALSE(all[0].manager);
  REQUIRE(all[1].manager);
  CHECK(all[1].manager->email == "boss@b");
  REQUIRE(all[0].firstReport);
  CHECK(all[0].firstReport->email == "report@b");
}

TEST_CASE("the client's query acts on the owner row only, and matches nothing without an owner", "[belongs-to][client][portable]") {
  auto db = seeded(3, 1, 1);
  auto p = Post::query(db).where<&Post::title>("u1@b post 0").firstOrFail();
  CHECK(p.related<&Post::author>().query().update(kith::set<&User::email>("renamed@b")) == 1);
  CHECK(test::scalar(db, "SELECT email FROM users WHERE id = " + std::to_string(*p.userId)) == "renamed@b");
  CHECK(User::query(db).where<&User::email>("renamed@b").count() == 1);

  auto orphan = Post::query(db).where<&Post::title>("orphan 0").firstOrFail();
  CHECK_FALSE(orphan.related<&Post::author>().query().first());
  CHECK(orphan.related<&Post::author>().query().remove() == 0);
  CHECK(test::rows(db, "users") == 3);
}

TEST_CASE("associate saves a new owner first, sets the key, saves the model, in one transaction", "[belongs-to][client][write][portable]") {
  auto db = database();
  auto p = Post::create(db, post("Hello"));
  p.load<&Post::author>();
  REQUIRE((p.author.isLoaded() && !p.author));
  auto owner = user("new@b");
  test::StatementLog log(db);
  p.related<&Post::author>().associate(owner);
  CHECK(log.sql() == std::vector<std::string>{test::beginSql(),
                                              test::insertOne(R"(INSERT INTO "users" ("email", "manager_id") VALUES (?, ?))"),
                                              R"(UPDATE "posts" SET "user_id" = ? WHERE "id" = ?)", "COMMIT"});
  CHECK(owner.isPersisted());
  CHECK(p.userId == owner.id);
  CHECK_FALSE(p.isDirty());
  REQUIRE(p.author);  // the in-memory relation follows (Lucid leaves it stale)
  CHECK(p.author->email == "new@b");
  CHECK(test::scalar(db, "SELECT user_id FROM posts WHERE id = " + std::to_string(p.id)) == std::to_string(owner.id));

  // A persisted, clean owner is not written again; a new model is inserted with its key.
  auto other = User::create(db, user("other@b"));
  auto fresh = post("Fresh");
  fresh.useConnection(db);
  log.clear();
  fresh.related<&Post::author>().associate(other);
  CHECK(log.sql() == std::vector<std::string>{test::beginSql(),
                                              test::insertOne(R"(INSERT INTO "posts" ("user_id", "title", "views") VALUES (?, ?, ?))"),
                                              "COMMIT"});
  CHECK(fresh.isPersisted());
  CHECK(Post::findOrFail(db, fresh.id).userId == other.id);
}

TEST_CASE("associate that fails writes nothing and leaves both models as they were", "[belongs-to][client][write][bad-input][portable]") {
  auto db = database();
  auto taken = User::create(db, user("taken@b"));
  auto p = Post::create(db, post("Hello", taken.id));
  p.load<&Post::author>();

  // The model's own save fails (an empty title breaks a CHECK): the new owner is not kept.
  p.title = "";
  auto owner = user("new@b");
  CHECK_THROWS_AS(p.related<&Post::author>().associate(owner), kith::ConstraintError);
  CHECK_FALSE(owner.isPersisted());
  CHECK(owner.id == 0);
  CHECK(p.userId == taken.id);
  CHECK(p.title.empty());
  CHECK(p.isDirty());
  REQUIRE(p.author);
  CHECK(p.author->email == "taken@b");
  CHECK(test::rows(db, "users") == 1);
  CHECK(test::scalar(db, "SELECT user_id FROM posts") == std::to_string(taken.id));

  // The owner's save fails (a duplicate email): the model is not moved.
  p.title = "Hello";
  auto duplicate = user("taken@b");
  CHECK_THROWS_AS(p.related<&Post::author>().associate(duplicate), kith::UniqueViolation);
  CHECK(p.userId == taken.id);
  CHECK_FALSE(duplicate.isPersisted());

  // An owner without its key (not selected) is refused before anything is written.
  auto partial = User::query(db).select<&User::email>().firstOrFail();
  test::StatementLog log(db);
  CHECK_THROWS_WITH(p.related<&Post::author>().associate(partial),
                    test::Contains(R"(cannot associate "author", value of "User.id" is undefined)"));
  CHECK(log.sql() == std::vector<std::string>{test::beginSql(), "ROLLBACK"});
  CHECK(p.userId == taken.id);
}

TEST_CASE("dissociate clears the foreign key with one UPDATE and empties the relation", "[belongs-to][client][write][portable]") {
  auto db = seeded(1, 1);
  auto p = Post::query(db).preload<&Post::author>().firstOrFail();
  REQUIRE(p.author);
  test::StatementLog log(db);
  p.related<&Post::author>().dissociate();
  CHECK(log.sql() == std::vector<std::string>{R"(UPDATE "posts" SET "user_id" = ? WHERE "id" = ?)"});
  CHECK(log.entries[0].bindings[0] == kith::Value{});
  CHECK_FALSE(p.userId);
  CHECK((p.author.isLoaded() && !p.author));
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE user_id IS NULL") == "1");
  CHECK(test::rows(db, "users") == 1);  // the owner row is never touched
}

TEST_CASE("a BelongsTo on a custom owner key preloads and associates through it", "[belongs-to][options][portable]") {
  auto db = database();
  auto club = Club::create(db, people::club("chess"));
  Membership m;
  m.name = "Ann";
  m.useConnection(db);
  m.related<&Membership::club>().associate(club);
  CHECK(m.clubCode == "chess");
  const auto loaded = Membership::query(db).preload<&Membership::club>().all();
  REQUIRE(loaded.size() == 1);
  REQUIRE(loaded[0].club);
  CHECK(loaded[0].club->id == club.id);
  CHECK(
      Membership::query(db).has<&Membership::club>().toSql() ==
      R"(SELECT "id", "club_code", "name" FROM "memberships" WHERE EXISTS (SELECT 1 FROM "clubs" WHERE "clubs"."code" = "memberships"."club_code"))");
}

TEST_CASE("associate through a transaction is undone with it", "[belongs-to][client][transaction][portable]") {
  auto db = database();
  auto p = Post::create(db, post("Hello"));
  auto owner = user("new@b");
  {
    auto trx = db.begin();
    p.related<&Post::author>(trx).associate(owner);
    CHECK(test::rows(db, "users") == 1);  // same connection: the transaction's own view
    trx.rollback();
  }
  CHECK_FALSE(owner.isPersisted());
  CHECK(p.isDirty());  // its user_id is no longer what the row holds
  CHECK(test::rows(db, "users") == 0);
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE user_id IS NULL") == "1");
}

namespace {
struct IndexedPost : kith::BaseModel<IndexedPost> {
  static constexpr std::string_view table = "indexed_posts";
  std::int64_t id{};
  std::optional<std::int64_t> userId;
  kith::BelongsTo<User> author;
  static constexpr auto columns = kith::columns<&IndexedPost::id, &IndexedPost::userId>;
  static constexpr auto relations = kith::relations<&IndexedPost::author>;
};
}  // namespace

TEST_CASE("createTables indexes a listed BelongsTo's foreign key on the declaring model", "[belongs-to][schema][portable]") {
  auto db = test::database();
  test::StatementLog log(db);
  kith::createTables<IndexedPost>(db);
  const auto sql = log.sql();
  CHECK(std::find(sql.begin(), sql.end(), R"(CREATE INDEX IF NOT EXISTS "indexed_posts_user_id_index" ON "indexed_posts" ("user_id"))") !=
        sql.end());
}
