// A model read with select<>() does not know the columns it left out (issue 18). A value assigned
// to such a column is never dropped without a word: one that differs from what the member held
// before the read is written; one kith cannot tell from that (score = 0 on an int never loaded)
// makes save() refuse, until markDirty<...>() says to write it or the column is selected.
#include "blog_models.hpp"

namespace {

struct Player : kith::BaseModel<Player> {
  std::int64_t id{};
  std::string name;
  std::int64_t score{};
  std::optional<std::string> nick;
  std::string motto;
  static constexpr auto columns = kith::columns<&Player::id, &Player::name, &Player::score, &Player::nick, &Player::motto>;
};

kith::Connection players() {
  auto db = test::database();
  kith::createTables<Player>(db);
  Player::create(db, {{}, 0, "a", 50, "ace", "go"});
  return db;
}

std::string row(const kith::Connection& db) {
  const auto r = test::select(db, "SELECT name, score, nick, motto FROM players WHERE id = 1").at(0);
  return r[0].value_or("NULL") + "|" + r[1].value_or("NULL") + "|" + r[2].value_or("NULL") + "|" + r[3].value_or("NULL");
}

}  // namespace

TEST_CASE("an int left out by select<>() and set to its default is refused, not dropped, and markDirty writes it",
          "[persistence][select][bad-input][portable]") {
  auto db = players();
  auto ps = Player::query(db).select<&Player::id, &Player::name, &Player::nick, &Player::motto>().all();
  ps[0].score = 0;  // the user means: set the score to 0
  test::StatementLog log(db);
  CHECK_THROWS_WITH(ps[0].save(),
                    "kith: cannot save this Player: it was read with select<>() without score, which still holds the value the model "
                    "had before the read, and kith cannot tell that from a value you assigned; to write it, call "
                    "markDirty<&Player::score>() before save(); to keep what the database holds, select it too");
  CHECK(log.count() == 0);
  CHECK(row(db) == "a|50|ace|go");
  ps[0].markDirty<&Player::score>();
  CHECK(ps[0].dirty() == std::vector<std::string_view>{"score"});
  ps[0].save();
  CHECK(log.sql() == std::vector<std::string>{R"(UPDATE "players" SET "score" = ? WHERE "id" = ?)"});
  CHECK(row(db) == "a|0|ace|go");
  CHECK_FALSE(ps[0].isDirty());
  // Once written, the column is known: later saves follow it like any other.
  ps[0].score = 0;
  log.clear();
  ps[0].save();
  CHECK(log.count() == 0);
}

TEST_CASE("a left-out column set to another value is written, one left alone still blocks the save", "[persistence][select][portable]") {
  auto db = players();
  auto ps = Player::query(db).select<&Player::id, &Player::name, &Player::nick, &Player::motto>().all();
  ps[0].score = 7;
  ps[0].save();
  CHECK(row(db) == "a|7|ace|go");

  // Renaming a model that left out score (never touched): kith cannot know score was not set to 0.
  auto partial = Player::query(db).select<&Player::id, &Player::name>().all();
  partial[0].name = "renamed";
  CHECK_THROWS_WITH(partial[0].save(), test::Contains("without score, nick, motto, which still hold the values"));
  CHECK_THROWS_WITH(partial[0].save(), test::Contains("markDirty<&Player::score, &Player::nick, &Player::motto>()"));
  CHECK(row(db) == "a|7|ace|go");
  // Selecting what the save needs works, as does a query update.
  auto full = Player::query(db).select<&Player::id, &Player::name, &Player::score, &Player::nick, &Player::motto>().firstOrFail();
  full.name = "renamed";
  full.save();
  CHECK(row(db) == "renamed|7|ace|go");
}

TEST_CASE("a left-out optional set to nullopt and a left-out string set to \"\" are refused, then written when marked",
          "[persistence][select][bad-input][portable]") {
  auto db = players();
  auto p = Player::query(db).select<&Player::id, &Player::name, &Player::score, &Player::motto>().firstOrFail();
  p.nick = std::nullopt;
  CHECK_THROWS_WITH(p.save(), test::Contains("without nick"));
  CHECK(row(db) == "a|50|ace|go");
  p.markDirty<&Player::nick>();
  p.save();
  CHECK(row(db) == "a|50|NULL|go");

  auto q = Player::query(db).select<&Player::id, &Player::name, &Player::score, &Player::nick>().firstOrFail();
  q.motto = "";
  CHECK_THROWS_WITH(q.save(), test::Contains("without motto"));
  CHECK(row(db) == "a|50|NULL|go");
  q.markDirty<&Player::motto>();
  q.save();
  CHECK(row(db) == "a|50|NULL|");
}

TEST_CASE("relation saveMany of partially loaded children refuses before writing anything, and saves them once marked",
          "[has-many][select][bad-input][portable]") {
  auto db = blog::database();
  auto u = blog::User::create(db, blog::user("a@b"));
  u.related<&blog::User::posts>().createMany({blog::post("one", "body 1"), blog::post("two", "body 2")});
  auto users =
      blog::User::query(db).preload<&blog::User::posts>([](auto& q) { q.template select<&blog::Post::id, &blog::Post::title>(); }).all();
  auto& posts = users[0].posts;
  REQUIRE(posts.size() == 2);
  std::vector<blog::Post> children(posts.begin(), posts.end());
  children[0].title = "one!";
  children[1].body = "";  // body was left out: kith cannot tell "" from never loaded
  test::StatementLog log(db);
  CHECK_THROWS_WITH(users[0].related<&blog::User::posts>().saveMany(children), test::Contains("without editorId, body"));
  CHECK(test::select(db, "SELECT title, body FROM posts ORDER BY id") == std::vector<test::RawRow>{{"one", "body 1"}, {"two", "body 2"}});
  CHECK(children[0].title == "one!");
  CHECK(children[0].isDirty());
  for (auto& c : children) c.markDirty<&blog::Post::body, &blog::Post::editorId>();
  children[0].body = "body 1";
  users[0].related<&blog::User::posts>().saveMany(children);
  CHECK(test::select(db, "SELECT title, body, editor_id FROM posts ORDER BY id") ==
        std::vector<test::RawRow>{{"one!", "body 1", std::nullopt}, {"two", "", std::nullopt}});
  CHECK(users[0].posts[0].title == "one!");  // the loaded list took the saved children
  CHECK(users[0].posts.size() == 2);
}

TEST_CASE("saveMany into a loaded list of 10,000 replaces and appends by key", "[has-many][write][portable]") {
  auto db = blog::database();
  auto u = blog::User::create(db, blog::user("a@b"));
  std::vector<blog::Post> many;
  for (int i = 0; i < 10000; ++i) many.push_back(blog::post("p" + std::to_string(i)));
  u.related<&blog::User::posts>().createMany(many);
  u.load<&blog::User::posts>();
  std::vector<blog::Post> children;
  for (int i = 0; i < 10000; i += 2) {  // every other existing post changed, and as many new ones
    children.push_back(u.posts[static_cast<std::size_t>(i)]);
    children.back().body = "changed";
    children.push_back(blog::post("new " + std::to_string(i)));
  }
  u.related<&blog::User::posts>().saveMany(children);
  CHECK(u.posts.size() == 15000);
  CHECK(u.posts[0].body == "changed");
  CHECK(u.posts[1].body != "changed");
  CHECK(u.posts[10000].title == "new 0");
  CHECK(test::rows(db, "posts") == 15000);
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE body = 'changed'") == "5000");
}
