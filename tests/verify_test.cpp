// kith::verifySchema: the live schema against the models, on SQLite and PostgreSQL — nothing to
// report after createTables, and each kind of drift reported by a sentence naming the table, the
// column and the member.
#include "support.hpp"

#include <kith/verify.hpp>

namespace verify_test {

struct Article;
struct Label;

struct Writer : kith::BaseModel<Writer> {
  std::int64_t id{};
  std::string name;
  std::optional<std::string> bio;
  kith::HasMany<Article> articles;
  kith::ManyToMany<Label> labels;

  static constexpr auto columns = kith::columns<&Writer::id, &Writer::name, &Writer::bio>;
  static constexpr auto relations = kith::relations<&Writer::articles, &Writer::labels>;
};

struct Article : kith::BaseModel<Article> {
  std::int64_t id{};
  std::int64_t writerId{};
  std::string title;
  std::int64_t views{};
  std::optional<double> score;
  std::chrono::sys_time<std::chrono::microseconds> createdAt{};

  static constexpr auto columns =
      kith::columns<&Article::id, &Article::writerId, &Article::title, &Article::views, &Article::score, &Article::createdAt>;
};

struct Label : kith::BaseModel<Label> {
  std::int64_t id{};
  std::string name;

  static constexpr auto columns = kith::columns<&Label::id, &Label::name>;
};

std::vector<std::string> problems(const kith::Connection& db) {
  std::vector<std::string> out;
  for (const auto& p : kith::verifySchema<Writer, Article, Label>(db).problems) out.push_back(p.message);
  return out;
}

}  // namespace verify_test

using namespace verify_test;

TEST_CASE("verifySchema: nothing to report on the tables createTables made, each drift reported by name", "[verify][portable]") {
  auto db = test::database();
  const bool pg = test::onPostgres();
  SECTION("an empty database: every table missing") {
    CHECK(problems(db) == std::vector<std::string>{"table \"writers\" (model Writer) does not exist",
                                                   "table \"articles\" (model Article) does not exist",
                                                   "table \"labels\" (model Label) does not exist",
                                                   "table \"label_writer\" (a pivot table createTables makes) does not exist"});
  }
  kith::createTables<Writer, Article, Label>(db);
  const auto report = kith::verifySchema<Writer, Article, Label>(db);
  CHECK(report.ok());
  CHECK(report.describe().empty());
  SECTION("after createTables: nothing") { CHECK(problems(db).empty()); }
  SECTION("a missing column") {
    db.execute("ALTER TABLE articles DROP COLUMN score");
    CHECK(problems(db) == std::vector<std::string>{"column articles.score (Article::score) does not exist"});
  }
  SECTION("a column whose type cannot hold the member") {
    db.execute("ALTER TABLE articles DROP COLUMN views");
    db.execute("ALTER TABLE articles ADD COLUMN views TEXT NOT NULL DEFAULT '0'");
    CHECK(problems(db) == std::vector<std::string>{std::string("column articles.views is ") + (pg ? "text" : "TEXT") +
                                                   ", which cannot hold Article::views (an integer)"});
  }
  SECTION("NULL allowed for a member that is not optional; NOT NULL for one that is") {
    db.execute("ALTER TABLE writers DROP COLUMN bio");
    db.execute("ALTER TABLE writers ADD COLUMN bio TEXT NOT NULL DEFAULT ''");
    db.execute("ALTER TABLE articles DROP COLUMN title");
    db.execute("ALTER TABLE articles ADD COLUMN title TEXT");
    CHECK(problems(db) ==
          std::vector<std::string>{"column writers.bio is NOT NULL, but Writer::bio is a std::optional: saving it empty fails",
                                   "column articles.title allows NULL, but Article::title is not a std::optional: a row holding NULL there "
                                   "cannot be read"});
  }
  SECTION("a column no member writes, NOT NULL without a default") {
    db.execute("ALTER TABLE articles ADD COLUMN slug TEXT NOT NULL DEFAULT ''");  // has a default: fine
    CHECK(problems(db).empty());
    db.execute("CREATE TABLE old_labels AS SELECT * FROM labels");
    db.execute("DROP TABLE labels");
    db.execute("CREATE TABLE labels (" + test::idColumn() + ", name TEXT NOT NULL, colour TEXT NOT NULL)");
    CHECK(problems(db) ==
          std::vector<std::string>{"column labels.colour is NOT NULL without a default, and no member of model Label writes "
                                   "it: every insert fails"});
  }
  SECTION("a relation's foreign key without its index; the pivot table's unique pair") {
    db.execute("DROP INDEX articles_writer_id_index");
    db.execute("DROP INDEX label_writer_writer_id_label_id_unique");
    db.execute("CREATE INDEX label_writer_pair ON label_writer (writer_id, label_id)");  // not unique: not enough
    CHECK(problems(db) ==
          std::vector<std::string>{"no index on articles (writer_id), a relation's key that every read of it filters by "
                                   "(createTables names it articles_writer_id_index)",
                                   "no unique index on label_writer (writer_id, label_id), which the relation's writes rely on "
                                   "(createTables names it label_writer_writer_id_label_id_unique)"});
    db.execute("CREATE INDEX articles_by_writer ON articles (writer_id, created_at)");  // any index led by the key serves
    db.execute("CREATE UNIQUE INDEX pair ON label_writer (writer_id, label_id)");
    CHECK(problems(db).empty());
  }
  SECTION("a generated key the database does not generate") {
    db.execute("DROP TABLE labels");
    db.execute(std::string("CREATE TABLE labels (id BIGINT") + (pg ? "" : "") + " PRIMARY KEY, name TEXT NOT NULL)");
    CHECK(problems(db) ==
          std::vector<std::string>{pg ? "column labels.id generates no key for Label::id (declare it BIGSERIAL or an identity)"
                                      : "column labels.id is not the table's INTEGER PRIMARY KEY, so SQLite generates no key "
                                        "for Label::id"});
  }
  SECTION("a migration brings the drift back") {
    db.execute("ALTER TABLE articles DROP COLUMN score");
    REQUIRE(problems(db).size() == 1);
    kith::migrate(db, std::vector<kith::Migration>{{"1_score", [](kith::Schema& s) {
                                                      s.alterTable("articles", [](kith::TableChanges& t) {
                                                        t.addColumn<std::optional<double>>("score");
                                                      });
                                                    }}});
    CHECK(problems(db).empty());
  }
}
