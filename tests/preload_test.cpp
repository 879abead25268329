// Preloading: one query per relation and level whatever the number of parents, IN lists
// de-duplicated and chunked, constraint callbacks, nested preloads, and load() on one instance.
#include "blog_models.hpp"

using namespace blog;

namespace {

/// n users with k posts each, and one comment on each post.
kith::Connection seeded(int users, int postsEach) {
  auto db = database();
  std::vector<User> us;
  for (int i = 0; i < users; ++i) us.push_back(user("u" + std::to_string(i) + "@b"));
  us = User::createMany(db, us);
  for (auto& u : us) {
    std::vector<Post> ps;
    for (int k = 0; k < postsEach; ++k) ps.push_back(post(u.email + " post " + std::to_string(k)));
    for (auto& p : u.related<&User::posts>().createMany(ps)) p.related<&Post::comments>().create(Comment{{}, 0, 0, "on " + p.title});
  }
  return db;
}

}  // namespace

TEST_CASE("preload sends one query per relation whatever the number of parents", "[preload][portable]") {
  for (int users : {1, 10, 200}) {
    auto db = seeded(users, 3);
    test::StatementLog log(db);
    const auto loaded = User::query(db).orderBy<&User::id>().preload<&User::posts>().all();
    CHECK(log.count() == 2);
    REQUIRE(loaded.size() == static_cast<std::size_t>(users));
    for (const auto& u : loaded) {
      REQUIRE(u.posts.size() == 3);
      CHECK(u.posts[0].title == u.email + " post 0");
      CHECK(u.posts[2].title == u.email + " post 2");
      for (const auto& p : u.posts) CHECK(p.userId == u.id);
    }
  }
}

TEST_CASE("the preload query binds the parents' keys in parent order", "[preload][portable]") {
  auto db = seeded(3, 1);
  test::StatementLog log(db);
  User::query(db).orderBy<&User::id>(kith::desc).preload<&User::posts>().all();
  CHECK(log.entries[1].sql ==
        R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE )" + test::keysIn(R"("user_id")", 4));
  // Three keys, padded to four by repeating the last, so that few distinct statements are cached
  // (PostgreSQL: one array, '{3,2,1}').
  CHECK(log.entries[1].bindings == test::keyBindings({3, 2, 1, 1}));
}

TEST_CASE("nested preloads cost one query per level", "[preload][portable]") {
  auto db = seeded(20, 2);
  test::StatementLog log(db);
  const auto loaded = User::query(db).preload<&User::posts>([](auto& q) { q.template preload<&Post::comments>(); }).all();
  CHECK(log.count() == 3);
  for (const auto& u : loaded)
    for (const auto& p : u.posts) {
      REQUIRE(p.comments.isLoaded());
      REQUIRE(p.comments.size() == 1);
      CHECK(p.comments[0].body == "on " + p.title);
    }
}

TEST_CASE("several relations preload with one query each", "[preload][portable]") {
  auto db = seeded(5, 2);
  test::StatementLog log(db);
  const auto loaded = User::query(db).preload<&User::posts>().preload<&User::editedPosts>().preload<&User::children>().all();
  CHECK(log.count() == 4);
  CHECK(loaded[0].posts.size() == 2);
  CHECK(loaded[0].editedPosts.isLoaded());
  CHECK(loaded[0].editedPosts.empty());
}

TEST_CASE("the constraint callback filters, orders and selects, the foreign key is added once", "[preload][portable]") {
  auto db = seeded(2, 3);
  test::StatementLog log(db);
  const auto loaded = User::query(db)
                          .orderBy<&User::id>()
                          .preload<&User::posts>([](auto& q) {
                            q.template where<&Post::title>("like", "% post 1").template orWhere<&Post::title>("like", "% post 2");
                            q.template orderBy<&Post::id>(kith::desc).template select<&Post::id, &Post::title>();
                          })
                          .all();
  CHECK(log.entries[1].sql == R"(SELECT "id", "title", "user_id" FROM "posts" WHERE ("title" like ? OR "title" like ?) AND ()" +
                                  test::keysIn(R"("user_id")", 2) + R"() ORDER BY "id" DESC)");
  REQUIRE(loaded[0].posts.size() == 2);
  CHECK(loaded[0].posts[0].title == "u0@b post 2");
  CHECK(loaded[0].posts[1].title == "u0@b post 1");
  CHECK(loaded[0].posts[0].body.empty());  // not selected

  log.clear();
  User::query(db).preload<&User::posts>([](auto& q) { q.template select<&Post::userId, &Post::title>(); }).all();
  CHECK(log.entries[1].sql.starts_with(R"(SELECT "user_id", "title" FROM)"));
}

TEST_CASE("parents without children get loaded empty lists", "[preload][portable]") {
  auto db = seeded(2, 1);
  User::create(db, user("lonely@b"));
  const auto loaded = User::query(db).orderBy<&User::id>().preload<&User::posts>().all();
  REQUIRE(loaded.size() == 3);
  CHECK(loaded[2].posts.isLoaded());
  CHECK(loaded[2].posts.empty());
  CHECK(loaded[0].posts.size() == 1);
}

TEST_CASE("no parents: no preload query, and the callback is never called", "[preload][portable]") {
  auto db = seeded(2, 1);
  test::StatementLog log(db);
  bool called = false;
  const auto none = User::query(db).where<&User::id>(99).preload<&User::posts>([&](auto&) { called = true; }).all();
  CHECK(none.empty());
  CHECK(log.count() == 1);
  CHECK_FALSE(called);
}

TEST_CASE("5,000 parents with the host-parameter limit at 999: IN lists chunked under it", "[preload]") {
  auto db = seeded(0, 0);
  std::vector<User> users;
  for (int i = 0; i < 5000; ++i) users.push_back(user("u" + std::to_string(i) + "@b"));
  users = User::createMany(db, users);
  std::vector<Post> posts;
  for (const auto& u : users) posts.push_back(Post{{}, 0, u.id, std::nullopt, "by " + u.email, "b", {}});
  Post::createMany(db, posts);
  sqlite3_limit(kith::sqlite::handle(db), SQLITE_LIMIT_VARIABLE_NUMBER, 999);

  test::StatementLog log(db);
  const auto loaded = User::query(db).preload<&User::posts>().all();
  // 5,000 keys in chunks of 512 (the largest power of two under 999): 10 preload statements.
  REQUIRE(log.count() == 11);
  for (std::size_t i = 1; i < log.count(); ++i) CHECK(log.entries[i].bindings.size() <= 999);
  REQUIRE(loaded.size() == 5000);
  for (const auto& u : loaded) {
    REQUIRE(u.posts.size() == 1);
    CHECK(u.posts[0].title == "by " + u.email);
  }
}

TEST_CASE("duplicate parent keys are sent once and each parent gets the children", "[preload][portable]") {
  auto db = seeded(1, 2);
  auto one = User::findOrFail(db, 1);
  std::vector<User> parents{one, one};
  test::StatementLog log(db);
  kith::detail::preloadRelation<&User::posts>(std::span<User>(parents), db, kith::detail::NoConstraint{});
  CHECK(log.entries[0].bindings == test::keyBindings({1}));
  CHECK(parents[0].posts.size() == 2);
  CHECK(parents[1].posts.size() == 2);
}

TEST_CASE("a preload callback that throws fails the query and loads nothing", "[preload][bad-input][portable]") {
  auto db = seeded(2, 1);
  CHECK_THROWS_WITH(User::query(db).preload<&User::posts>([](auto&) { throw std::runtime_error("bad constraint"); }).all(),
                    "bad constraint");
  CHECK_FALSE(db.inTransaction());
}

TEST_CASE("parents whose local key was not selected get Lucid's error", "[preload][bad-input][portable]") {
  auto db = seeded(2, 1);
  CHECK_THROWS_WITH(User::query(db).select<&User::email>().preload<&User::posts>().all(),
                    "kith: cannot preload \"posts\", value of \"User.id\" is undefined");
}

TEST_CASE("preloaded children belong to the parent query's transaction", "[preload][transaction][portable]") {
  auto db = seeded(1, 1);
  db.transaction([&](kith::Transaction& trx) {
    auto u = User::query(trx).preload<&User::posts>().firstOrFail();
    u.posts[0].title = "changed in trx";
    u.posts[0].save();
    trx.rollback();
  });
  CHECK(Post::findOrFail(db, 1).title == "u0@b post 0");
}

TEST_CASE("load() on one instance: one query, optionally constrained", "[preload][load][portable]") {
  auto db = seeded(2, 3);
  auto u = User::findOrFail(db, 2);
  test::StatementLog log(db);
  u.load<&User::posts>();
  CHECK(log.count() == 1);
  CHECK(log.entries[0].sql ==
        R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE )" + test::keysIn(R"("user_id")", 1));
  REQUIRE(u.posts.size() == 3);
  CHECK(u.posts[0].userId == 2);
  u.load<&User::posts>([](auto& q) { q.template where<&Post::title>("like", "% post 0"); });
  CHECK(u.posts.size() == 1);
}

TEST_CASE("load() on an unsaved instance is a clear error", "[preload][load][bad-input][portable]") {
  auto u = user("new@b");
  CHECK_THROWS_WITH(u.load<&User::posts>(), "kith: cannot lazy load relationship for an unpersisted model instance; save it first");
}
