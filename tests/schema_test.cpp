// createTables: the DDL it sends, NOT NULL and keys as declared, and that it never touches an
// existing table.
#include "support.hpp"

namespace schema {
enum class Status { Draft, Published };
struct Article : kith::BaseModel<Article> {
  std::int64_t id{};
  std::string title;
  std::optional<std::string> subtitle;
  double score{};
  bool pinned{};
  Status status{};
  kith::Blob cover;
  static constexpr auto columns = kith::columns<&Article::id, &Article::title, &Article::subtitle, &Article::score, &Article::pinned,
                                                &Article::status, &Article::cover>;
};
}  // namespace schema

using schema::Article;

TEST_CASE("createTables sends CREATE TABLE IF NOT EXISTS from the declarations, in one transaction", "[schema][portable]") {
  auto db = test::database();
  test::StatementLog log(db);
  kith::createTables<Article, test::User>(db);
  if (test::onPostgres())
    CHECK(log.sql() ==
          std::vector<std::string>{
              "BEGIN",
              R"(CREATE TABLE IF NOT EXISTS "articles" ("id" BIGSERIAL PRIMARY KEY, "title" TEXT NOT NULL, "subtitle" TEXT, )"
              R"("score" DOUBLE PRECISION NOT NULL, "pinned" BOOLEAN NOT NULL, "status" BIGINT NOT NULL, "cover" BYTEA NOT NULL))",
              R"(CREATE TABLE IF NOT EXISTS "users" ("id" BIGSERIAL PRIMARY KEY, "email" TEXT NOT NULL, "name" TEXT))", "COMMIT"});
  else
    CHECK(log.sql() == std::vector<std::string>{
                           "BEGIN IMMEDIATE",
                           R"(CREATE TABLE IF NOT EXISTS "articles" ("id" INTEGER PRIMARY KEY, "title" TEXT NOT NULL, "subtitle" TEXT, )"
                           R"("score" REAL NOT NULL, "pinned" INTEGER NOT NULL, "status" INTEGER NOT NULL, "cover" BLOB NOT NULL))",
                           R"(CREATE TABLE IF NOT EXISTS "users" ("id" INTEGER PRIMARY KEY, "email" TEXT NOT NULL, "name" TEXT))",
                           "COMMIT"});
}

TEST_CASE("the tables created enforce NOT NULL and generate integer ids", "[schema][portable]") {
  auto db = test::database();
  kith::createTables<Article>(db);
  CHECK_THROWS_AS(db.execute("INSERT INTO articles (title, score, pinned, status, cover) VALUES (NULL, 0, ?, 0, ?)", false, kith::Blob{}),
                  kith::NotNullViolation);
  Article a{{}, 0, "Hello", std::nullopt, 4.5, true, schema::Status::Published, {}};
  a.save(db);
  CHECK(a.id > 0);  // 1 on SQLite; 2 on PostgreSQL, whose sequence gave 1 to the failed INSERT
  CHECK(Article::findOrFail(db, a.id).status == schema::Status::Published);
}

TEST_CASE("createTables never drops or rewrites an existing table", "[schema][portable]") {
  auto db = test::database();
  db.execute("CREATE TABLE users (" + test::idColumn() + ", email TEXT, legacy TEXT)");
  db.execute("INSERT INTO users (email, legacy) VALUES ('kept@b', 'old')");
  kith::createTables<test::User>(db);
  kith::createTables<test::User>(db);
  CHECK(test::rows(db, "users") == 1);
  CHECK(db.execute("UPDATE users SET legacy = 'still here'") == 1);  // the legacy column survived
}

namespace schema {
struct Note;
struct Author : kith::BaseModel<Author> {
  std::int64_t id{};
  kith::HasMany<Note> notes;
  static constexpr auto columns = kith::columns<&Author::id>;
  static constexpr auto relations = kith::relations<&Author::notes>;
};
struct Note : kith::BaseModel<Note> {
  std::int64_t id{};
  std::int64_t authorId{};
  static constexpr auto columns = kith::columns<&Note::id, &Note::authorId>;
};
}  // namespace schema

TEST_CASE("createTables indexes the foreign key of each relation a model lists", "[schema][portable]") {
  auto db = test::database();
  test::StatementLog log(db);
  kith::createTables<schema::Author, schema::Note>(db);
  CHECK(log.sql()[3] == R"(CREATE INDEX IF NOT EXISTS "notes_author_id_index" ON "notes" ("author_id"))");
  if (test::onPostgres()) {
    CHECK(test::scalar(db, "SELECT indexdef FROM pg_indexes WHERE indexname = 'notes_author_id_index' AND schemaname = current_schema()") ==
          "CREATE INDEX notes_author_id_index ON " + test::scalar(db, "SELECT current_schema()") + ".notes USING btree (author_id)");
  } else {
    std::string plan;
    for (const auto& row : test::select(db, "EXPLAIN QUERY PLAN SELECT * FROM notes WHERE author_id = 1")) plan += row.back().value_or("");
    CHECK(plan.find("INDEX notes_author_id_index (author_id=?)") != std::string::npos);
  }
  kith::createTables<schema::Author, schema::Note>(db);  // again: nothing changes, nothing fails
}
