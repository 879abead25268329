// Untracked reads (issue 30): Query::untracked() returns models that keep no record of the values
// read. They read the same values; what they cannot do is say what changed, so every write of
// one is refused with a message that says how to get a model that can be written — never a save
// that silently writes nothing, nor one that overwrites every column.
#include "blog_models.hpp"

using namespace blog;

namespace {

kith::Connection seeded() {
  auto db = database();
  auto u = User::create(db, user("a@x.io"));
  u.related<&User::posts>().createMany({post("one"), post("two")});
  User::create(db, user("b@x.io"));
  return db;
}

std::string titles(const kith::Connection& db) {
  std::string out;
  for (const auto& r : test::select(db, "SELECT title FROM posts ORDER BY id")) out += r[0].value_or("NULL") + ";";
  return out;
}

const std::string refusedSave =
    "kith: cannot save this Post: it was read by an untracked query (untracked()), which keeps no record of the values read, so kith "
    "cannot tell which columns changed; read it without untracked(), or call refresh() to read it again tracked (your changes to it "
    "are then replaced by the row's values)";

}  // namespace

TEST_CASE("An untracked read gives the same rows and values as a tracked one, with the same SQL", "[untracked][portable]") {
  auto db = seeded();
  test::StatementLog log(db);
  const auto tracked = Post::query(db).orderBy<&Post::id>().all();
  const auto untracked = Post::query(db).orderBy<&Post::id>().untracked().all();
  REQUIRE(log.count() == 2);
  CHECK(log.entries[0].sql == log.entries[1].sql);
  REQUIRE(untracked.size() == tracked.size());
  for (std::size_t i = 0; i < tracked.size(); ++i) {
    CHECK(untracked[i].id == tracked[i].id);
    CHECK(untracked[i].userId == tracked[i].userId);
    CHECK(untracked[i].title == tracked[i].title);
    CHECK(untracked[i].body == tracked[i].body);
    CHECK(untracked[i].isPersisted());
    CHECK_FALSE(untracked[i].isDeleted());
  }
  // first() and paginate() read untracked too.
  auto first = Post::query(db).untracked().orderBy<&Post::id>().first();
  REQUIRE(first);
  CHECK(first->title == "one");
  first->title = "changed";
  CHECK_THROWS_WITH(first->save(), refusedSave);
  auto page = Post::query(db).untracked().orderBy<&Post::id>().paginate(1, 1);
  REQUIRE(page.rows.size() == 1);
  CHECK_THROWS_WITH(page.rows[0].save(), refusedSave);
}

TEST_CASE("Saving a model read untracked is refused, sends nothing and leaves the row and the model as they were",
          "[untracked][bad-input][portable]") {
  auto db = seeded();
  auto posts = Post::query(db).untracked().orderBy<&Post::id>().all();
  Post& p = posts[0];
  // kith cannot tell a change: every column may have changed.
  CHECK(p.isDirty());
  CHECK(p.dirty() == std::vector<std::string_view>{"id", "userId", "editorId", "title", "body"});
  p.title = "edited";
  test::StatementLog log(db);
  CHECK_THROWS_WITH(p.save(), refusedSave);
  CHECK_THROWS_WITH(p.saveQuietly(), refusedSave);
  CHECK_THROWS_WITH(p.save(db), refusedSave);
  CHECK_THROWS_AS(p.markDirty<&Post::title>(), kith::UsageError);
  CHECK(log.count() == 0);
  CHECK(titles(db) == "one;two;");
  CHECK(p.title == "edited");
  CHECK(p.isPersisted());
  // A copy is untracked too.
  Post copy = p;
  CHECK_THROWS_WITH(copy.save(), refusedSave);
  CHECK(log.count() == 0);
}

TEST_CASE("refresh() makes an untracked model tracked, destroy() works on one", "[untracked][portable]") {
  auto db = seeded();
  auto posts = Post::query(db).untracked().orderBy<&Post::id>().all();
  posts[0].title = "lost";
  posts[0].refresh();  // the row's values replace the change, and the model is tracked from now on
  CHECK(posts[0].title == "one");
  CHECK_FALSE(posts[0].isDirty());
  posts[0].title = "edited";
  CHECK(posts[0].dirty() == std::vector<std::string_view>{"title"});
  test::StatementLog log(db);
  posts[0].save();
  CHECK(log.sql() == std::vector<std::string>{R"(UPDATE "posts" SET "title" = ? WHERE "id" = ?)"});
  CHECK(titles(db) == "edited;two;");

  log.clear();
  posts[1].destroy();
  CHECK(log.sql() == std::vector<std::string>{R"(DELETE FROM "posts" WHERE "id" = ?)"});
  CHECK_FALSE(posts[1].isPersisted());
  CHECK(posts[1].isDeleted());
  CHECK(titles(db) == "edited;");
}

TEST_CASE("A preload under an untracked query reads its related rows untracked, in one query per relation",
          "[untracked][preload][portable]") {
  auto db = seeded();
  test::StatementLog log(db);
  auto users =
      User::query(db).untracked().orderBy<&User::id>().preload<&User::posts>([](auto& q) { q.template orderBy<&Post::id>(); }).all();
  CHECK(log.count() == 2);
  REQUIRE(users.size() == 2);
  REQUIRE(users[0].posts.size() == 2);
  CHECK(users[0].posts[0].title == "one");
  CHECK(users[0].posts[1].title == "two");
  CHECK(users[1].posts.empty());
  users[0].posts[0].title = "edited";
  CHECK_THROWS_WITH(users[0].posts[0].save(), refusedSave);
  // load() on an untracked parent reads untracked too.
  users[1].load<&User::posts>();
  CHECK(users[1].posts.empty());
  // A tracked query's preload stays tracked.
  auto tracked = User::query(db).orderBy<&User::id>().preload<&User::posts>().all();
  tracked[0].posts[0].title = "edited";
  tracked[0].posts[0].save();
  CHECK(titles(db) == "edited;two;");
}

TEST_CASE("Writing through a relation of an untracked parent is refused, and writes no row", "[untracked][bad-input][portable]") {
  auto db = seeded();
  auto users = User::query(db).untracked().orderBy<&User::id>().all();
  test::StatementLog log(db);
  CHECK_THROWS_WITH(users[1].related<&User::posts>().create(post("three")),
                    Catch::Matchers::StartsWith("kith: cannot save this User: it was read by an untracked query"));
  CHECK(titles(db) == "one;two;");
  // The relation's own query can be read untracked, and reads only what it should.
  auto mine = users[0].related<&User::posts>().query().untracked().orderBy<&Post::id>().all();
  REQUIRE(mine.size() == 2);
  CHECK_THROWS_WITH(mine[0].save(), refusedSave);
}

TEST_CASE("An untracked select<>() that leaves out a key still refuses to preload through it", "[untracked][select][bad-input][portable]") {
  auto db = seeded();
  auto posts = Post::query(db).untracked().select<&Post::id, &Post::title>().orderBy<&Post::id>().all();
  REQUIRE(posts.size() == 2);
  CHECK(posts[1].title == "two");
  CHECK(posts[1].userId == 0);  // not read
  CHECK_THROWS_WITH(posts[1].save(), refusedSave);
  // Users read without their id: loading their posts says so, rather than finding none.
  auto users = User::query(db).untracked().select<&User::email>().orderBy<&User::id>().all();
  test::StatementLog log(db);
  CHECK_THROWS_AS(users[0].load<&User::posts>(), kith::UsageError);
  CHECK(log.count() == 0);
}

TEST_CASE("find(db, id, kith::untracked) reads the row untracked with find's statement", "[untracked][portable]") {
  auto db = seeded();
  test::StatementLog log(db);
  auto p = Post::find(db, 2, kith::untracked);
  REQUIRE(p);
  CHECK(p->title == "two");
  CHECK(p->isPersisted());
  CHECK_FALSE(Post::find(db, 99, kith::untracked));
  CHECK_THROWS_WITH(Post::findOrFail(db, 99, kith::untracked), "kith: no Post with id = 99 in table posts");
  REQUIRE(log.count() == 3);
  for (const auto& e : log.entries) CHECK(e.sql == R"(SELECT "id", "user_id", "editor_id", "title", "body" FROM "posts" WHERE "id" = ?)");
  p->title = "edited";
  CHECK_THROWS_WITH(p->save(), refusedSave);
  CHECK(titles(db) == "one;two;");
  // The tracked find is unchanged.
  auto tracked = Post::find(db, 2);
  CHECK_FALSE(tracked->isDirty());
}
