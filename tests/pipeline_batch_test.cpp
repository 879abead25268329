// PostgreSQL's pipeline mode beyond createMany: the preloads of several relations read in one
// pipeline once their parents are read, saveMany's UPDATEs sent without waiting for each answer,
// and what a failure in either leaves (the statement named, nothing written, the models as after
// any failed write, the connection usable).
#include "blog_models.hpp"

using namespace blog;

#ifdef KITH_TEST_HAVE_POSTGRES
namespace {

/// The statements a connection runs while it lives (it takes the connection's one query hook).
struct Log {
  std::vector<std::pair<std::string, bool>> statements;  // SQL, pipelined
  kith::Connection db;
  explicit Log(kith::Connection connection) : db(std::move(connection)) {
    db.onQuery([this](const kith::QueryEvent& e) { statements.emplace_back(std::string(e.sql), e.pipelined); });
  }
  ~Log() { db.onQuery(nullptr); }
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;
  std::size_t pipelined() const {
    return static_cast<std::size_t>(std::count_if(statements.begin(), statements.end(), [](const auto& s) { return s.second; }));
  }
};

/// 12 users, each the parent of the next, with 3 posts each (edited by the next user) and a
/// comment on each post.
std::vector<User> seed(const kith::Connection& db) {
  std::vector<User> users;
  for (int i = 0; i < 12; ++i) users.push_back(user("u" + std::to_string(i) + "@b"));
  users = User::createMany(db, users);
  for (std::size_t i = 1; i < users.size(); ++i) {
    users[i].parentId = users[i - 1].id;
    users[i].save();
  }
  for (std::size_t i = 0; i < users.size(); ++i) {
    std::vector<Post> posts;
    for (int k = 0; k < 3; ++k) {
      posts.push_back(post(users[i].email + " post " + std::to_string(k)));
      posts.back().editorId = users[(i + 1) % users.size()].id;
    }
    for (auto& p : users[i].related<&User::posts>().createMany(posts))
      p.related<&Post::comments>().create(Comment{{}, 0, 0, "on " + p.title});
  }
  return users;
}

/// What a user's preloaded relations hold, as text to compare.
std::string describe(const User& u) {
  std::string out = u.email + ":";
  for (const auto& p : u.posts) {
    out += " [" + p.title;
    for (const auto& c : p.comments) out += " / " + c.body;
    out += "]";
  }
  out += " edited:";
  for (const auto& p : u.editedPosts) out += " " + p.title;
  out += " children:";
  for (const auto& c : u.children) out += " " + c.email;
  return out;
}

kith::Query<User> threeRelations(const kith::Connection& db) {
  return User::query(db)
      .orderBy<&User::id>()
      .preload<&User::posts>([](auto& q) { q.template orderBy<&Post::id>().template preload<&Post::comments>(); })
      .preload<&User::editedPosts>([](auto& q) { q.template orderBy<&Post::id>(); })
      .preload<&User::children>();
}

}  // namespace

TEST_CASE("PostgreSQL: the preloads of several relations are read in one pipeline after their parents", "[pipeline][preload][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = database();
  seed(db);
  Log log(db);
  const auto loaded = threeRelations(db).all();
  // The users; the three relations' SELECTs in one pipeline; then the comments, a nested preload,
  // which needs the posts' keys.
  REQUIRE(log.statements.size() == 5);
  CHECK(log.statements[0].first.starts_with(R"(SELECT "id", "email", "parent_id" FROM "users")"));
  CHECK_FALSE(log.statements[0].second);
  CHECK(log.statements[1].first.find(R"(WHERE "user_id" = ANY(?))") != std::string::npos);
  CHECK(log.statements[2].first.find(R"(WHERE "editor_id" = ANY(?))") != std::string::npos);
  CHECK(log.statements[3].first.find(R"(WHERE "parent_id" = ANY(?))") != std::string::npos);
  for (std::size_t i = 1; i <= 3; ++i) CHECK(log.statements[i].second);
  CHECK(log.statements[4].first.find(R"(FROM "comments")") != std::string::npos);
  CHECK_FALSE(log.statements[4].second);

  // Exactly what a connection without pipelines reads, statement by statement.
  const auto schema = test::scalar(db, "SELECT current_schema()");
  auto sequential = kith::postgres::open(test::postgresConninfo(schema), {.pipeline = false});
  Log sequentialLog(sequential);
  const auto expected = threeRelations(sequential).all();
  CHECK(sequentialLog.pipelined() == 0);
  REQUIRE(loaded.size() == 12);
  REQUIRE(expected.size() == 12);
  for (std::size_t i = 0; i < loaded.size(); ++i) CHECK(describe(loaded[i]) == describe(expected[i]));
  CHECK(describe(loaded[1]) ==
        "u1@b: [u1@b post 0 / on u1@b post 0] [u1@b post 1 / on u1@b post 1] [u1@b post 2 / on u1@b post 2] edited: u0@b post 0 u0@b "
        "post 1 u0@b post 2 children: u2@b");
  CHECK(loaded[11].children.empty());
  CHECK(loaded[11].children.isLoaded());

  // Inside a transaction: the same pipeline, the same rows.
  Log inside(db);
  db.transaction([&](kith::Transaction& trx) {
    const auto again = threeRelations(trx).all();
    for (std::size_t i = 0; i < again.size(); ++i) CHECK(describe(again[i]) == describe(expected[i]));
  });
  CHECK(inside.statements.size() == 7);  // BEGIN, the five, COMMIT
  CHECK(inside.pipelined() == 3);

  // One relation: nothing to share a round trip with, no pipeline.
  Log one(db);
  User::query(db).preload<&User::posts>().all();
  CHECK(one.statements.size() == 2);
  CHECK(one.pipelined() == 0);
}

TEST_CASE("PostgreSQL: a preload that fails in a pipeline is named, and the connection goes on", "[pipeline][preload][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = database();
  seed(db);
  try {
    User::query(db)
        .preload<&User::posts>()
        .preload<&User::editedPosts>([](auto& q) { q.whereRaw("no_such_column = 1"); })
        .preload<&User::children>()
        .all();
    FAIL("the query did not throw");
  } catch (const kith::DatabaseError& e) {
    CHECK(e.sqlstate() == "42703");
    // It failed as it was prepared, in the same pipeline as it was sent.
    CHECK_THAT(std::string(e.what()), test::Contains("preparing it in a pipeline of 3 statements failed: none from it on ran"));
    CHECK_THAT(e.sql(), test::Contains("no_such_column = 1"));
  }
  CHECK_FALSE(db.inTransaction());
  // Out of pipeline mode, the statements prepared in the failed pipeline usable or made again.
  for (int round = 0; round < 2; ++round) {
    const auto loaded = threeRelations(db).all();
    REQUIRE(loaded.size() == 12);
    CHECK(loaded[3].posts.size() == 3);
    CHECK(loaded[3].editedPosts.size() == 3);
    CHECK(loaded[3].children.size() == 1);
  }
  // A statement that fails as it runs (division by zero), the one after it not run.
  try {
    User::query(db)
        .preload<&User::posts>()
        .preload<&User::children>([](auto& q) { q.whereRaw("1/0 = 1"); })
        .preload<&User::editedPosts>()
        .all();
    FAIL("the query did not throw");
  } catch (const kith::DatabaseError& e) {
    CHECK(e.sqlstate() == "22012");
    CHECK_THAT(std::string(e.what()), test::Contains("statement 2 of 3 sent in one pipeline: the 1 after it did not run"));
  }
  CHECK(threeRelations(db).all().at(3).children.size() == 1);
  // In a transaction, the failure aborts it as any failed statement does; nothing is half-read.
  CHECK_THROWS_AS(db.transaction([&](kith::Transaction& trx) {
    User::query(trx).preload<&User::posts>().preload<&User::children>([](auto& q) { q.whereRaw("1/0 = 1"); }).all();
  }),
                  kith::DatabaseError);
  CHECK_FALSE(db.inTransaction());
  CHECK(User::query(db).preload<&User::posts>().preload<&User::children>().all().size() == 12);
}

TEST_CASE("PostgreSQL: saveMany sends the UPDATEs of changed rows in one pipeline", "[pipeline][has-many][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = database();
  auto author = User::create(db, user("a@b"));
  std::vector<Post> drafts;
  for (int i = 0; i < 50; ++i) drafts.push_back(post("draft " + std::to_string(i)));
  auto posts = author.related<&User::posts>().createMany(drafts);
  for (std::size_t i = 0; i < 40; ++i) posts[i].title = "changed " + std::to_string(i);  // 10 left unchanged
  {
    Log log(db);
    author.related<&User::posts>().saveMany(posts);
    // BEGIN, the 40 UPDATEs without waiting for each answer, COMMIT.
    REQUIRE(log.statements.size() == 42);
    CHECK(log.statements.front().first == "BEGIN");
    CHECK(log.statements.back().first == "COMMIT");
    CHECK(log.pipelined() == 40);
    CHECK(log.statements[1].first == R"(UPDATE "posts" SET "title" = ? WHERE "id" = ?)");
  }
  for (const auto& p : posts) CHECK_FALSE(p.isDirty());
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE title LIKE 'changed %'") == "40");
  CHECK(test::scalar(db, "SELECT title FROM posts WHERE id = " + std::to_string(posts[39].id)) == "changed 39");
  CHECK(test::scalar(db, "SELECT title FROM posts WHERE id = " + std::to_string(posts[40].id)) == "draft 40");

  // A row deleted meanwhile: NotFound names it, no row is written, the models keep their changes.
  db.execute("DELETE FROM posts WHERE id = " + std::to_string(posts[7].id));
  for (auto& p : posts) p.title = "again";
  try {
    author.related<&User::posts>().saveMany(posts);
    FAIL("saveMany did not throw");
  } catch (const kith::NotFound& e) {
    CHECK_THAT(std::string(e.what()), test::Contains("id = " + std::to_string(posts[7].id) + ": its row no longer exists"));
  }
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE title = 'again'") == "0");
  for (const auto& p : posts) {
    CHECK(p.title == "again");
    CHECK(p.isDirty());
  }

  // A statement the server refuses (an empty title breaks the CHECK): named, the rest not written.
  posts.erase(posts.begin() + 7);
  posts[20].title = "";
  try {
    author.related<&User::posts>().saveMany(posts);
    FAIL("saveMany did not throw");
  } catch (const kith::ConstraintError& e) {
    CHECK(e.sqlstate() == "23514");
    CHECK_THAT(std::string(e.what()), test::Contains("statement 21 of 49 sent in one pipeline: the 28 after it did not run"));
  }
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE title = 'again'") == "0");
  CHECK_FALSE(db.inTransaction());
  posts[20].title = "mended";
  author.related<&User::posts>().saveMany(posts);
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE title = 'again'") == "48");
  for (const auto& p : posts) CHECK_FALSE(p.isDirty());
}
#endif
