// save, destroy, refresh, find, create and the batched createMany: rows, SQL and statement counts.
#include "support.hpp"

using test::Post;
using test::User;

namespace {
User user(std::string email, std::optional<std::string> name = std::nullopt) { return User{{}, 0, std::move(email), std::move(name)}; }
}  // namespace

TEST_CASE("save() inserts a new model and writes back the generated id", "[persistence][portable]") {
  auto db = test::blogDatabase();
  test::StatementLog log(db);
  auto u = user("virk@adonisjs.com");
  CHECK_FALSE(u.isPersisted());
  CHECK(u.isDirty());
  u.save(db);
  CHECK(u.id == 1);
  CHECK(u.isPersisted());
  CHECK_FALSE(u.isDirty());
  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == test::insertOne(R"(INSERT INTO "users" ("email", "name") VALUES (?, ?))"));
  CHECK(log.entries[0].bindings == std::vector<kith::Value>{std::string("virk@adonisjs.com"), nullptr});
}

TEST_CASE("save() of a persisted model updates only its dirty columns, and sends nothing when clean", "[persistence][portable]") {
  auto db = test::blogDatabase();
  auto u = User::create(db, user("virk@adonisjs.com", "Virk"));
  test::StatementLog log(db);
  u.save();
  CHECK(log.count() == 0);

  u.email = "virk@adonis.dev";
  CHECK(u.isDirty());
  CHECK(u.dirty() == std::vector<std::string_view>{"email"});
  u.save();
  REQUIRE(log.count() == 1);
  CHECK(log.entries[0].sql == R"(UPDATE "users" SET "email" = ? WHERE "id" = ?)");
  CHECK(log.entries[0].bindings == std::vector<kith::Value>{std::string("virk@adonis.dev"), std::int64_t{1}});
  CHECK_FALSE(u.isDirty());

  u.email = "virk@adonis.dev";  // same value again: still clean
  u.save();
  CHECK(log.count() == 1);
  CHECK(User::findOrFail(db, 1).email == "virk@adonis.dev");
  CHECK(User::findOrFail(db, 1).name == std::optional<std::string>("Virk"));
}

TEST_CASE("save() of a model whose row was deleted elsewhere is NotFound and claims nothing", "[persistence][bad-input][portable]") {
  auto db = test::blogDatabase();
  auto u = User::create(db, user("a@b"));
  db.execute("DELETE FROM users");
  u.email = "c@d";
  CHECK_THROWS_WITH(u.save(), "kith: cannot save User with id = 1: its row no longer exists");
  CHECK(u.isDirty());
}

TEST_CASE("changing the primary key of a saved model is refused", "[persistence][bad-input][portable]") {
  auto db = test::blogDatabase();
  auto u = User::create(db, user("a@b"));
  u.id = 99;
  CHECK_THROWS_AS(u.save(), kith::UsageError);
  CHECK(User::find(db, 1).has_value());
}

TEST_CASE("a model with no connection says how to give it one", "[persistence][bad-input][portable]") {
  auto u = user("a@b");
  CHECK_THROWS_WITH(u.save(), "kith: cannot save this User: it has no connection; pass one (save(db)), or load the model through a query");
  CHECK_THROWS_AS(u.connection(), kith::UsageError);
  CHECK_THROWS_WITH(u.destroy(), "kith: cannot destroy a User that was never saved");
  CHECK_THROWS_WITH(u.refresh(), "kith: cannot refresh a User that was never saved");
}

TEST_CASE("destroy() deletes the row, the model cannot be saved again", "[persistence][portable]") {
  auto db = test::blogDatabase();
  auto u = User::create(db, user("a@b"));
  test::StatementLog log(db);
  u.destroy();
  CHECK(log.sql() == std::vector<std::string>{R"(DELETE FROM "users" WHERE "id" = ?)"});
  CHECK_FALSE(u.isPersisted());
  CHECK(u.isDeleted());
  CHECK(test::rows(db, "users") == 0);
  CHECK_THROWS_WITH(u.save(), "kith: cannot save a User that was destroyed; create a new one");
  CHECK(test::rows(db, "users") == 0);
}

TEST_CASE("refresh() reads the row again, a deleted row is NotFound", "[persistence][portable]") {
  auto db = test::blogDatabase();
  auto u = User::create(db, user("a@b"));
  db.execute("UPDATE users SET name = 'Set elsewhere'");
  u.refresh();
  CHECK(u.name == std::optional<std::string>("Set elsewhere"));
  CHECK_FALSE(u.isDirty());
  db.execute("DELETE FROM users");
  CHECK_THROWS_AS(u.refresh(), kith::NotFound);
}

TEST_CASE("find and findOrFail", "[persistence][portable]") {
  auto db = test::blogDatabase();
  User::create(db, user("a@b"));
  auto found = User::find(db, 1);
  REQUIRE(found);
  CHECK(found->isPersisted());
  CHECK_FALSE(found->isDirty());
  CHECK_FALSE(User::find(db, 42).has_value());
  CHECK_THROWS_AS(User::findOrFail(db, 42), kith::NotFound);
  CHECK_THROWS_WITH(User::findOrFail(db, 42), "kith: no User with id = 42 in table users");
  // A loaded model remembers its connection.
  found->name = "Named";
  found->save();
  CHECK(User::findOrFail(db, 1).name == std::optional<std::string>("Named"));
}

TEST_CASE("copies of a model carry its state independently", "[persistence][portable]") {
  auto db = test::blogDatabase();
  auto u = User::create(db, user("a@b"));
  User copy = u;
  CHECK(copy.isPersisted());
  copy.email = "copy@b";
  CHECK(copy.isDirty());
  CHECK_FALSE(u.isDirty());
  copy.save();
  CHECK(User::findOrFail(db, 1).email == "copy@b");
}

TEST_CASE("createMany of nothing sends no statement", "[persistence][createMany][portable]") {
  auto db = test::blogDatabase();
  test::StatementLog log(db);
  CHECK(User::createMany(db, {}).empty());
  CHECK(log.count() == 0);
}

TEST_CASE("createMany uses multi-row INSERTs and returns rows in input order with their ids", "[persistence][createMany][portable]") {
  auto db = test::blogDatabase();
  User::create(db, user("first@b"));
  test::StatementLog log(db);
  std::vector<User> input;
  for (int i = 0; i < 300; ++i) input.push_back(user("u" + std::to_string(i) + "@b"));
  const auto created = User::createMany(db, input);
  REQUIRE(created.size() == 300);
  for (std::size_t i = 0; i < created.size(); ++i) {
    CHECK(created[i].isPersisted());
    CHECK(created[i].email == "u" + std::to_string(i) + "@b");
    CHECK(created[i].id == static_cast<std::int64_t>(i) + 2);
  }
  // 300 rows go in chunks of 32 (an eighth of the rows, as a power of two): 9 x 32 + 8 + 4,
  // eleven INSERTs, not 300 (after the key reservation on PostgreSQL).
  const auto sql = log.sql();
  REQUIRE(sql.size() == 13 + test::keyReservations(300));
  CHECK(sql.front() == test::beginSql());
  CHECK(sql.back() == "COMMIT");
  const std::size_t first = 1 + test::keyReservations(300);
  const std::size_t columns = test::onPostgres() ? 3 : 2;  // with the reserved keys
  CHECK(log.entries[first].bindings.size() == 32 * columns);
  CHECK(log.entries[first + 8].bindings.size() == 32 * columns);
  CHECK(log.entries[first + 9].bindings.size() == 8 * columns);
  CHECK(log.entries[first + 10].bindings.size() == 4 * columns);
  for (const auto& c : created) CHECK(User::findOrFail(db, c.id).email == c.email);
}

TEST_CASE("createMany of many rows uses INSERTs of 256 rows", "[persistence][createMany][portable]") {
  auto db = test::blogDatabase();
  test::StatementLog log(db);
  std::vector<User> input;
  for (int i = 0; i < 2100; ++i) input.push_back(user("u" + std::to_string(i) + "@b"));
  const auto created = User::createMany(db, input);
  // 2,100 = 8 x 256 + 32 + 16 + 4.
  const auto sql = log.sql();
  REQUIRE(sql.size() == 13 + test::keyReservations(2100));
  const std::size_t first = 1 + test::keyReservations(2100);
  const std::size_t columns = test::onPostgres() ? 3 : 2;
  for (std::size_t k = 0; k < 8; ++k) CHECK(log.entries[first + k].bindings.size() == 256 * columns);
  CHECK(log.entries[first + 8].bindings.size() == 32 * columns);
  CHECK(log.entries[first + 10].bindings.size() == 4 * columns);
  CHECK(User::query(db).count() == 2100);
  CHECK(User::findOrFail(db, created.back().id).email == "u2099@b");
}

TEST_CASE("createMany keeps every statement under the host-parameter limit read at run time", "[persistence][createMany]") {
  auto db = test::blogDatabase();
  sqlite3_limit(kith::sqlite::handle(db), SQLITE_LIMIT_VARIABLE_NUMBER, 9);
  test::StatementLog log(db);
  std::vector<User> input;
  for (int i = 0; i < 11; ++i) input.push_back(user("u" + std::to_string(i) + "@b"));
  const auto created = User::createMany(db, input);
  CHECK(test::rows(db, "users") == 11);
  CHECK(created.back().id == 11);
  std::size_t inserts = 0;
  for (const auto& e : log.entries)
    if (e.sql.starts_with("INSERT")) {
      ++inserts;
      CHECK(e.bindings.size() <= 9);
    }
  CHECK(inserts == 4);  // 4 + 4 + 2 + 1 rows of two parameters each
}

TEST_CASE("createMany with one bad row writes no row and marks nothing persisted", "[persistence][createMany][bad-input][portable]") {
  auto db = test::blogDatabase();
  std::vector<Post> input;
  for (int i = 0; i < 10; ++i) input.push_back(Post{{}, 0, 1, "title " + std::to_string(i), "body"});
  input[6].title = "";  // the 7th row violates CHECK (title <> '')
  std::vector<Post> created;
  try {
    created = Post::createMany(db, input);
    FAIL("createMany wrote a row that violates the CHECK constraint");
  } catch (const kith::ConstraintError& e) {
    CHECK(e.sqlstate() == "23514");  // check_violation, on either database
  }
  CHECK(created.empty());
  CHECK(test::rows(db, "posts") == 0);
  CHECK_FALSE(db.inTransaction());
  // The connection stays usable and a corrected batch goes in whole.
  input[6].title = "fixed";
  CHECK(Post::createMany(db, input).size() == 10);
  CHECK(test::rows(db, "posts") == 10);
}

TEST_CASE("createMany with explicit ids keeps them", "[persistence][createMany][portable]") {
  auto db = test::blogDatabase();
  const auto created = User::createMany(db, {User{{}, 100, "a@b", std::nullopt}, user("b@b"), User{{}, 50, "c@b", std::nullopt}});
  CHECK(created[0].id == 100);
  CHECK(created[2].id == 50);
  // A generated key follows the largest one on SQLite; PostgreSQL's sequence knows nothing of
  // explicit keys and gives its next value.
  CHECK(created[1].id == (test::onPostgres() ? 1 : 101));
  CHECK(User::findOrFail(db, created[1].id).email == "b@b");
  CHECK(User::findOrFail(db, 50).email == "c@b");
}

TEST_CASE("createMany inside a transaction that rolls back leaves no object persisted", "[persistence][createMany][portable]") {
  auto db = test::blogDatabase();
  std::vector<User> created;
  {
    auto trx = db.begin();
    created = User::createMany(trx, {user("a@b"), user("b@b")});
    CHECK(created[0].isPersisted());
  }
  CHECK_FALSE(created[0].isPersisted());
  CHECK_FALSE(created[1].isPersisted());
  CHECK(test::rows(db, "users") == 0);
}
