// The keys createMany returns are the keys of the rows it wrote, also where SQLite does not hand
// out max(rowid) + 1 (issue 13, item 3): a table whose largest rowid is INT64_MAX gets random
// rowids, an AUTOINCREMENT table at that limit refuses new rows, a WITHOUT ROWID table generates none.
#include "blog_models.hpp"

#include <cstdint>
#include <limits>
#include <set>

namespace {

constexpr std::int64_t largest = std::numeric_limits<std::int64_t>::max();

struct Note : kith::BaseModel<Note> {
  std::int64_t id{};
  std::string title;
  static constexpr auto columns = kith::columns<&Note::id, &Note::title>;
};

std::vector<Note> notes(int n, const std::string& prefix) {
  std::vector<Note> out;
  for (int i = 0; i < n; ++i) out.push_back(Note{{}, 0, prefix + std::to_string(i)});
  return out;
}

/// Every returned model names its own row, and no two share one.
void checkIds(const kith::Connection& db, const std::vector<Note>& created) {
  std::set<std::int64_t> ids;
  for (const auto& n : created) {
    CHECK(n.isPersisted());
    CHECK(test::scalar(db, "SELECT title FROM notes WHERE id = " + std::to_string(n.id)) == n.title);
    ids.insert(n.id);
  }
  CHECK(ids.size() == created.size());
}

}  // namespace

TEST_CASE("SQLite: createMany returns the right ids once the largest rowid is INT64_MAX", "[persistence][createMany][keys]") {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)");
  Note::create(db, Note{{}, largest, "top"});

  test::StatementLog log(db);
  auto created = Note::createMany(db, notes(8, "random "));
  checkIds(db, created);
  // SQLite picks these rowids at random: kith inserts them one statement each and reads each key.
  const auto sql = log.sql();
  CHECK(std::count_if(sql.begin(), sql.end(), [](const std::string& s) { return s.starts_with("INSERT"); }) == 8);

  // A save of one of them changes its own row, not another.
  created[3].title = "changed";
  created[3].save();
  CHECK(test::scalar(db, "SELECT title FROM notes WHERE id = " + std::to_string(created[3].id)) == "changed");
  CHECK(test::scalar(db, "SELECT count(*) FROM notes WHERE title = 'changed'") == "1");
  CHECK(test::rows(db, "notes") == 9);
}

TEST_CASE("SQLite: createMany across the INT64_MAX boundary, through a relation and Model::createMany", "[persistence][createMany][keys]") {
  auto db = kith::sqlite::open(":memory:");
  blog::createSchema(db);
  auto author = blog::User::create(db, blog::user("a@b"));
  // The next three rowids are consecutive, up to INT64_MAX; the rest SQLite picks at random.
  db.execute("INSERT INTO posts (id, user_id, title, body) VALUES (?, ?, 'near', 'x')", largest - 3, author.id);
  std::vector<blog::Post> payload;
  for (int i = 0; i < 8; ++i) payload.push_back(blog::post("post " + std::to_string(i)));
  auto created = author.related<&blog::User::posts>().createMany(payload);
  std::set<std::int64_t> ids;
  for (const auto& p : created) {
    CHECK(test::scalar(db, "SELECT title FROM posts WHERE id = " + std::to_string(p.id)) == p.title);
    ids.insert(p.id);
  }
  CHECK(ids.size() == 8);
  CHECK(ids.count(largest) == 1);

  db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)");
  Note::create(db, Note{{}, largest - 1, "near"});
  checkIds(db, Note::createMany(db, notes(2, "two ")));
}

TEST_CASE("SQLite: with room below INT64_MAX, createMany still sends multi-row INSERTs", "[persistence][createMany][keys]") {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL)");
  Note::create(db, Note{{}, largest - 8, "room for eight"});
  test::StatementLog log(db);
  auto created = Note::createMany(db, notes(8, "n"));
  checkIds(db, created);
  CHECK(created.back().id == largest);
  CHECK(log.sql() == std::vector<std::string>{"BEGIN IMMEDIATE", R"(SELECT max("id") FROM "notes")",
                                              R"(INSERT INTO "notes" ("title") VALUES (?), (?), (?), (?), (?), (?), (?), (?))", "COMMIT"});
}

TEST_CASE("SQLite: an AUTOINCREMENT table that gave out its largest key is a clear error, and nothing is written",
          "[persistence][createMany][keys][bad-input]") {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)");
  Note::create(db, Note{{}, largest, "top"});
  db.execute("DELETE FROM notes");  // AUTOINCREMENT never gives a key back, even with the table empty
  auto batch = notes(3, "n");
  const std::string expected = "kith: table \"notes\" is AUTOINCREMENT and has given out its largest key (9223372036854775807)";
  CHECK_THROWS_WITH(Note::createMany(db, batch), test::Contains(expected));
  CHECK_THROWS_WITH(Note::create(db, Note{{}, 0, "one"}), test::Contains(expected));
  for (const auto& n : batch) CHECK_FALSE(n.isPersisted());
  CHECK(test::rows(db, "notes") == 0);
  CHECK_FALSE(db.inTransaction());
  // Rows that bring their key still go in.
  auto keyed = Note::createMany(db, {Note{{}, 5, "five"}, Note{{}, 6, "six"}});
  checkIds(db, keyed);
}

TEST_CASE("SQLite: a WITHOUT ROWID table takes rows with their keys and refuses rows without one", "[persistence][createMany][keys]") {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL) WITHOUT ROWID");
  auto keyed = Note::createMany(db, {Note{{}, 7, "seven"}, Note{{}, 3, "three"}, Note{{}, 9, "nine"}});
  CHECK(keyed[0].id == 7);
  CHECK(keyed[1].id == 3);
  checkIds(db, keyed);
  auto unkeyed = notes(2, "no key ");
  CHECK_THROWS_WITH(Note::createMany(db, unkeyed), test::Contains("NOT NULL constraint failed: notes.id"));
  CHECK_FALSE(unkeyed[0].isPersisted());
  CHECK(test::rows(db, "notes") == 3);
}
