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

// The labels table as two releases of a model see it: `name` became `title`, said or not.
struct RenamedLabel : kith::BaseModel<RenamedLabel> {
  std::int64_t id{};
  std::string title;

  static constexpr std::string_view table = "labels";
  static constexpr auto columns = kith::columns<&RenamedLabel::id, &RenamedLabel::title>;
  static constexpr kith::RenamedColumn renamedColumns[] = {{.from = "name", .to = "title"}};
};

struct RetitledLabel : kith::BaseModel<RetitledLabel> {
  std::int64_t id{};
  std::string title;

  static constexpr std::string_view table = "labels";
  static constexpr auto columns = kith::columns<&RetitledLabel::id, &RetitledLabel::title>;
};

/// The text without whitespace or // comments: how a generated source compares with the same
/// code stringized by the preprocessor.
std::string tokensOf(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "//") == 0) {
      i = text.find('\n', i);
      if (i == std::string::npos) break;
      continue;
    }
    if (!std::isspace(static_cast<unsigned char>(text[i]))) out += text[i];
  }
  return out;
}

// A migration written once, as code and as text: the generated source must read as this code.
#define KITH_CODE_AND_TEXT(name, ...)     \
  const kith::Migration name __VA_ARGS__; \
  const std::string name##Text = "const kith::Migration " #name #__VA_ARGS__ ";";

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
    kith::migrate(db, std::vector<kith::Migration>{{"1_score",
                                                    [](kith::Schema& s) {
                                                      s.alterTable("articles", [](kith::TableChanges& t) {
                                                        t.addColumn<std::optional<double>>("score");
                                                      });
                                                    },
                                                    {}}});
    CHECK(problems(db).empty());
  }
}

TEST_CASE("diffSchema: the migration that brings an empty database to the models, as source and as a value, and its down undoes it",
          "[verify][portable]") {
  auto db = test::database();
  const auto diff = kith::diffSchema<Writer, Article, Label>(db);
  REQUIRE_FALSE(diff.empty());
  const std::string source = diff.source("createBlog", "2026_12_05_01_blog");
  CHECK_THAT(
      source,
      Catch::Contains("      s.createTable(\"writers\", [](kith::TableBuilder& t) {\n        t.id();\n"
                      "        t.column<std::string>(\"name\");\n        t.column<std::optional<std::string>>(\"bio\");\n      });") &&
          Catch::Contains("t.column<std::chrono::sys_time<std::chrono::microseconds>>(\"created_at\");") &&
          Catch::Contains("      s.createTable(\"label_writer\", [](kith::TableBuilder& t) {\n"
                          "        t.column<std::int64_t>(\"writer_id\");\n        t.column<std::int64_t>(\"label_id\");\n") &&
          Catch::Contains("t.index({\"writer_id\"}, {.name = \"articles_writer_id_index\"});") &&
          Catch::Contains(
              "t.index({\"writer_id\", \"label_id\"}, {.name = \"label_writer_writer_id_label_id_unique\", .unique = true});") &&
          Catch::Contains("      s.dropTable(\"writers\");\n      // the down drops what the up made: say so once you have checked\n"
                          "      // s.acceptDataLoss();"));
  // Applied: nothing left to report or to change.
  const std::vector<kith::Migration> list{diff.migration("2026_12_05_01_blog", true)};
  kith::migrate(db, list);
  CHECK(problems(db).empty());
  CHECK(kith::diffSchema<Writer, Article, Label>(db).empty());
  CHECK(kith::diffSchema<Writer, Article, Label>(db).source("m", "1").find("s.alterTable") == std::string::npos);
  // The models work on it.
  Writer w;
  w.name = "Le Guin";
  w.save(db);
  w.related<&Writer::articles>().create({.title = "The Ones Who Walk Away", .views = 3});
  CHECK(test::rows(db, "articles") == 1);
  // Its down returns to the start.
  db.execute("DELETE FROM articles");
  db.execute("DELETE FROM writers");
  kith::rollbackMigrations(db, list);
  CHECK(kith::verifySchema<Writer, Article, Label>(db).problems.size() == 4);  // the four tables missing, as at the start
  // Without acceptDataLoss the down is refused, as its source says.
  kith::migrate(db, std::vector<kith::Migration>{diff.migration("2026_12_05_01_blog")});
  CHECK_THROWS_WITH(kith::rollbackMigrations(db, std::vector<kith::Migration>{diff.migration("2026_12_05_01_blog")}),
                    Catch::Contains("which loses data"));
}

namespace verify_test {
KITH_CODE_AND_TEXT(driftFix, {"2026_12_05_02_drift",
                              [](kith::Schema& s) {
                                s.alterTable("articles", [](kith::TableChanges& t) {
                                  t.changeColumn<std::int64_t>("views");
                                  t.addColumn<std::optional<double>>("score");
                                  t.dropColumn("legacy");
                                });
                                s.alterTable("label_writer", [](kith::TableChanges& t) {
                                  t.index({"writer_id", "label_id"}, {.name = "label_writer_writer_id_label_id_unique", .unique = true});
                                });
                                // s.acceptDataLoss();
                              },
                              [](kith::Schema& s) {
                                s.alterTable("label_writer",
                                             [](kith::TableChanges& t) { t.dropIndex("label_writer_writer_id_label_id_unique"); });
                                s.alterTable("articles", [](kith::TableChanges& t) {
                                  t.addColumn<std::string>("legacy").defaultTo(std::string());
                                  t.dropColumn("score");
                                  t.changeColumn<std::string>("views");
                                });
                                // s.acceptDataLoss();
                              }})
}  // namespace verify_test

TEST_CASE("diffSchema: a drifted database, the generated source read as code, rows kept, renames only when declared",
          "[verify][portable]") {
  auto db = test::database();
  kith::createTables<Writer, Article, Label>(db);
  db.execute("INSERT INTO writers (name) VALUES ('Lem')");
  db.execute("INSERT INTO articles (writer_id, title, views, created_at) VALUES (1, 'Solaris', 7, '2026-12-05 00:00:00')");
  db.execute("ALTER TABLE articles DROP COLUMN score");
  db.execute("ALTER TABLE articles DROP COLUMN views");
  db.execute("ALTER TABLE articles ADD COLUMN views TEXT NOT NULL DEFAULT '7'");
  db.execute("ALTER TABLE articles ADD COLUMN legacy TEXT NOT NULL DEFAULT ''");
  db.execute("DROP INDEX label_writer_writer_id_label_id_unique");
  const auto diff = kith::diffSchema<Writer, Article, Label>(db);
  const std::string source = diff.source("driftFix", "2026_12_05_02_drift");
  CAPTURE(source);
  CHECK(tokensOf(source) == tokensOf(driftFixText));
  CHECK_THAT(source,
             Catch::Contains("        // was " + std::string(test::onPostgres() ? "text" : "TEXT") + " NOT NULL\n") &&
                 Catch::Contains("        // no member of model Article maps articles.legacy; if it was renamed to score, declare it in "
                                 "renamedColumns instead: this drop loses its values\n"));
  // The code that reads as the source does what the value does: refused until the loss is accepted.
  CHECK_THROWS_WITH(kith::migrate(db, std::vector<kith::Migration>{driftFix}), Catch::Contains("drops column articles.legacy"));
  kith::migrate(db, std::vector<kith::Migration>{diff.migration("2026_12_05_02_drift", true)});
  CHECK(problems(db).empty());
  CHECK(kith::diffSchema<Writer, Article, Label>(db).empty());
  CHECK(test::scalar(db, "SELECT views FROM articles") == "7");  // text '7' became the integer 7
  CHECK(Article::query(db).firstOrFail().views == 7);

  SECTION("a rename the model declares is a rename: the values stay") {
    db.execute("INSERT INTO labels (name) VALUES ('classic')");
    const auto renamed = kith::diffSchema<RenamedLabel>(db);
    CHECK_THAT(renamed.source("m", "3"), Catch::Contains("        t.renameColumn(\"name\", \"title\");"));
    const std::vector<kith::Migration> list{renamed.migration("3")};  // loses nothing: no acceptDataLoss needed
    kith::migrate(db, list);
    CHECK(RenamedLabel::query(db).firstOrFail().title == "classic");
    CHECK(kith::diffSchema<RenamedLabel>(db).empty());
    kith::rollbackMigrations(db, list);
    CHECK(Label::query(db).firstOrFail().name == "classic");
  }
  SECTION("an undeclared rename is a drop and an add, said in a comment, and refused as a loss") {
    const auto retitled = kith::diffSchema<RetitledLabel>(db);
    const std::string text = retitled.source("m", "3");
    CHECK_THAT(text, Catch::Contains("t.addColumn<std::string>(\"title\").defaultTo(std::string());") &&
                         Catch::Contains("// no member of model RetitledLabel maps labels.name; if it was renamed to title, declare it in "
                                         "renamedColumns instead: this drop loses its values\n        t.dropColumn(\"name\");"));
    CHECK_THROWS_WITH(kith::migrate(db, std::vector<kith::Migration>{retitled.migration("3")}), Catch::Contains("which loses data"));
  }
}
