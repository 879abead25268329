// PostgreSQL's pipeline mode for bulk writes: createMany's multi-row INSERTs sent without waiting
// for each answer, and what a failure in the middle of a pipeline leaves (the statement named, the
// rows and the models as after any failed write, the connection usable).
#include "support.hpp"

using test::Post;

#ifdef KITH_TEST_HAVE_POSTGRES
namespace {

std::vector<Post> posts(std::size_t n, std::size_t emptyTitleAt = std::size_t(-1)) {
  std::vector<Post> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].userId = 1;
    out[i].title = i == emptyTitleAt ? "" : "post " + std::to_string(i);
    out[i].body = "body";
  }
  return out;
}

struct PipelineLog {
  std::vector<std::pair<std::string, bool>> statements;  // SQL (its first words), pipelined
  explicit PipelineLog(const kith::Connection& db) {
    db.onQuery([this](const kith::QueryEvent& e) { statements.emplace_back(std::string(e.sql.substr(0, 20)), e.pipelined); });
  }
  std::size_t pipelined() const {
    return static_cast<std::size_t>(std::count_if(statements.begin(), statements.end(), [](const auto& s) { return s.second; }));
  }
};

}  // namespace

TEST_CASE("PostgreSQL: createMany sends its INSERTs in one pipeline, or one at a time when asked", "[pipeline][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = test::blogDatabase();
  const auto schema = test::scalar(db, "SELECT current_schema()");
  {
    PipelineLog log(db);
    const auto created = Post::createMany(db, posts(600));  // 64-row chunks: 9, then 16 and 8 rows
    REQUIRE(created.size() == 600);
    CHECK(test::rows(db, "posts") == 600);
    CHECK(created[599].id == std::stoll(test::scalar(db, "SELECT max(id) FROM posts")));
    CHECK(test::scalar(db, "SELECT title FROM posts WHERE id = " + std::to_string(created[300].id)) == "post 300");
    // BEGIN and the key reservation wait for their answers; the 11 INSERTs do not; then COMMIT.
    REQUIRE(log.statements.size() == 14);
    CHECK(log.statements.front() == std::pair<std::string, bool>{"BEGIN", false});
    CHECK(log.statements.back() == std::pair<std::string, bool>{"COMMIT", false});
    CHECK(log.pipelined() == 11);
    for (std::size_t i = 2; i < 13; ++i) CHECK(log.statements[i] == std::pair<std::string, bool>{"INSERT INTO \"posts\" ", true});
  }
  {
    auto sequential = kith::postgres::open(test::postgresConninfo(schema), {.pipeline = false});
    PipelineLog log(sequential);
    CHECK(Post::createMany(sequential, posts(600)).size() == 600);
    CHECK(log.statements.size() == 14);
    CHECK(log.pipelined() == 0);
    CHECK(test::rows(db, "posts") == 1200);
  }
  // One INSERT (8 rows: the smallest chunk) needs no pipeline; 40 rows are five 8-row INSERTs.
  PipelineLog log(db);
  Post::createMany(db, posts(8));
  CHECK(log.pipelined() == 0);
  Post::createMany(db, posts(40));
  CHECK(log.pipelined() == 5);
}

TEST_CASE("PostgreSQL: a statement that fails in a pipeline is named, nothing after it is written, and the models are as before",
          "[pipeline][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = test::blogDatabase();
  auto rows = posts(600, 300);  // row 300's empty title breaks the CHECK: the 5th of 11 INSERTs
  try {
    Post::createMany(db, rows);
    FAIL("the createMany did not throw");
  } catch (const kith::ConstraintError& e) {
    CHECK(e.sqlstate() == "23514");
    CHECK_THAT(std::string(e.what()), test::Contains("statement 5 of 11 sent in one pipeline: the 6 after it did not run"));
    CHECK(e.sql().starts_with(R"(INSERT INTO "posts" ("id", "user_id", "title", "body") VALUES)"));
  }
  CHECK(test::rows(db, "posts") == 0);
  for (const auto& p : rows) {
    CHECK(p.id == 0);
    CHECK_FALSE(p.isPersisted());
  }
  CHECK_FALSE(db.inTransaction());
  // The connection is out of pipeline mode and usable: the same rows, mended, go in.
  rows[300].title = "mended";
  CHECK(Post::createMany(db, rows).size() == 600);
  CHECK(test::rows(db, "posts") == 600);

  // Inside the caller's transaction: its savepoint is rolled back, the transaction goes on.
  db.transaction([&](kith::Transaction& trx) {
    CHECK_THROWS_AS(Post::createMany(trx, posts(600, 599)), kith::ConstraintError);
    CHECK(Post::createMany(trx, posts(100)).size() == 100);
  });
  CHECK(test::rows(db, "posts") == 700);
}
#endif

#ifdef KITH_TEST_HAVE_POSTGRES
TEST_CASE("PostgreSQL: a transaction's BEGIN goes with its first statement, at the isolation level asked for", "[pipeline][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = test::blogDatabase();
  // The server runs the transaction at the level asked for, though BEGIN left with the SHOW.
  db.transaction([&](kith::Transaction& trx) { CHECK(test::scalar(trx, "SHOW transaction_isolation") == "serializable"); },
                 {.isolation = kith::Isolation::Serializable});
  db.transaction([&](kith::Transaction& trx) { CHECK(test::scalar(trx, "SHOW transaction_isolation") == "read committed"); });
  // A transaction that sends nothing commits and rolls back without a word to the server.
  db.transaction([](kith::Transaction&) {});
  auto empty = db.begin();
  empty.rollback();
  CHECK_FALSE(db.inTransaction());
  // What the raw handle sends inside a kith transaction is part of it: BEGIN goes first.
  CHECK_THROWS_AS(db.transaction([&](kith::Transaction& trx) {
    PGresult* r = PQexec(kith::postgres::handle(trx), "INSERT INTO users (email) VALUES ('raw@example.com')");
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
    throw std::runtime_error("roll it back");
  }),
                  std::runtime_error);
  CHECK(test::rows(db, "users") == 0);
  // After a statement that failed with BEGIN in its flight, the transaction is rolled back as any.
  CHECK_THROWS_AS(db.transaction([&](kith::Transaction& trx) { trx.execute("INSERT INTO no_such_table VALUES (1)"); }),
                  kith::DatabaseError);
  CHECK_FALSE(db.inTransaction());
  db.transaction([&](kith::Transaction& trx) { trx.execute("INSERT INTO users (email) VALUES ('after@example.com')"); });
  CHECK(test::rows(db, "users") == 1);
}

TEST_CASE("PostgreSQL: createMany's COMMIT goes in its pipeline, and a failure at COMMIT leaves nothing written", "[pipeline][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = test::blogDatabase();
  // A unique constraint checked at COMMIT: the INSERTs all succeed, the COMMIT fails.
  db.execute("ALTER TABLE posts ADD CONSTRAINT posts_title_unique UNIQUE (title) DEFERRABLE INITIALLY DEFERRED");
  auto rows = posts(600);
  rows[599].title = rows[3].title;
  try {
    Post::createMany(db, rows);
    FAIL("the createMany did not throw");
  } catch (const kith::UniqueViolation& e) {
    CHECK(e.sqlstate() == "23505");
    CHECK(e.sql() == "COMMIT");
  }
  CHECK(test::rows(db, "posts") == 0);
  for (const auto& p : rows) CHECK_FALSE(p.isPersisted());
  CHECK_FALSE(db.inTransaction());
  rows[599].title = "unique";
  const auto created = Post::createMany(db, rows);
  CHECK(test::rows(db, "posts") == 600);
  CHECK(created[599].id == std::stoll(test::scalar(db, "SELECT id FROM posts WHERE title = 'unique'")));
}
#endif
