// Migrations: the runner (order, batches, records, checksums, repair, rollback, status, dry runs,
// data loss refused, statements outside transactions, failures that leave nothing, two runners at
// once) and every schema operation up then down on tables holding rows, on SQLite (native ALTER
// TABLE or the table rebuild) and PostgreSQL: rows, indexes, foreign keys in and out, triggers and
// views survive, and the schema after down is the schema before up.
#include "support.hpp"

#include <kith/migrate.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace migrate_test {

using kith::Migration;
using kith::Schema;
using kith::TableBuilder;
using kith::TableChanges;

/// The schema as the database describes it (not its SQL text): each table's columns (name, type,
/// NULL, default), indexes with their columns, foreign keys, and the triggers and views, one line
/// each, sorted; kith_migrations left out.
std::string schemaOf(const kith::Connection& db) {
  std::vector<std::string> lines;
  const auto add = [&](const std::vector<test::RawRow>& rows, const std::string& what) {
    for (const auto& row : rows) {
      std::string line = what;
      for (const auto& v : row) line += " | " + v.value_or("NULL");
      lines.push_back(line);
    }
  };
  if (test::onPostgres()) {
    add(test::select(db,
                     "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '') FROM information_schema.columns "
                     "WHERE table_schema = current_schema() AND table_name <> 'kith_migrations'"),
        "column");
    add(test::select(db,
                     "SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes WHERE schemaname = "
                     "current_schema() AND tablename <> "
                     "'kith_migrations'"),
        "index");
    add(test::select(db,
                     "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_namespace n "
                     "ON n.oid = c.connamespace WHERE n.nspname = current_schema() AND c.contype IN ('f', 'u', 'c')"),
        "constraint");
    add(test::select(db,
                     "SELECT event_object_table, trigger_name, event_manipulation FROM information_schema.triggers WHERE "
                     "trigger_schema = current_schema()"),
        "trigger");
    // Views by name (their columns are among the columns above): one recreated around a type
    // change reads the same, but PostgreSQL writes its definition back with casts.
    add(test::select(db, "SELECT viewname FROM pg_views WHERE schemaname = current_schema()"), "view");
  } else {
    for (const auto& t : test::select(db,
                                      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> "
                                      "'kith_migrations'")) {
      const std::string table = *t[0];
      // The declared type by its affinity: a rebuild writes kith's INTEGER where the table said BIGINT.
      add(test::select(db,
                       "SELECT '" + table +
                           "', name, CASE WHEN upper(type) LIKE '%INT%' THEN 'INTEGER' WHEN upper(type) LIKE '%CHAR%' OR "
                           "upper(type) LIKE '%TEXT%' OR upper(type) LIKE '%CLOB%' THEN 'TEXT' WHEN type = '' OR upper(type) LIKE '%BLOB%' "
                           "THEN 'BLOB' ELSE 'REAL' END, \"notnull\", dflt_value, pk FROM pragma_table_xinfo('" +
                           table + "')"),
          "column");
      for (const auto& index : test::select(db, "SELECT name, \"unique\" FROM pragma_index_list('" + table + "')")) {
        std::string columns;
        for (const auto& c : test::select(db, "SELECT name FROM pragma_index_info('" + *index[0] + "') ORDER BY seqno"))
          columns += *c[0] + ",";
        lines.push_back("index | " + table + " | " + (index[0]->starts_with("sqlite_autoindex") ? "(auto)" : *index[0]) + " | " +
                        *index[1] + " | " + columns);
      }
      add(test::select(db, "SELECT '" + table + "', \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list('" +
                               table + "')"),
          "foreign key");
    }
    // Triggers and views by their SQL without quotes: a rename rewrites `books` as `"books"`.
    add(test::select(db, "SELECT type, name, tbl_name, replace(sql, '\"', '') FROM sqlite_schema WHERE type IN ('trigger', 'view')"),
        "object");
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

/// Every row of a table, by content, in key order.
std::string rowsOf(const kith::Connection& db, const std::string& table, const std::string& columns = "*") {
  std::string out;
  for (const auto& row : test::select(db, "SELECT " + columns + " FROM " + table + " ORDER BY id")) {
    for (const auto& v : row) out += v.value_or("NULL") + "|";
    out += "\n";
  }
  return out;
}

/// A library with rows: authors, books (a foreign key out to authors, a trigger, a view over it)
/// and reviews (a foreign key into books).
kith::Connection library() {
  auto db = test::database();
  const std::string id = test::idColumn();
  db.execute("CREATE TABLE authors (" + id + ", name TEXT NOT NULL)");
  db.execute("CREATE TABLE books (" + id +
             ", author_id BIGINT NOT NULL REFERENCES authors (id), title TEXT NOT NULL, pages BIGINT NOT NULL DEFAULT 0)");
  db.execute("CREATE TABLE reviews (" + id + ", book_id BIGINT NOT NULL REFERENCES books (id), stars BIGINT NOT NULL)");
  db.execute("CREATE TABLE log (" + id + ", book_id BIGINT NOT NULL)");
  db.execute("CREATE INDEX books_author ON books (author_id)");
  db.execute("CREATE VIEW long_books AS SELECT id, title FROM books WHERE pages > 300");
  if (test::onPostgres()) {
    db.execute(
        "CREATE FUNCTION log_book() RETURNS trigger AS $$ BEGIN INSERT INTO log (book_id) VALUES (NEW.id); RETURN NEW; END $$ LANGUAGE "
        "plpgsql");
    db.execute("CREATE TRIGGER books_log AFTER INSERT ON books FOR EACH ROW EXECUTE FUNCTION log_book()");
  } else {
    db.execute("CREATE TRIGGER books_log AFTER INSERT ON books BEGIN INSERT INTO log (book_id) VALUES (NEW.id); END");
  }
  db.execute("INSERT INTO authors (name) VALUES ('Le Guin'), ('Lem')");
  db.execute("INSERT INTO books (author_id, title, pages) VALUES (1, 'The Dispossessed', 387), (1, 'Earthsea', 205), (2, 'Solaris', 204)");
  db.execute("INSERT INTO reviews (book_id, stars) VALUES (1, 5), (3, 4)");
  db.execute("DELETE FROM log");
  return db;
}

/// What makes the library work: its foreign keys refuse a dangling key both ways, its trigger
/// fires, its view reads. Leaves the rows as they were.
void checkLibraryWorks(const kith::Connection& db, const std::string& books = "books", const std::string& title = "title") {
  const auto insert = [&](const kith::Connection& c, int author) {
    c.execute("INSERT INTO " + books + " (author_id, " + title + ", pages) VALUES (" + std::to_string(author) + ", 'The Cyberiad', 301)");
  };
  CHECK_THROWS_AS(db.execute("INSERT INTO reviews (book_id, stars) VALUES (99, 1)"), kith::ConstraintError);  // the key into books
  CHECK_THROWS_AS(insert(db, 99), kith::ConstraintError);                                                     // the key out of books
  db.transaction([&](kith::Transaction& trx) {
    insert(trx, 2);
    CHECK(test::scalar(trx, "SELECT count(*) FROM log") == "1");         // the trigger fired
    CHECK(test::scalar(trx, "SELECT count(*) FROM long_books") == "2");  // the view reads it beside The Dispossessed
    trx.rollback();
  });
}

Migration migration(std::string name, std::function<void(Schema&)> up, std::function<void(Schema&)> down) {
  return Migration{std::move(name), std::move(up), std::move(down)};
}

/// A migration that creates table `table` (id, label) and drops it on the way down.
Migration creates(std::string name, std::string table) {
  return Migration{std::move(name),
                   [table](Schema& s) {
                     s.createTable(table, [](TableBuilder& t) {
                       t.id();
                       t.column<std::string>("label");
                     });
                   },
                   [table](Schema& s) {
                     s.dropTable(table);
                     s.acceptDataLoss();
                   }};
}

bool tableExists(const kith::Connection& db, const std::string& table) {
  const std::string sql =
      test::onPostgres()
          ? "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '" + table + "'"
          : "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + table + "'";
  return test::scalar(db, sql) == "1";
}

/// name:batch of every applied migration, in name order.
std::string records(const kith::Connection& db) {
  std::string out;
  for (const auto& row : test::select(db, "SELECT name, batch FROM kith_migrations ORDER BY name")) out += *row[0] + ":" + *row[1] + " ";
  return out;
}

/// name:state of each migration status.
std::string states(const std::vector<kith::MigrationStatus>& list) {
  static const char* names[] = {"applied", "pending", "changed", "unknown"};
  std::string out;
  for (const auto& s : list) out += s.name + ":" + names[static_cast<int>(s.state)] + " ";
  return out;
}

/// A database other processes open too: a SQLite file in WAL mode, or a PostgreSQL schema.
class SharedDatabase {
 public:
  SharedDatabase() {
#ifdef KITH_TEST_HAVE_POSTGRES
    if (test::onPostgres()) {
      auto db = test::database();
      schema_ = test::scalar(db, "SELECT current_schema()");
    }
#endif
  }
  kith::Connection open(std::chrono::milliseconds busyTimeout = std::chrono::milliseconds(5000)) const {
#ifdef KITH_TEST_HAVE_POSTGRES
    if (test::onPostgres()) return test::postgresSchema(schema_);
#endif
    return kith::sqlite::open(file_, {.busyTimeout = busyTimeout, .wal = true});
  }

 private:
  test::TempDir dir_;
  std::string file_ = dir_.file("app.db");
  std::string schema_;
};

}  // namespace migrate_test

using namespace migrate_test;

TEST_CASE("each schema operation, up then down, on tables holding rows: nothing lost, the schema as before", "[migrate][portable]") {
  auto db = library();
  const std::string schemaBefore = schemaOf(db);
  const std::string booksBefore = rowsOf(db, "books"), reviewsBefore = rowsOf(db, "reviews");

  const std::string all = "id, author_id, title, pages";
  struct Case {
    const char* what;
    Migration m;
    std::string before, after;  // columns of books whose rows must read after up as they did before it
    std::string table = "books", title = "title";
  };
  const std::vector<Case> cases{
      {"add a column",
       migration(
           "1", [](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.addColumn<std::optional<std::string>>("isbn"); }); },
           [](Schema& s) {
             s.alterTable("books", [](TableChanges& t) { t.dropColumn("isbn"); });
             s.acceptDataLoss();
           }),
       all, all},
      {"add a NOT NULL column with a default",
       migration(
           "1", [](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.addColumn<std::int64_t>("edition").defaultTo(1); }); },
           [](Schema& s) {
             s.alterTable("books", [](TableChanges& t) { t.dropColumn("edition"); });
             s.acceptDataLoss();
           }),
       all, all},
      {"rename a column",
       migration(
           "1", [](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.renameColumn("title", "name"); }); },
           [](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.renameColumn("name", "title"); }); }),
       all, "id, author_id, name, pages", "books", "name"},
      {"change a column's type (widening), NULL and default",
       migration(
           "1",
           [](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.changeColumn<std::optional<double>>("pages").defaultTo(1.5); }); },
           [](Schema& s) {
             s.alterTable("books", [](TableChanges& t) { t.changeColumn<std::int64_t>("pages").defaultTo(0); });
             s.acceptDataLoss();  // real to integer narrows
           }),
       "id, author_id, title, CAST(pages AS INTEGER)", "id, author_id, title, CAST(pages AS INTEGER)"},
      {"add and drop an index, a unique one",
       migration(
           "1",
           [](Schema& s) {
             s.alterTable("books", [](TableChanges& t) {
               t.index({"title"});
               t.unique({"author_id", "title"});
             });
           },
           [](Schema& s) {
             s.alterTable("books", [](TableChanges& t) {
               t.dropIndex("books_title_index");
               t.dropIndex("books_author_id_title_unique");
             });
           }),
       all, all},
      {"add a column with a foreign key, drop both",
       migration(
           "1",
           [](Schema& s) {
             s.alterTable("books", [](TableChanges& t) {
               t.addColumn<std::optional<std::int64_t>>("editor_id");
               t.foreign("editor_id", "authors", "id", {.onDelete = kith::OnAction::SetNull});
             });
           },
           [](Schema& s) {
             s.alterTable("books", [](TableChanges& t) {
               t.dropForeign("books_editor_id_foreign");
               t.dropColumn("editor_id");
             });
             s.acceptDataLoss();
           }),
       all, all},
      {"rename the table",
       migration(
           "1", [](Schema& s) { s.renameTable("books", "volumes"); }, [](Schema& s) { s.renameTable("volumes", "books"); }),
       all, all, "volumes"},
      {"create a table, drop it",
       migration(
           "1",
           [](Schema& s) {
             s.createTable("shelves", [](TableBuilder& t) {
               t.id();
               t.column<std::string>("label").unique();
               t.column<std::int64_t>("book_id");
               t.foreign("book_id", "books", "id", {.onDelete = kith::OnAction::Cascade});
               t.index({"book_id"});
             });
           },
           [](Schema& s) {
             s.dropTable("shelves");
             s.acceptDataLoss();
           }),
       all, all},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const std::vector<Migration> list{c.m};
    const std::string rows = rowsOf(db, "books", c.before);
    const auto up = kith::migrate(db, list);
    REQUIRE(up.migrations.size() == 1);
    CHECK(rowsOf(db, c.table, c.after) == rows);
    CHECK(rowsOf(db, "reviews") == reviewsBefore);
    checkLibraryWorks(db, c.table, c.title);
    const auto down = kith::rollbackMigrations(db, list);
    REQUIRE(down.migrations.size() == 1);
    CHECK(schemaOf(db) == schemaBefore);
    CHECK(rowsOf(db, "books") == booksBefore);
    CHECK(rowsOf(db, "reviews") == reviewsBefore);
    checkLibraryWorks(db);
  }
}

TEST_CASE("migrate applies pending migrations in name order, one batch per run, status and rollback follow the records",
          "[migrate][portable]") {
  auto db = test::database();
  // Given out of order: applied by name.
  std::vector<Migration> list{creates("2026_01_02_posts", "posts"), creates("2026_01_01_users", "users")};
  const auto first = kith::migrate(db, list);
  CHECK(first.batch == 1);
  REQUIRE(first.migrations.size() == 2);
  CHECK(first.migrations[0].name == "2026_01_01_users");
  CHECK(first.migrations[1].name == "2026_01_02_posts");
  CHECK(first.migrations[0].sql.at(0).starts_with("CREATE TABLE \"users\""));
  CHECK(records(db) == "2026_01_01_users:1 2026_01_02_posts:1 ");
  CHECK(tableExists(db, "users"));
  CHECK(tableExists(db, "posts"));

  CHECK(kith::migrate(db, list).migrations.empty());  // nothing pending: nothing runs, no batch
  CHECK(records(db) == "2026_01_01_users:1 2026_01_02_posts:1 ");

  list.push_back(creates("2026_01_03_tags", "tags"));
  list.push_back(creates("2026_01_04_likes", "likes"));
  CHECK(states(kith::migrationStatus(db, list)) ==
        "2026_01_01_users:applied 2026_01_02_posts:applied 2026_01_03_tags:pending 2026_01_04_likes:pending ");
  const auto second = kith::migrate(db, list);
  CHECK(second.batch == 2);
  CHECK(records(db) == "2026_01_01_users:1 2026_01_02_posts:1 2026_01_03_tags:2 2026_01_04_likes:2 ");
  const auto status = kith::migrationStatus(db, list);
  CHECK(status.at(3).batch == 2);
  CHECK(status.at(3).appliedAt.size() >= 19);  // 2026-12-05 18:00:00...

  // rollback: the last batch, newest first.
  const auto back = kith::rollbackMigrations(db, list);
  CHECK(back.batch == 2);
  REQUIRE(back.migrations.size() == 2);
  CHECK(back.migrations[0].name == "2026_01_04_likes");
  CHECK(back.migrations[1].name == "2026_01_03_tags");
  CHECK(records(db) == "2026_01_01_users:1 2026_01_02_posts:1 ");
  CHECK_FALSE(tableExists(db, "tags"));
  CHECK(tableExists(db, "posts"));

  // rollback to a name: everything after it, whatever its batch.
  kith::migrate(db, list);
  CHECK(records(db) == "2026_01_01_users:1 2026_01_02_posts:1 2026_01_03_tags:2 2026_01_04_likes:2 ");
  const auto to = kith::rollbackMigrations(db, list, {.to = "2026_01_01_users"});
  CHECK(to.migrations.size() == 3);
  CHECK(records(db) == "2026_01_01_users:1 ");
  CHECK(tableExists(db, "users"));
  CHECK_FALSE(tableExists(db, "posts"));
  CHECK_THROWS_WITH(kith::rollbackMigrations(db, list, {.to = "2026_01_03_tags"}), Catch::Contains("it is not applied"));

  // Applied but not in the program: status says so, and it cannot be rolled back.
  const std::vector<Migration> without{creates("2026_01_02_posts", "posts")};
  CHECK(states(kith::migrationStatus(db, without)) == "2026_01_01_users:unknown 2026_01_02_posts:pending ");
  CHECK_THROWS_WITH(kith::rollbackMigrations(db, without), Catch::Contains("\"2026_01_01_users\" is applied but not in this program"));
  CHECK(records(db) == "2026_01_01_users:1 ");

  // A migration without a down cannot be rolled back; nothing runs.
  const std::vector<Migration> noDown{Migration{"2026_01_01_users", list[1].up, {}}};
  CHECK_THROWS_WITH(kith::rollbackMigrations(db, noDown), Catch::Contains("has no down"));
  CHECK(tableExists(db, "users"));

  // Names: none empty, none twice.
  CHECK_THROWS_WITH(kith::migrate(db, std::vector<Migration>{creates("", "x")}), Catch::Contains("has no name"));
  CHECK_THROWS_WITH(kith::migrate(db, std::vector<Migration>{creates("a", "x"), creates("a", "y")}),
                    Catch::Contains("two migrations are named \"a\""));
  CHECK_FALSE(tableExists(db, "x"));

  // Inside a transaction: refused, since each migration is a transaction of its own.
  db.transaction([&](kith::Transaction& trx) {
    CHECK_THROWS_WITH(kith::migrate(trx, list), Catch::Contains("pass a connection outside any transaction"));
  });
}

TEST_CASE("a migration that fails at its third statement leaves the database as it was before it, those before it stay applied",
          "[migrate][portable]") {
  const std::vector<Migration> good{creates("1_shelves", "shelves")};
  auto reference = library();
  kith::migrate(reference, good);
  const std::string expected = schemaOf(reference);

  const auto fails = [](std::function<void(Schema&)> up) {
    return std::vector<Migration>{creates("1_shelves", "shelves"), Migration{"2_fails", std::move(up), {}}, creates("3_tags", "tags")};
  };
  SECTION("a statement the database refuses") {
    auto db = library();
    const std::string books = rowsOf(db, "books");
    const auto list = fails([](Schema& s) {
      s.createTable("notes", [](TableBuilder& t) { t.id(); });
      s.alterTable("books", [](TableChanges& t) { t.addColumn<std::optional<std::string>>("isbn"); });
      s.raw("INSERT INTO no_such_table (id) VALUES (1)");
    });
    try {
      kith::migrate(db, list);
      FAIL("the migration did not fail");
    } catch (const kith::MigrationError& e) {
      CHECK(e.migration() == "2_fails");
      CHECK(e.statement() == "INSERT INTO no_such_table (id) VALUES (1)");
      CHECK_THAT(e.what(), Catch::Contains("migration \"2_fails\" (up) failed at: INSERT INTO no_such_table") &&
                               Catch::Contains("no_such_table") && Catch::Contains("as it was before this migration"));
    }
    CHECK(schemaOf(db) == expected);
    CHECK(rowsOf(db, "books") == books);
    CHECK(records(db) == "1_shelves:1 ");
    CHECK(states(kith::migrationStatus(db, list)) == "1_shelves:applied 2_fails:pending 3_tags:pending ");
  }
  SECTION("a foreign key the rows break (SQLite: a table rebuild, its foreign_key_check)") {
    auto db = library();
    const std::string books = rowsOf(db, "books");
    const auto list = fails([](Schema& s) {
      s.alterTable("books", [](TableChanges& t) {
        t.changeColumn<std::optional<std::int64_t>>("pages");
        t.addColumn<std::int64_t>("editor_id").defaultTo(7);  // no author 7
        t.foreign("editor_id", "authors");
      });
    });
    CHECK_THROWS_AS(kith::migrate(db, list), kith::MigrationError);
    CHECK(schemaOf(db) == expected);
    CHECK(rowsOf(db, "books") == books);
    CHECK(records(db) == "1_shelves:1 ");
    checkLibraryWorks(db);
  }
  SECTION("a data step that throws") {
    auto db = library();
    const auto list = fails([](Schema& s) {
      s.alterTable("books", [](TableChanges& t) { t.addColumn<std::optional<std::string>>("isbn"); });
      s.data("fill isbn", [](const kith::Connection& c) {
        c.execute("UPDATE books SET isbn = 'x'");
        throw std::runtime_error("no ISBN for The Dispossessed");
      });
    });
    try {
      kith::migrate(db, list);
      FAIL("the migration did not fail");
    } catch (const kith::MigrationError& e) {
      CHECK(e.statement() == "the data step \"fill isbn\"");
      CHECK_THAT(e.what(), Catch::Contains("no ISBN for The Dispossessed"));
    }
    CHECK(schemaOf(db) == expected);
  }
}

TEST_CASE("an applied migration that changed is refused before anything runs, repairMigrations accepts it", "[migrate][portable]") {
  auto db = test::database();
  kith::migrate(db, std::vector<Migration>{creates("1_users", "users")});
  const std::vector<Migration> changed{migration("1_users",
                                                 [](Schema& s) {
                                                   s.createTable("users", [](TableBuilder& t) {
                                                     t.id();
                                                     t.column<std::string>("label");
                                                     t.column<std::optional<std::string>>("email");  // added after it was applied
                                                   });
                                                 },
                                                 {}),
                                       creates("2_posts", "posts")};
  CHECK(states(kith::migrationStatus(db, changed)) == "1_users:changed 2_posts:pending ");
  try {
    kith::migrate(db, changed);
    FAIL("a changed migration was accepted");
  } catch (const kith::MigrationError& e) {
    CHECK(e.migration() == "1_users");
    CHECK_THAT(e.what(), Catch::Contains("\"1_users\" was changed after it was applied") && Catch::Contains("repairMigrations") &&
                             Catch::Contains("Nothing ran"));
  }
  CHECK_FALSE(tableExists(db, "posts"));  // refused before 2_posts ran
  const std::string before = test::scalar(db, "SELECT checksum FROM kith_migrations");
  CHECK(kith::repairMigrations(db, changed) == std::vector<std::string>{"1_users"});
  CHECK(test::scalar(db, "SELECT checksum FROM kith_migrations") != before);
  CHECK(states(kith::migrationStatus(db, changed)) == "1_users:applied 2_posts:pending ");
  CHECK(kith::migrate(db, changed).migrations.size() == 1);
  CHECK(kith::repairMigrations(db, changed).empty());
}

TEST_CASE("dryRun returns the SQL and runs nothing", "[migrate][portable]") {
  auto db = library();
  const std::string schema = schemaOf(db);
  const std::vector<Migration> list{creates("1_shelves", "shelves"), migration("2_isbn",
                                                                               [](Schema& s) {
                                                                                 s.alterTable("books", [](TableChanges& t) {
                                                                                   t.addColumn<std::optional<std::string>>("isbn");
                                                                                   t.changeColumn<std::optional<std::int64_t>>("pages");
                                                                                 });
                                                                                 s.data("fill", [](const kith::Connection&) {});
                                                                               },
                                                                               {})};
  const auto run = kith::migrate(db, list, {.dryRun = true});
  CHECK(run.batch == 1);
  REQUIRE(run.migrations.size() == 2);
  CHECK(run.migrations[0].sql.at(0).starts_with("CREATE TABLE \"shelves\" (\"id\" "));
  const auto& isbn = run.migrations[1].sql;
  REQUIRE(isbn.size() == 3);
  CHECK(isbn[0] == "ALTER TABLE \"books\" ADD COLUMN \"isbn\" TEXT");
  if (test::onPostgres())
    CHECK(isbn[1].starts_with(
        "ALTER TABLE \"books\" ALTER COLUMN \"pages\" TYPE BIGINT USING \"pages\"::BIGINT, ALTER COLUMN \"pages\" DROP NOT NULL"));
  else
    CHECK(isbn[1].starts_with("-- SQLite table rebuild of \"books\": change column pages"));
  CHECK(isbn[2] == "-- data: fill");
  CHECK(schemaOf(db) == schema);
  CHECK_FALSE(tableExists(db, "kith_migrations"));  // not even the record table

  const std::vector<Migration> shelves{creates("1_shelves", "shelves")};
  kith::migrate(db, shelves);
  const auto back = kith::rollbackMigrations(db, shelves, {.dryRun = true});
  REQUIRE(back.migrations.size() == 1);
  CHECK(back.migrations[0].sql == std::vector<std::string>{"DROP TABLE \"shelves\""});
  CHECK(tableExists(db, "shelves"));
  CHECK(records(db) == "1_shelves:1 ");
}

TEST_CASE("a migration that drops or narrows is refused unless it says it accepts the loss", "[migrate][portable]") {
  auto db = library();
  const std::string books = rowsOf(db, "books"), schema = schemaOf(db);
  const auto refused = [&](std::function<void(Schema&)> up, const std::string& what) {
    CAPTURE(what);
    const std::vector<Migration> list{creates("1_shelves", "shelves"), Migration{"2_loses", up, {}}};
    CHECK_THROWS_WITH(kith::migrate(db, list), Catch::Contains(what) && Catch::Contains("acceptDataLoss()"));
    CHECK(rowsOf(db, "books") == books);
    kith::rollbackMigrations(db, list);  // 1_shelves, when it ran
    CHECK(schemaOf(db) == schema);
  };
  refused([](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.dropColumn("pages"); }); }, "drops column books.pages");
  refused([](Schema& s) { s.dropTable("reviews"); }, "drops table reviews");
  // Found when it runs (the column's type is read then): the migration rolls back, the one before stays.
  refused([](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.changeColumn<std::int64_t>("title"); }); }, "changing title from");
  refused([](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.changeColumn<bool>("pages"); }); }, "changing pages from");

  // Said: it runs; a column a view reads cannot be dropped on either database.
  const auto drop = [&](const std::string& name, const std::string& table, const std::string& column) {
    return std::vector<Migration>{migration(name,
                                            [=](Schema& s) {
                                              s.alterTable(table, [=](TableChanges& t) { t.dropColumn(column); });
                                              s.acceptDataLoss();
                                            },
                                            {})};
  };
  CHECK_THROWS_WITH(kith::migrate(db, drop("3_pages", "books", "pages")), Catch::Contains("\"3_pages\" (up) failed at: ALTER TABLE"));
  CHECK(schemaOf(db) == schema);
  kith::migrate(db, drop("4_stars", "reviews", "stars"));
  CHECK(rowsOf(db, "reviews") == "1|1|\n2|3|\n");
}

TEST_CASE("statements that cannot run in a transaction run alone, a migration mixing them is refused before anything runs",
          "[migrate][portable]") {
  auto db = library();
  const std::vector<Migration> mixed{creates("1_shelves", "shelves"), migration("2_mixed",
                                                                                [](Schema& s) {
                                                                                  s.createTable("notes", [](TableBuilder& t) { t.id(); });
                                                                                  s.rawOutsideTransaction("VACUUM");
                                                                                },
                                                                                {})};
  CHECK_THROWS_WITH(kith::migrate(db, mixed), Catch::Contains("\"2_mixed\" mixes statements that cannot run in a transaction") &&
                                                  Catch::Contains("give them a migration of their own"));
  CHECK_FALSE(tableExists(db, "shelves"));  // refused before the run began

  const std::vector<Migration> alone{
      creates("1_shelves", "shelves"),
      migration(
          "2_index", [](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.index({"title"}, {.concurrently = true}); }); },
          [](Schema& s) { s.rawOutsideTransaction("DROP INDEX IF EXISTS books_title_index"); })};
  std::vector<std::string> sent;
  db.onQuery([&](const kith::QueryEvent& e) { sent.emplace_back(e.sql); });
  const auto run = kith::migrate(db, alone);
  db.onQuery(nullptr);
  REQUIRE(run.migrations.size() == 2);
  if (test::onPostgres()) {
    CHECK(run.migrations[1].sql ==
          std::vector<std::string>{"CREATE INDEX CONCURRENTLY IF NOT EXISTS \"books_title_index\" ON \"books\" (\"title\")"});
    // Not between a BEGIN and its COMMIT.
    const auto at = std::find(sent.begin(), sent.end(), run.migrations[1].sql[0]);
    REQUIRE(at != sent.end());
    bool open = false;
    for (auto it = sent.begin(); it != at; ++it)
      open = it->starts_with("BEGIN") ? true : (*it == "COMMIT" || *it == "ROLLBACK") ? false : open;
    CHECK_FALSE(open);
  } else {
    CHECK(run.migrations[1].sql == std::vector<std::string>{"CREATE INDEX \"books_title_index\" ON \"books\" (\"title\")"});
  }
  CHECK(test::scalar(db, test::onPostgres() ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'books_title_index'"
                                            : "SELECT count(*) FROM sqlite_schema WHERE name = 'books_title_index'") == "1");
  kith::rollbackMigrations(db, alone);
  CHECK(records(db) == "");
}

TEST_CASE("one runner at a time: another's lock held past the timeout is an error that says who holds it", "[migrate][portable]") {
  SharedDatabase shared;
  auto db = shared.open(std::chrono::milliseconds(50));
  auto other = shared.open();
  const std::vector<Migration> list{creates("1_users", "users")};
  if (!test::onPostgres()) {  // a writer holds the database before kith_migrations exists: lockTimeout, not the busy timeout
    auto writer = other.begin();
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(kith::migrate(db, list, {.lockTimeout = std::chrono::milliseconds(300)}),
                      Catch::Contains("held the database's write lock for more than 300 ms, so kith_migrations could not be made"));
    CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
    writer.rollback();
  }
  kith::migrate(db, std::vector<Migration>{});  // makes kith_migrations
  std::optional<kith::Transaction> holding;
  std::string holder;
  if (test::onPostgres()) {
    holder = test::scalar(other, "SELECT pg_backend_pid()");
    const auto key = kith::detail::migration::lockKey(other.backend());
    other.execute("SELECT pg_advisory_lock(?)", key);
  } else {
    holding.emplace(other.begin());  // BEGIN IMMEDIATE: SQLite's write lock
  }
  const auto started = std::chrono::steady_clock::now();
  try {
    kith::migrate(db, list, {.lockTimeout = std::chrono::milliseconds(300)});
    FAIL("migrated while another runner held the lock");
  } catch (const kith::MigrationError& e) {
    if (test::onPostgres())
      CHECK_THAT(e.what(), Catch::Contains("another runner holds the migration lock") && Catch::Contains("process " + holder + " ") &&
                               Catch::Contains("pg_terminate_backend"));
    else
      CHECK_THAT(e.what(), Catch::Contains("another runner held the database's write lock for more than 300 ms"));
  }
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
  CHECK_FALSE(tableExists(other, "users"));
  if (holding)
    holding->rollback();
  else
    other.execute("SELECT pg_advisory_unlock_all()");
  CHECK(kith::migrate(db, list).migrations.size() == 1);
}

namespace migrate_test {

/// An application's migrations, each after the first writing its name to `runs` in a data step:
/// tables with rows, a change that SQLite makes by rebuilding the table, a rename.
std::vector<Migration> application() {
  const auto noted = [](const std::string& name) {
    return [name](const kith::Connection& c) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // long enough for another runner to arrive
      c.execute("INSERT INTO runs (name) VALUES (?)", name);
    };
  };
  return {
      migration("1_runs",
                [](Schema& s) {
                  s.createTable("runs", [](TableBuilder& t) {
                    t.id();
                    t.column<std::string>("name").unique();
                  });
                },
                {}),
      migration(
          "2_items",
          [=](Schema& s) {
            s.createTable("items", [](TableBuilder& t) {
              t.id();
              t.column<std::string>("label");
            });
            s.data("300 items", [](const kith::Connection& c) {
              for (int i = 0; i < 10; ++i)
                c.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30) INSERT INTO items (label) SELECT 'item' "
                    "FROM n");
            });
            s.data("noted", noted("2_items"));
          },
          {}),
      migration("3_change",
                [=](Schema& s) {
                  s.alterTable("items", [](TableChanges& t) {
                    t.changeColumn<std::optional<std::string>>("label");
                    t.addColumn<std::int64_t>("n").defaultTo(0);
                    t.index({"n"});
                  });
                  s.data("noted", noted("3_change"));
                },
                {}),
      migration("4_tags",
                [=](Schema& s) {
                  s.createTable("tags", [](TableBuilder& t) {
                    t.id();
                    t.column<std::int64_t>("item_id");
                    t.foreign("item_id", "items", "id", {.onDelete = kith::OnAction::Cascade});
                  });
                  s.data("noted", noted("4_tags"));
                },
                {}),
      migration("5_rename",
                [=](Schema& s) {
                  s.renameTable("tags", "labels");
                  s.data("noted", noted("5_rename"));
                },
                {}),
  };
}

/// Checks that what kith_migrations records is exactly what the database holds, migration by
/// migration; returns the records (name:batch).
std::string checkRecordsTrue(const kith::Connection& db) {
  const std::string recorded = tableExists(db, "kith_migrations") ? records(db) : "";
  const auto has = [&](const std::string& name) { return recorded.find(name + ":") != std::string::npos; };
  CAPTURE(recorded);
  CHECK(has("1_runs") == tableExists(db, "runs"));
  if (tableExists(db, "runs")) {
    std::string noted;
    for (const auto& row : test::select(db, "SELECT name FROM runs ORDER BY name")) noted += *row[0] + ":1 ";
    // every data step that committed is recorded, and every recorded one committed its data
    for (const char* name : {"2_items", "3_change", "4_tags", "5_rename"})
      CHECK(has(name) == (noted.find(std::string(name) + ":") != std::string::npos));
  }
  CHECK(has("2_items") == tableExists(db, "items"));
  if (tableExists(db, "items")) CHECK(test::rows(db, "items") == 300);
  const bool changed =
      tableExists(db, "items") &&
      test::scalar(
          db, test::onPostgres()
                  ? "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'items' AND "
                    "column_name = 'n'"
                  : "SELECT count(*) FROM pragma_table_info('items') WHERE name = 'n'") == "1";
  CHECK(has("3_change") == changed);
  CHECK(has("4_tags") == (tableExists(db, "tags") || tableExists(db, "labels")));
  CHECK(has("5_rename") == tableExists(db, "labels"));
  if (!test::onPostgres()) {
    CHECK(test::scalar(db, "PRAGMA integrity_check") == "ok");
    CHECK(test::select(db, "PRAGMA foreign_key_check").empty());
  }
  return recorded;
}

/// Runs the application's migrations in a child process, which kills itself with SIGKILL after
/// its statement number `killAt` (0: never). Returns the child's exit status.
int migrateInChild(const SharedDatabase& shared, long killAt, std::chrono::steady_clock::time_point start = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    int status = 0;
    try {
      // Waits for the other runner as long as a busy machine may need (the defaults are 5 s for a
      // statement's lock and 30 s for the runner's).
      auto db = shared.open(std::chrono::seconds(60));
      long sent = 0;
      if (killAt > 0)
        db.onQuery([&](const kith::QueryEvent&) {
          if (++sent == killAt) raise(SIGKILL);
        });
      std::this_thread::sleep_until(start);
      kith::migrate(db, application(), {.lockTimeout = std::chrono::seconds(60)});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "migrating child: %s\n", e.what());
      status = 3;
    }
    _exit(status);
  }
  return pid;
}

int waitFor(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace migrate_test

TEST_CASE("two processes migrating at once apply each migration once", "[migrate][portable]") {
  for (int round = 0; round < 3; ++round) {
    SharedDatabase shared;
    const auto start = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    const pid_t a = migrateInChild(shared, 0, start), b = migrateInChild(shared, 0, start);
    CHECK(waitFor(a) == 0);
    CHECK(waitFor(b) == 0);
    auto db = shared.open();
    CHECK(checkRecordsTrue(db) == "1_runs:1 2_items:1 3_change:1 4_tags:1 5_rename:1 ");
    CHECK(test::rows(db, "runs") == 4);
  }
}

TEST_CASE("SIGKILL of a migrating process at random points: the records stay true to the database, and a new run completes",
          "[migrate][portable]") {
  long statements = 0;
  {
    SharedDatabase shared;
    auto db = shared.open();
    db.onQuery([&](const kith::QueryEvent&) { ++statements; });
    kith::migrate(db, application());
  }
  REQUIRE(statements > 40);
  std::mt19937 random(std::random_device{}());
  std::set<std::string> seen;  // the states the kills left
  const int kills = test::onPostgres() ? 12 : 20;
  for (int i = 0; i < kills; ++i) {
    const long at = std::uniform_int_distribution<long>(1, statements)(random);
    CAPTURE(at);
    SharedDatabase shared;
    CHECK(waitFor(migrateInChild(shared, at)) == 128 + SIGKILL);
    auto db = shared.open();
    const std::string recorded = checkRecordsTrue(db);
    seen.insert(recorded);
    // migrationStatus says what the records say: applied ones applied, the rest pending.
    std::string applied;
    for (const auto& s : kith::migrationStatus(db, application()))
      if (s.state == kith::MigrationState::Applied)
        applied += s.name + ":1 ";
      else
        CHECK(s.state == kith::MigrationState::Pending);
    CHECK(applied == recorded);
    kith::migrate(db, application(), {.lockTimeout = std::chrono::seconds(60)});
    checkRecordsTrue(db);
    CHECK(test::scalar(db, "SELECT count(*) FROM kith_migrations") == "5");
  }
  CHECK(seen.size() >= 3);  // the kills landed between different migrations
}

TEST_CASE(
    "SQLite's rebuild: several changes to a table are one rebuild, and its AUTOINCREMENT counter, CHECK and generated columns survive",
    "[migrate]") {
  if (test::onPostgres()) return;  // SQLite's alone (run by hand with KITH_TEST_ADAPTER=postgres, nothing to check)
  auto db = test::database();
  db.execute(
      "CREATE TABLE tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, seats INTEGER NOT NULL CHECK (seats >= 0), note TEXT, "
      "doubled INTEGER GENERATED ALWAYS AS (seats * 2) VIRTUAL)");
  db.execute("CREATE TABLE holders (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
  db.execute("INSERT INTO holders (name) VALUES ('Ann')");
  db.execute("INSERT INTO tickets (seats, note) VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  db.execute("DELETE FROM tickets WHERE id = 3");  // AUTOINCREMENT: 3 is never given again
  const auto run = kith::migrate(db, std::vector<Migration>{migration("1",
                                                                      [](Schema& s) {
                                                                        s.alterTable("tickets", [](TableChanges& t) {
                                                                          t.changeColumn<std::string>("note").defaultTo("none");
                                                                          t.addColumn<std::int64_t>("holder_id").defaultTo(1);
                                                                          t.foreign("holder_id", "holders");
                                                                          t.changeColumn<std::optional<std::int64_t>>("seats");
                                                                        });
                                                                      },
                                                                      {})});
  const auto& sql = run.migrations.at(0).sql;
  CHECK(std::count_if(sql.begin(), sql.end(),
                      [](const std::string& s) { return s.starts_with("CREATE TABLE \"kith_rebuild_tickets\""); }) == 1);
  CHECK(std::find(sql.begin(), sql.end(), "-- the AUTOINCREMENT counter of \"tickets\" kept at 3") != sql.end());
  db.execute("INSERT INTO tickets (seats) VALUES (4)");
  CHECK(rowsOf(db, "tickets", "id, seats, note, doubled, holder_id") == "1|1|a|2|1|\n2|2|b|4|1|\n4|4|none|8|1|\n");
  CHECK_THROWS_AS(db.execute("INSERT INTO tickets (seats) VALUES (-1)"), kith::ConstraintError);               // the CHECK
  CHECK_THROWS_AS(db.execute("INSERT INTO tickets (seats, holder_id) VALUES (1, 9)"), kith::ConstraintError);  // the new key
  db.execute("INSERT INTO tickets (seats) VALUES (NULL)");                                                     // now NULL-able
  CHECK(test::scalar(db, "PRAGMA integrity_check") == "ok");

  // A data step between two changes sees the first done and the second not yet: two rebuilds.
  const auto backfill = kith::migrate(
      db, std::vector<Migration>{migration("2",
                                           [](Schema& s) {
                                             s.alterTable("tickets", [](TableChanges& t) {
                                               t.changeColumn<std::optional<std::string>>("note");
                                               t.addColumn<std::optional<std::string>>("code");
                                             });
                                             s.data("codes",
                                                    [](const kith::Connection& c) { c.execute("UPDATE tickets SET code = 'T' || id"); });
                                             s.alterTable("tickets", [](TableChanges& t) { t.changeColumn<std::string>("code"); });
                                           },
                                           {})});
  const auto& steps = backfill.migrations.at(0).sql;
  CHECK(std::count_if(steps.begin(), steps.end(),
                      [](const std::string& s) { return s.starts_with("CREATE TABLE \"kith_rebuild_tickets\""); }) == 2);
  CHECK(test::scalar(db, "SELECT group_concat(code) FROM tickets") == "T1,T2,T4,T5");
}

TEST_CASE("PostgreSQL: an index built CONCURRENTLY that failed midway is built again, not kept invalid", "[migrate][.postgres]") {
  REQUIRE(test::onPostgres());
  auto db = test::database();
  db.execute("CREATE TABLE emails (" + test::idColumn() + ", address TEXT NOT NULL)");
  db.execute("INSERT INTO emails (address) VALUES ('a@example.com'), ('a@example.com')");
  const std::vector<Migration> list{migration(
      "1_unique_address",
      [](Schema& s) { s.alterTable("emails", [](TableChanges& t) { t.index({"address"}, {.unique = true, .concurrently = true}); }); },
      {})};
  CHECK_THROWS_AS(kith::migrate(db, list), kith::MigrationError);  // the duplicate: PostgreSQL leaves the index INVALID
  const std::string valid = "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('emails_address_unique')";
  REQUIRE(test::scalar(db, valid) == "f");
  CHECK(records(db) == "");
  db.execute("DELETE FROM emails WHERE id = 2");
  const auto run = kith::migrate(db, list);
  CHECK(run.migrations.at(0).sql.at(0) == "DROP INDEX CONCURRENTLY IF EXISTS \"emails_address_unique\"");
  CHECK(test::scalar(db, valid) == "t");
  CHECK_THROWS_AS(db.execute("INSERT INTO emails (address) VALUES ('a@example.com')"), kith::ConstraintError);
}

TEST_CASE("PostgreSQL: tableLockTimeout ends a migration that waits behind a long transaction, changing nothing", "[migrate][.postgres]") {
  REQUIRE(test::onPostgres());
  SharedDatabase shared;
  auto db = shared.open();
  auto reader = shared.open();
  db.execute("CREATE TABLE books (" + test::idColumn() + ", title TEXT NOT NULL)");
  const std::vector<Migration> list{migration(
      "1_isbn", [](Schema& s) { s.alterTable("books", [](TableChanges& t) { t.addColumn<std::optional<std::string>>("isbn"); }); }, {})};
  reader.transaction([&](kith::Transaction& trx) {
    trx.execute("SELECT count(*) FROM books");  // holds ACCESS SHARE on books until it ends
    const auto started = std::chrono::steady_clock::now();
    try {
      kith::migrate(db, list, {.tableLockTimeout = std::chrono::milliseconds(200)});
      FAIL("the migration did not wait for the table");
    } catch (const kith::MigrationError& e) {
      CHECK_THAT(e.what(), Catch::Contains("another session held a lock on the table for longer than tableLockTimeout"));
      CHECK(e.statement() == "ALTER TABLE \"books\" ADD COLUMN \"isbn\" TEXT");
    }
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  });
  CHECK(records(db) == "");
  CHECK(test::scalar(db, "SHOW lock_timeout") == "0");  // set for the migration's transaction only
  CHECK(kith::migrate(db, list, {.tableLockTimeout = std::chrono::milliseconds(200)}).migrations.size() == 1);
}

TEST_CASE("raw SQL of two statements in one string is refused on both databases, and changes nothing", "[migrate][portable]") {
  auto db = test::database();
  const std::vector<Migration> list{
      migration("1_two", [](Schema& s) { s.raw("CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER)"); }, {})};
  try {
    kith::migrate(db, list);
    FAIL("two statements in one raw() ran");
  } catch (const kith::MigrationError& e) {
    CHECK(e.statement() == "CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER)");
  }
  CHECK_FALSE(tableExists(db, "a"));
  CHECK_FALSE(tableExists(db, "b"));
  CHECK(records(db) == "");
}
