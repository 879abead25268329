// Hooks and timestamps: the order Lucid runs hooks in, what a throwing hook leaves (no row, the
// object as before), no-op saves (no hook after, no stamp, no statement), hooks of every row of a
// createMany and a relation helper, find/fetch hooks, saveQuietly; UTC stamps on insert and update,
// times given on insert kept, one time for a createMany, stamps put back when the write fails;
// query scopes, whose conditions stay one group (Lucid's leak an orWhere).
#include "support.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace life {

using Micros = std::chrono::sys_time<std::chrono::microseconds>;

using Journal = test::HookJournal;

struct Article;

struct Author : kith::BaseModel<Author> {
  std::int64_t id{};
  std::string name;
  std::string email;
  kith::HasMany<Article> articles;
  std::int64_t seenInHook = -1;  // not a column: afterCreate counts the rows its transaction sees

  static constexpr auto columns = kith::columns<&Author::id, &Author::name, &Author::email>;

  static void beforeCreate(Author& a) { Journal::record("beforeCreate", a.name); }
  static void beforeSave(Author& a) {
    for (char& c : a.email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // normalised before it is written
    Journal::record("beforeSave", a.name);
    if (a.name.empty()) throw std::invalid_argument("an author needs a name");
  }
  static void afterCreate(Author& a, const kith::Connection& trx) {
    a.seenInHook = Author::query(trx).where<&Author::id>(a.id).count();
    Journal::record("afterCreate", a.name + (a.isPersisted() && a.id != 0 ? "#" : "?"));
  }
  static void afterSave(Author& a) { Journal::record("afterSave", a.name); }
  static void beforeUpdate(Author& a) { Journal::record("beforeUpdate", a.name); }
  static void afterUpdate(Author& a) { Journal::record("afterUpdate", a.name); }
  static void beforeDelete(Author& a) {
    Journal::record("beforeDelete", a.name);
    a.email = "deleted@example.com";  // put back when the delete fails
  }
  static void afterDelete(Author& a) { Journal::record("afterDelete", a.name + (a.isDeleted() ? "!" : "?")); }
  static void afterFind(Author& a) { Journal::record("afterFind", a.name); }
  static void afterFetch(std::span<Author> rows) { Journal::record("afterFetch", std::to_string(rows.size())); }
};

struct Article : kith::BaseModel<Article> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string title;
  Micros createdAt{};
  std::optional<Micros> updatedAt;

  static constexpr auto columns =
      kith::columns<&Article::id, &Article::authorId, &Article::title, &Article::createdAt, &Article::updatedAt>;
  static constexpr auto timestamps = kith::timestamps<&Article::createdAt, &Article::updatedAt>;

  static void beforeSave(Article& a) { Journal::record("beforeSave", a.title); }

  // Query scopes.
  static void either(kith::Query<Article>& q, std::string a, std::string b) { q.where<&Article::title>(a).orWhere<&Article::title>(b); }
  static void titledLike(kith::Query<Article>& q, const std::string& prefix) { q.where<&Article::title>("LIKE", prefix + "%"); }
  static void newestFirst(kith::Query<Article>& q) { q.orderBy<&Article::id>(kith::desc); }
};

inline Author author(std::string name, std::string email = "A@Example.com") {
  Author a;
  a.name = std::move(name);
  a.email = std::move(email);
  return a;
}
inline Article article(std::string title) {
  Article a;
  a.title = std::move(title);
  return a;
}

struct Db {
  kith::Connection db = [] {
    auto db = test::database();
    kith::createTables<Author, Article>(db);
    db.execute("CREATE UNIQUE INDEX articles_title ON articles (title)");
    Journal::reset();
    return db;
  }();
  ~Db() { Journal::reset(); }
};

using Calls = std::vector<std::string>;

Micros now() { return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now()); }

}  // namespace life

using namespace life;

TEST_CASE("hooks run in Lucid's order around an insert and an update, inside the write's transaction", "[hooks][portable]") {
  Db t;
  Author ann = Author::create(t.db, author("ann", "Ann@Example.COM"));
  CHECK(Journal::calls == Calls{"beforeCreate:ann", "beforeSave:ann", "afterCreate:ann#", "afterSave:ann"});
  CHECK(ann.seenInHook == 1);  // afterCreate ran after the INSERT, on the write's transaction
  CHECK(test::select(t.db, "SELECT email FROM authors") == std::vector<test::RawRow>{{"ann@example.com"}});

  Journal::reset();
  ann.name = "anne";
  ann.save();
  CHECK(Journal::calls == Calls{"beforeUpdate:anne", "beforeSave:anne", "afterUpdate:anne", "afterSave:anne"});

  // A save with nothing to write runs the before hooks (they may change the model), no statement and no after hook.
  Journal::reset();
  test::StatementLog log(t.db);
  ann.save();
  CHECK(Journal::calls == Calls{"beforeUpdate:anne", "beforeSave:anne"});
  CHECK(log.count() == 0);
  // A before hook that changes a column makes the save write it.
  ann.email = "ANNE@EXAMPLE.COM";
  ann.save();
  CHECK(test::select(t.db, "SELECT email FROM authors") == std::vector<test::RawRow>{{"anne@example.com"}});
  CHECK_FALSE(ann.isDirty());
}

TEST_CASE("a throwing hook aborts the write: no row, and the object as it was", "[hooks][atomic][portable]") {
  Db t;
  // A before hook: nothing is sent; the email it lowercased is put back.
  Author nameless = author("", "X@Y.Z");
  CHECK_THROWS_WITH(nameless.save(t.db), "an author needs a name");
  CHECK(nameless.email == "X@Y.Z");
  CHECK_FALSE(nameless.isPersisted());
  CHECK(test::rows(t.db, "authors") == 0);

  // An after hook: the INSERT is rolled back; the model is not persisted and has no key.
  Journal::failIn = "afterCreate";
  Author bob = author("bob", "Bob@X.Y");
  CHECK_THROWS_WITH(bob.save(t.db), "hook afterCreate refused bob#");
  CHECK(test::rows(t.db, "authors") == 0);
  CHECK_FALSE(bob.isPersisted());
  CHECK(bob.id == 0);
  CHECK(bob.email == "Bob@X.Y");
  Journal::failIn.clear();
  bob.save(t.db);  // and it can be saved again
  CHECK(test::rows(t.db, "authors") == 1);

  // afterUpdate: the row keeps its old values, the model its new ones, still dirty.
  Journal::failIn = "afterUpdate";
  bob.name = "robert";
  CHECK_THROWS(bob.save());
  CHECK(test::select(t.db, "SELECT name FROM authors") == std::vector<test::RawRow>{{"bob"}});
  CHECK(bob.name == "robert");
  CHECK(bob.isDirty());
  Journal::failIn.clear();
  bob.save();
  CHECK(test::select(t.db, "SELECT name FROM authors") == std::vector<test::RawRow>{{"robert"}});

  // afterDelete: the row stays, the model is still persisted.
  Journal::reset();
  Journal::failIn = "afterDelete";
  CHECK_THROWS(bob.destroy());
  CHECK(Journal::calls == Calls{"beforeDelete:robert", "afterDelete:robert!"});
  CHECK(test::rows(t.db, "authors") == 1);
  CHECK(bob.isPersisted());
  CHECK_FALSE(bob.isDeleted());
  CHECK(bob.email == "bob@x.y");  // what beforeDelete changed is put back
  Journal::failIn.clear();
  bob.destroy();
  CHECK(test::rows(t.db, "authors") == 0);
  CHECK(bob.isDeleted());

  // Inside the caller's transaction, the failed save is a savepoint: the rest of the transaction stays.
  t.db.transaction([&](kith::Transaction& trx) {
    Author::create(trx, author("cy"));
    Journal::failIn = "afterSave";
    Author dee = author("dee");
    CHECK_THROWS(dee.save(trx));
    Journal::failIn.clear();
  });
  CHECK(test::select(t.db, "SELECT name FROM authors") == std::vector<test::RawRow>{{"cy"}});
}

TEST_CASE("createMany and relation helpers run the hooks of every model they write, and saveQuietly runs none", "[hooks][portable]") {
  Db t;
  auto made = Author::createMany(t.db, {author("ann"), author("bob")});
  CHECK(Journal::calls == Calls{"beforeCreate:ann", "beforeSave:ann", "beforeCreate:bob", "beforeSave:bob", "afterCreate:ann#",
                                "afterSave:ann", "afterCreate:bob#", "afterSave:bob"});
  CHECK(made[1].isPersisted());
  CHECK(made[1].id != made[0].id);

  // One row's after hook throws: no row of the call is left.
  Journal::reset();
  Journal::failIn = "afterSave";
  CHECK_THROWS(Author::createMany(t.db, {author("cy"), author("dee")}));
  CHECK(test::rows(t.db, "authors") == 2);
  Journal::reset();

  // Through a relation: the related model's hooks, for each row.
  made[0].related<&Author::articles>().createMany({article("one"), article("two")});
  CHECK(Journal::calls == Calls{"beforeSave:one", "beforeSave:two"});

  // Quietly: no hook, the write itself as usual.
  Journal::reset();
  Author quiet = author("", "Q@Q.Q");  // beforeSave would refuse it
  quiet.saveQuietly(t.db);
  CHECK(Journal::calls.empty());
  CHECK(quiet.isPersisted());
  CHECK(quiet.email == "Q@Q.Q");
  quiet.destroyQuietly();
  CHECK(Journal::calls.empty());
  CHECK(test::rows(t.db, "authors") == 2);
}

TEST_CASE("afterFind runs for find and first, afterFetch once for the rows of all", "[hooks][read][portable]") {
  Db t;
  Author::createMany(t.db, {author("ann"), author("bob")});
  Journal::reset();
  auto ann = Author::findOrFail(t.db, 1);
  CHECK(Journal::calls == Calls{"afterFind:ann"});
  Journal::reset();
  auto rows = Author::query(t.db).orderBy<&Author::id>().all();
  CHECK(Journal::calls == Calls{"afterFetch:2"});
  Journal::reset();
  auto bob = Author::query(t.db).where<&Author::name>("bob").first();
  CHECK(Journal::calls == Calls{"afterFind:bob"});
  Journal::reset();
  CHECK_FALSE(Author::query(t.db).where<&Author::name>("zed").first());
  CHECK_FALSE(Author::find(t.db, 99));
  CHECK(Journal::calls.empty());
}

TEST_CASE("timestamps: kith stamps createdAt and updatedAt in UTC on insert, updatedAt on each update that runs",
          "[timestamps][portable]") {
  Db t;
  Author ann = Author::create(t.db, author("ann"));
  const auto before = now();
  Article a = ann.related<&Author::articles>().create(article("one"));
  const auto after = now();
  CHECK(a.createdAt >= before);
  CHECK(a.createdAt <= after);
  REQUIRE(a.updatedAt);
  CHECK(*a.updatedAt == a.createdAt);
  CHECK_FALSE(a.isDirty());
  // What the model holds is what the table holds.
  Article read = Article::findOrFail(t.db, a.id);
  CHECK(read.createdAt == a.createdAt);
  CHECK(read.updatedAt == a.updatedAt);

  // A save with nothing to write stamps nothing and sends nothing.
  test::StatementLog log(t.db);
  a.save();
  CHECK(log.count() == 0);
  CHECK(a.updatedAt == read.updatedAt);
  // A change: updatedAt is stamped and written with it; createdAt stays.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  a.title = "one, revised";
  a.save();
  CHECK(a.createdAt == read.createdAt);
  CHECK(*a.updatedAt > *read.updatedAt);
  REQUIRE(log.count() == 1);
  CHECK_THAT(log.entries[0].sql, test::Contains(R"("title" = ?, "updated_at" = ?)"));
  CHECK(Article::findOrFail(t.db, a.id).updatedAt == a.updatedAt);

  // A bulk update stamps updatedAt too, unless it sets it.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto beforeBulk = now();
  log.clear();
  CHECK(Article::query(t.db).where<&Article::id>(a.id).update(kith::set<&Article::title>("bulk")) == 1);
  REQUIRE(log.count() == 1);
  CHECK_THAT(log.entries[0].sql, test::Contains(R"(SET "title" = ?, "updated_at" = ? WHERE)"));
  CHECK(*Article::findOrFail(t.db, a.id).updatedAt >= beforeBulk);
  const Micros fixed{std::chrono::seconds{5}};
  CHECK(Article::query(t.db).where<&Article::id>(a.id).update(kith::set<&Article::updatedAt>(fixed)) == 1);
  CHECK(Article::findOrFail(t.db, a.id).updatedAt == fixed);

  // A time given on insert is kept (importing rows with their history).
  Article old = article("old");
  old.createdAt = Micros{std::chrono::seconds{1'000'000'000}};
  old.authorId = ann.id;
  old.save(t.db);
  CHECK(Article::findOrFail(t.db, old.id).createdAt == Micros{std::chrono::seconds{1'000'000'000}});
  CHECK(*old.updatedAt >= before);

  // createMany: one time for every row.
  auto many = Article::createMany(t.db, {article("x"), article("y")});
  CHECK(many[0].createdAt == many[1].createdAt);
  CHECK(many[0].updatedAt == many[1].updatedAt);
}

TEST_CASE("a failed write puts the stamps back: the object says what the table holds", "[timestamps][atomic][portable]") {
  Db t;
  Author ann = Author::create(t.db, author("ann"));
  ann.related<&Author::articles>().create(article("taken"));
  Article dup = article("taken");
  dup.authorId = ann.id;
  CHECK_THROWS_AS(dup.save(t.db), kith::ConstraintError);
  CHECK(dup.createdAt == Micros{});
  CHECK_FALSE(dup.updatedAt);
  CHECK_FALSE(dup.isPersisted());

  // In place through a relation: neither row is written, neither keeps a stamp.
  std::vector<Article> two{article("fresh"), article("taken")};
  CHECK_THROWS_AS(ann.related<&Author::articles>().saveMany(two), kith::ConstraintError);
  CHECK(two[0].createdAt == Micros{});
  CHECK_FALSE(two[0].updatedAt);
  CHECK(test::rows(t.db, "articles") == 1);

  // An update that fails keeps the model's old updatedAt.
  Article first = Article::findOrFail(t.db, 1);
  const auto stamped = first.updatedAt;
  Article other = ann.related<&Author::articles>().create(article("other"));
  other.title = "taken";
  CHECK_THROWS_AS(other.save(), kith::ConstraintError);
  CHECK(other.updatedAt == other.createdAt);
  CHECK(first.updatedAt == stamped);
}

TEST_CASE("a scope's conditions are one AND group: an orWhere inside it does not widen the query", "[scopes][portable]") {
  Db t;
  auto made = Author::createMany(t.db, {author("ann"), author("bob")});
  made[0].related<&Author::articles>().createMany({article("one"), article("two"), article("three")});
  made[1].related<&Author::articles>().createMany({article("uno"), article("dos")});
  const auto titles = [](const std::vector<Article>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.title);
    return out;
  };

  auto q = Article::query(t.db).where<&Article::authorId>(made[1].id).apply<&Article::either>("one", "uno");
  CHECK(
      q.toSql() ==
      R"(SELECT "id", "author_id", "title", "created_at", "updated_at" FROM "articles" WHERE "author_id" = ? AND ("title" = ? OR "title" = ?))");
  CHECK(titles(q.all()) == std::vector<std::string>{"uno"});  // ann's "one" stays out
  // Applied first, then a condition: the same grouping.
  auto first = Article::query(t.db).apply<&Article::either>("one", "uno").where<&Article::authorId>(made[0].id);
  CHECK_THAT(first.toSql(), test::Contains(R"(WHERE ("title" = ? OR "title" = ?) AND "author_id" = ?)"));
  CHECK(titles(first.all()) == std::vector<std::string>{"one"});
  // On a relation query, with an order: ann's rows only, newest first.
  CHECK(titles(made[0].related<&Author::articles>().query().apply<&Article::newestFirst>().apply<&Article::titledLike>("t").all()) ==
        std::vector<std::string>{"three", "two"});
  CHECK(made[1].related<&Author::articles>().query().apply<&Article::either>("one", "two").count() == 0);
  // In a preload callback and a whereHas callback.
  auto authors = Author::query(t.db)
                     .orderBy<&Author::id>()
                     .preload<&Author::articles>([](auto& a) { a.template apply<&Article::either>("two", "dos"); })
                     .all();
  REQUIRE(authors.size() == 2);
  CHECK(titles(authors[0].articles.items()) == std::vector<std::string>{"two"});
  CHECK(titles(authors[1].articles.items()) == std::vector<std::string>{"dos"});
  auto withUno = Author::query(t.db).whereHas<&Author::articles>([](auto& a) { a.template apply<&Article::either>("uno", "none"); }).all();
  REQUIRE(withUno.size() == 1);
  CHECK(withUno[0].name == "bob");
  // A scope that adds nothing adds no group.
  CHECK(Article::query(t.db).apply<&Article::newestFirst>().toSql() ==
        R"(SELECT "id", "author_id", "title", "created_at", "updated_at" FROM "articles" ORDER BY "id" DESC)");
}
