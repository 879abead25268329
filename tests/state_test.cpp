// Model states are allocated per operation: the rows one query reads or one createMany writes
// share a few blocks. Each model must still behave as if its state were its own: kept while the
// others are gone, copied, destroyed from other threads, rolled back.
#include "people_models.hpp"

#include <sqlite3.h>

#include <thread>

using namespace people;

namespace {

/// `n` posts titled "p0", "p1", ...
std::vector<Post> manyPosts(const kith::Connection& db, int n) {
  std::vector<Post> rows;
  for (int i = 0; i < n; ++i) rows.push_back(post("p" + std::to_string(i)));
  return Post::createMany(db, std::move(rows));
}

}  // namespace

TEST_CASE("A model kept from a large result outlives the others and saves only what changed", "[state][portable]") {
  auto db = database();
  manyPosts(db, 2500);  // more rows than one block of states holds
  std::vector<Post> kept;
  {
    auto all = Post::query(db).orderBy<&Post::id>().all();
    REQUIRE(all.size() == 2500);
    for (std::size_t i = 0; i < all.size(); i += 600) kept.push_back(std::move(all[i]));
  }  // the other 2,495 models and their states are gone
  REQUIRE(kept.size() == 5);
  test::StatementLog log(db);
  for (auto& p : kept) {
    CHECK_FALSE(p.isDirty());
    CHECK(p.isPersisted());
    p.title += " edited";
    CHECK(p.dirty() == std::vector<std::string_view>{"title"});
    p.save();
    CHECK_FALSE(p.isDirty());
  }
  REQUIRE(log.count() == 5);
  for (const auto& e : log.entries) CHECK(e.sql == R"(UPDATE "posts" SET "title" = ? WHERE "id" = ?)");
  CHECK(Post::query(db).where<&Post::title>("like", "% edited").count() == 5);
  CHECK(Post::findOrFail(db, kept[4].id).title == "p2400 edited");
}

TEST_CASE("A copied model has a state of its own", "[state][portable]") {
  auto db = database();
  manyPosts(db, 3);
  auto rows = Post::query(db).orderBy<&Post::id>().all();
  Post copy = rows[1];
  copy.title = "copy";
  CHECK(copy.isDirty());
  CHECK_FALSE(rows[1].isDirty());
  copy.save();
  CHECK_FALSE(copy.isDirty());
  test::StatementLog log(db);
  rows[1].save();  // unchanged: no statement, though its copy wrote the row
  CHECK(log.count() == 0);
  rows = {};
  CHECK(copy.isPersisted());
  copy.views = 7;
  copy.save();
  CHECK(Post::findOrFail(db, copy.id).views == 7);
}

TEST_CASE("Models of one query destroyed on several threads at once", "[state][portable]") {
  auto db = database();
  manyPosts(db, 4000);
  auto all = Post::query(db).all();
  std::vector<std::vector<Post>> parts(4);
  for (std::size_t i = 0; i < all.size(); ++i) parts[i % 4].push_back(std::move(all[i]));
  all.clear();
  std::vector<std::size_t> dirty(4, 0);
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (auto& p : parts[t]) {
          p.title += "!";
          if (p.isDirty()) ++dirty[t];
        }
        parts[t].clear();  // each thread releases its share of the same blocks
      });
  }
  CHECK(dirty == std::vector<std::size_t>(4, 1000));
}

TEST_CASE("Rows createMany wrote in a rolled-back transaction stay unsaved, each on its own", "[state][portable]") {
  auto db = database();
  std::vector<Post> created;
  {
    auto trx = db.begin();
    created = Post::createMany(trx, [] {
      std::vector<Post> rows;
      for (int i = 0; i < 1500; ++i) rows.push_back(post("t" + std::to_string(i)));
      return rows;
    }());
    CHECK(created.back().isPersisted());
    trx.rollback();
  }
  Post last = std::move(created.back());
  created.clear();
  CHECK_FALSE(last.isPersisted());
  CHECK(last.isDirty());
  last.save(db);  // inserted again, with a key of its own
  CHECK(last.isPersisted());
  CHECK(Post::query(db).count() == 1);
  CHECK(Post::findOrFail(db, last.id).title == "t1499");
}

TEST_CASE("A statement run with fewer values than placeholders binds NULL to the rest", "[state][sqlite]") {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE pairs (a TEXT, b TEXT)");
  const std::string sql = "INSERT INTO pairs (a, b) VALUES (?, ?)";
  db.execute(sql, std::string("x"), std::string("y"));
  db.execute(sql, std::string("z"));  // b was "y" in the statement's last run: it must not stay
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(kith::sqlite::handle(db), "SELECT a, b IS NULL FROM pairs ORDER BY rowid", -1, &st, nullptr) == SQLITE_OK);
  std::vector<std::pair<std::string, int>> rows;
  while (sqlite3_step(st) == SQLITE_ROW)
    rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), sqlite3_column_int(st, 1));
  sqlite3_finalize(st);
  CHECK(rows == std::vector<std::pair<std::string, int>>{{"x", 0}, {"z", 1}});
}
