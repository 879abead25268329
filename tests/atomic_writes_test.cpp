// Atomic writes: a NOT NULL, UNIQUE or CHECK violation on the k-th row of any write path leaves the
// database exactly as it was (the parent's own insert or update included), leaves the caller's objects
// as they were, names the constraint, and leaves the connection usable: the same call with the row
// mended then succeeds.
#include "support.hpp"

#include <functional>
#include <utility>

namespace {

struct Item;

struct Owner : kith::BaseModel<Owner> {
  std::int64_t id{};
  std::string email;
  std::optional<std::string> name;  // NOT NULL in the table: a parent that can fail too
  kith::HasMany<Item> items;

  static constexpr auto columns = kith::columns<&Owner::id, &Owner::email, &Owner::name>;
};

struct Item : kith::BaseModel<Item> {
  std::int64_t id{};
  std::int64_t ownerId{};
  std::string code;
  std::optional<std::string> label;  // NOT NULL UNIQUE in the table
  std::int64_t qty{};                // CHECK (qty >= 0)

  static constexpr auto columns = kith::columns<&Item::id, &Item::ownerId, &Item::code, &Item::label, &Item::qty>;
};

kith::Connection database() {
  auto db = test::database();
  db.execute("CREATE TABLE owners (" + test::idColumn() + ", email TEXT NOT NULL UNIQUE, name TEXT NOT NULL)");
  db.execute("CREATE TABLE items (" + test::idColumn() +
             ", owner_id BIGINT NOT NULL REFERENCES owners (id), code TEXT NOT NULL UNIQUE, "
             "label TEXT NOT NULL UNIQUE, qty BIGINT NOT NULL CONSTRAINT qty_not_negative CHECK (qty >= 0))");
  db.execute("CREATE TABLE parts (" + test::idColumn() + ", item_id BIGINT NOT NULL REFERENCES items (id))");
  // A row every test starts with: its label is the one the UNIQUE violations collide with.
  db.execute("INSERT INTO owners (email, name) VALUES ('seed@x', 'Seed')");
  db.execute("INSERT INTO items (owner_id, code, label, qty) VALUES (1, 'seed', 'taken', 1)");
  return db;
}

enum class Violation { NotNull, Unique, Check };

/// How each database reports a violation: its message, the SQLSTATE, SQLite's extended code.
struct Expected {
  const char* sqlite;
  const char* postgres;
  const char* sqlstate;
  int extendedCode;
};

Expected expected(Violation v) {
  switch (v) {
    case Violation::NotNull:
      return {"NOT NULL constraint failed: items.label", R"(null value in column "label" of relation "items" violates not-null constraint)",
              "23502", SQLITE_CONSTRAINT_NOTNULL};
    case Violation::Unique:
      return {"UNIQUE constraint failed: items.label", R"(duplicate key value violates unique constraint "items_label_key")", "23505",
              SQLITE_CONSTRAINT_UNIQUE};
    default:
      return {"CHECK constraint failed: qty_not_negative", R"(new row for relation "items" violates check constraint "qty_not_negative")",
              "23514", SQLITE_CONSTRAINT_CHECK};
  }
}

const char* constraintOf(Violation v) { return test::onPostgres() ? expected(v).postgres : expected(v).sqlite; }

void spoil(Item& item, Violation v) {
  switch (v) {
    case Violation::NotNull:
      item.label.reset();
      break;
    case Violation::Unique:
      item.label = "taken";
      break;
    case Violation::Check:
      item.qty = -1;
      break;
  }
}

void mend(Item& item) {
  item.label = "mended-" + item.code;
  item.qty = 7;
}

std::vector<Item> batch(std::size_t n, const std::string& prefix) {
  std::vector<Item> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].code = prefix + std::to_string(i);
    out[i].label = "label-" + prefix + std::to_string(i);
    out[i].qty = static_cast<std::int64_t>(i);
  }
  return out;
}

/// Every row of every table, as the database holds it (NULL distinct from text), bypassing kith.
std::vector<std::string> dump(const kith::Connection& db) {
  std::vector<std::string> out;
  for (const char* table : {"owners", "items", "parts"}) {
    for (const auto& row : test::select(db, std::string("SELECT * FROM ") + table + " ORDER BY id")) {
      std::string text;
      for (const auto& value : row) text += value ? "'" + *value + "'," : "NULL,";
      out.push_back(std::move(text));
    }
    out.push_back("--");
  }
  return out;
}

/// What a caller can observe of one model object.
struct Seen {
  std::int64_t id;
  bool persisted;
  std::vector<std::string_view> dirty;
  std::string values;
  bool operator==(const Seen&) const = default;
};

Seen seen(const Item& i) {
  return {i.id, i.isPersisted(), i.dirty(), std::to_string(i.ownerId) + i.code + i.label.value_or("<null>") + std::to_string(i.qty)};
}
Seen seen(const Owner& o) { return {o.id, o.isPersisted(), o.dirty(), o.email + o.name.value_or("<null>")}; }

template <class M>
std::vector<Seen> seenAll(const std::vector<M>& models) {
  std::vector<Seen> out;
  for (const auto& m : models) out.push_back(seen(m));
  return out;
}

/// Runs `write`, which must fail on `violation`; checks the error and that the database is untouched
/// and no transaction is left open.
void expectRefused(const kith::Connection& db, Violation violation, const std::function<void()>& write) {
  const auto before = dump(db);
  try {
    write();
    FAIL("the write succeeded; expected: " << constraintOf(violation));
  } catch (const kith::ConstraintError& e) {
    CHECK_THAT(e.what(), test::Contains(constraintOf(violation)));
    CHECK(e.sqlstate() == std::string(expected(violation).sqlstate));
    if (!test::onPostgres()) CHECK(e.extendedCode() == expected(violation).extendedCode);
  }
  CHECK(dump(db) == before);
  CHECK_FALSE(db.backend().nativeTransactionActive());
}

/// The parent a relation write goes through: new (its INSERT is part of the write) or saved and
/// changed (its UPDATE is).
Owner parent(const kith::Connection& db, bool fresh) {
  Owner o;
  o.email = "owner@x";
  o.name = "Owner";
  if (fresh) return o;
  o.save(db);
  o.name = "Renamed";
  return o;
}

std::int64_t itemCount(const kith::Connection& db) { return test::rows(db, "items"); }

}  // namespace

TEST_CASE("a constraint violation on the k-th row of any write leaves the database and the caller's objects as they were",
          "[reliability][atomic][bad-input][portable]") {
  const auto violation = GENERATE(Violation::NotNull, Violation::Unique, Violation::Check);
  // (rows, k): k first, in the middle, last; 1500 rows (300 under sanitizers) span several INSERT
  // statements, so rows before the bad one were written by statements that succeeded.
  static constexpr auto many = static_cast<std::size_t>(test::scaled(1500, 5));
  const auto shape = GENERATE(std::pair<std::size_t, std::size_t>{1, 0}, std::pair<std::size_t, std::size_t>{5, 0},
                              std::pair<std::size_t, std::size_t>{5, 2}, std::pair<std::size_t, std::size_t>{5, 4},
                              std::pair<std::size_t, std::size_t>{many, many - 1});
  const std::size_t size = shape.first, k = shape.second;  // named variables: clang 14 cannot capture structured bindings
  const bool freshParent = GENERATE(true, false);
  CAPTURE(constraintOf(violation), size, k, freshParent);
  auto db = database();

  SECTION("Model::createMany") {
    auto rows = batch(size, "c");
    for (auto& r : rows) r.ownerId = 1;
    spoil(rows[k], violation);
    expectRefused(db, violation, [&] { Item::createMany(db, rows); });
    mend(rows[k]);
    CHECK(Item::createMany(db, rows).back().isPersisted());
    CHECK(itemCount(db) == 1 + static_cast<std::int64_t>(size));
  }

  SECTION("save() of each row inside the caller's transaction") {
    auto rows = batch(size, "s");
    for (auto& r : rows) r.ownerId = 1;
    spoil(rows[k], violation);
    expectRefused(db, violation, [&] {
      db.transaction([&](kith::Transaction& trx) {
        for (auto& r : rows) r.save(trx);
      });
    });
    for (const auto& r : rows) CHECK_FALSE(r.isPersisted());  // rows saved before k were rolled back with it
    mend(rows[k]);
    db.transaction([&](kith::Transaction& trx) {
      for (auto& r : rows) r.save(trx);
    });
    CHECK(itemCount(db) == 1 + static_cast<std::int64_t>(size));
    CHECK(Item::findOrFail(db, rows[k].id).label == rows[k].label);
  }

  SECTION("save() of a persisted model: UPDATE") {
    auto rows = Item::createMany(db, [&] {
      auto r = batch(size, "u");
      for (auto& x : r) x.ownerId = 1;
      return r;
    }());
    for (auto& r : rows) r.qty += 100;
    spoil(rows[k], violation);
    const auto objects = seenAll(rows);
    expectRefused(db, violation, [&] {
      db.transaction([&](kith::Transaction& trx) {
        for (auto& r : rows) r.save(trx);
      });
    });
    // Rows updated before k are dirty again: their UPDATE was rolled back.
    for (std::size_t i = 0; i < size; ++i) {
      CHECK(rows[i].isPersisted());
      CHECK(rows[i].isDirty());
      CHECK(rows[i].id == objects[i].id);
    }
    mend(rows[k]);
    db.transaction([&](kith::Transaction& trx) {
      for (auto& r : rows) r.save(trx);
    });
    CHECK(Item::findOrFail(db, rows.front().id).qty == rows.front().qty);
    CHECK(Item::findOrFail(db, rows[k].id).label == rows[k].label);
  }

  SECTION("related().createMany and create") {
    auto owner = parent(db, freshParent);
    const auto ownerBefore = seen(owner);
    auto rows = batch(size, "r");
    spoil(rows[k], violation);
    expectRefused(db, violation, [&] {
      if (size == 1)
        owner.related<&Owner::items>(db).create(rows[0]);
      else
        owner.related<&Owner::items>(db).createMany(rows);
    });
    CHECK(seen(owner) == ownerBefore);
    mend(rows[k]);
    const auto created = owner.related<&Owner::items>(db).createMany(rows);
    CHECK(owner.isPersisted());
    CHECK_FALSE(owner.isDirty());
    CHECK(created[k].ownerId == owner.id);
    CHECK(owner.related<&Owner::items>().query().count() == static_cast<std::int64_t>(size));
    CHECK(Owner::findOrFail(db, owner.id).name == owner.name);
  }

  SECTION("related().saveMany and save: new rows and persisted rows moved to this parent") {
    auto owner = parent(db, freshParent);
    auto rows = batch(size, "m");
    // Even rows already exist under the seed owner and are changed; odd rows are new.
    for (std::size_t i = 0; i < size; i += 2) {
      rows[i].ownerId = 1;
      rows[i].save(db);
      rows[i].qty += 10;
    }
    spoil(rows[k], violation);
    const auto ownerBefore = seen(owner);
    const auto objects = seenAll(rows);
    expectRefused(db, violation, [&] {
      if (size == 1)
        owner.related<&Owner::items>(db).save(rows[0]);
      else
        owner.related<&Owner::items>(db).saveMany(rows);
    });
    CHECK(seen(owner) == ownerBefore);
    CHECK(seenAll(rows) == objects);
    mend(rows[k]);
    owner.related<&Owner::items>(db).saveMany(rows);
    for (const auto& r : rows) {
      CHECK(r.isPersisted());
      CHECK(r.ownerId == owner.id);
    }
    CHECK(owner.related<&Owner::items>().query().count() == static_cast<std::int64_t>(size));
  }

  SECTION("related().fetchOrCreateMany: the k-th row is new") {
    auto owner = parent(db, freshParent);
    auto rows = batch(size, "f");
    if (!freshParent)  // even rows other than k exist under this parent already
      for (std::size_t i = 0; i < size; i += 2)
        if (i != k) owner.related<&Owner::items>(db).create(rows[i]);
    owner.name = "Renamed again";
    spoil(rows[k], violation);
    const auto ownerBefore = seen(owner);
    expectRefused(db, violation, [&] { owner.related<&Owner::items>(db).fetchOrCreateMany<&Item::code>(rows); });
    CHECK(seen(owner) == ownerBefore);
    mend(rows[k]);
    const auto result = owner.related<&Owner::items>(db).fetchOrCreateMany<&Item::code>(rows);
    CHECK(result[k].label == rows[k].label);
    CHECK(owner.related<&Owner::items>().query().count() == static_cast<std::int64_t>(size));
  }

  SECTION("related().updateOrCreateMany: the k-th row is updated (k even) or inserted (k odd)") {
    auto owner = parent(db, freshParent);
    auto rows = batch(size, "o");
    if (!freshParent)
      for (std::size_t i = 0; i < size; i += 2) owner.related<&Owner::items>(db).create(rows[i]);
    for (auto& r : rows) r.qty += 100;
    spoil(rows[k], violation);
    const auto ownerBefore = seen(owner);
    expectRefused(db, violation, [&] { owner.related<&Owner::items>(db).updateOrCreateMany<&Item::code>(rows); });
    CHECK(seen(owner) == ownerBefore);
    mend(rows[k]);
    const auto result = owner.related<&Owner::items>(db).updateOrCreateMany<&Item::code>(rows);
    CHECK(result.front().qty == rows.front().qty);
    CHECK(Item::findOrFail(db, result[k].id).label == rows[k].label);
  }

  SECTION("related().firstOrCreate inserts, updateOrCreate updates") {
    if (size != 1) return;  // one row each
    auto owner = parent(db, freshParent);
    auto payload = batch(1, "p")[0];
    spoil(payload, violation);
    const auto ownerBefore = seen(owner);
    expectRefused(db, violation, [&] { owner.related<&Owner::items>(db).firstOrCreate<&Item::code>(payload); });
    CHECK(seen(owner) == ownerBefore);

    auto existing = batch(1, "p")[0];
    owner.related<&Owner::items>(db).create(existing);
    owner.name = "Renamed again";
    const auto afterCreate = seen(owner);
    expectRefused(db, violation, [&] { owner.related<&Owner::items>(db).updateOrCreate<&Item::code>(payload); });
    CHECK(seen(owner) == afterCreate);
    mend(payload);
    CHECK(owner.related<&Owner::items>(db).updateOrCreate<&Item::code>(payload).qty == 7);
    CHECK(owner.related<&Owner::items>().query().count() == 1);
  }

  SECTION("related().query().update: one statement over the parent's rows") {
    if (freshParent) return;  // a query needs a saved parent
    auto owner = parent(db, false);
    owner.related<&Owner::items>(db).createMany(batch(size, "q"));
    const auto update = [&] {
      auto q = owner.related<&Owner::items>().query();
      switch (violation) {
        case Violation::NotNull:
          q.update(kith::set<&Item::label>(std::optional<std::string>{}));
          break;
        case Violation::Unique:
          q.update(kith::set<&Item::label>("taken"));
          break;
        case Violation::Check:
          q.update(kith::set<&Item::qty>(-1));
          break;
      }
    };
    expectRefused(db, violation, update);
    CHECK(owner.related<&Owner::items>().query().update(kith::set<&Item::qty>(3)) == static_cast<std::int64_t>(size));
  }
}

TEST_CASE("a remove through a relation that a foreign key forbids deletes nothing", "[reliability][atomic][bad-input][portable]") {
  const std::size_t k = GENERATE(0u, 2u, 4u);
  auto db = database();
  auto owner = Owner::create(db, {.email = "owner@x", .name = "Owner"});
  auto items = owner.related<&Owner::items>().createMany(batch(5, "d"));
  db.execute("INSERT INTO parts (item_id) VALUES (?)", items[k].id);
  const auto before = dump(db);
  try {
    owner.related<&Owner::items>().query().remove();
    FAIL("a DELETE that a foreign key forbids succeeded");
  } catch (const kith::ConstraintError& e) {
    CHECK(e.sqlstate() == "23503");  // foreign_key_violation
    CHECK_THAT(e.what(), test::Contains(test::onPostgres() ? R"(violates foreign key constraint "parts_item_id_fkey")"
                                                           : "FOREIGN KEY constraint failed"));
  }
  CHECK_THROWS_AS(items[k].destroy(), kith::ConstraintError);
  CHECK(items[k].isPersisted());
  CHECK_FALSE(items[k].isDeleted());
  CHECK(dump(db) == before);
  db.execute("DELETE FROM parts");
  CHECK(owner.related<&Owner::items>().query().remove() == 5);
}
