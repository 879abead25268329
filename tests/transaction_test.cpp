// Transactions: the callback form, the RAII object, savepoints, misuse, and what models believe
// after a rollback.
#include "support.hpp"

using test::User;

TEST_CASE("transaction(fn) commits when fn returns and passes its result through", "[transaction][portable]") {
  auto db = test::blogDatabase();
  test::StatementLog log(db);
  const auto id = db.transaction([](kith::Transaction& trx) { return User::create(trx, {{}, 0, "a@b", std::nullopt}).id; });
  CHECK(id == 1);
  CHECK(test::rows(db, "users") == 1);
  CHECK(log.sql() ==
        std::vector<std::string>{test::beginSql(), test::insertOne(R"(INSERT INTO "users" ("email", "name") VALUES (?, ?))"), "COMMIT"});
  CHECK_FALSE(db.inTransaction());
}

TEST_CASE("transaction(fn) rolls back and rethrows when fn throws", "[transaction][portable]") {
  auto db = test::blogDatabase();
  User kept{{}, 0, "a@b", std::nullopt};
  CHECK_THROWS_WITH(db.transaction([&](auto& trx) {
    kept.save(trx);
    throw std::runtime_error("boom");
  }),
                    "boom");
  CHECK(test::rows(db, "users") == 0);
  CHECK_FALSE(kept.isPersisted());
  CHECK_FALSE(db.inTransaction());
}

TEST_CASE("a Transaction destroyed without commit rolls back", "[transaction][portable]") {
  auto db = test::blogDatabase();
  {
    auto trx = db.begin();
    User::create(trx, {{}, 0, "a@b", std::nullopt});
    CHECK(test::rows(db, "users") == 1);
  }
  CHECK(test::rows(db, "users") == 0);
}

TEST_CASE("nested transactions are savepoints, an inner rollback keeps the outer work", "[transaction][portable]") {
  auto db = test::blogDatabase();
  test::StatementLog log(db);
  db.transaction([](kith::Transaction& outer) {
    User::create(outer, {{}, 0, "outer@b", std::nullopt});
    CHECK_THROWS(outer.transaction([](kith::Transaction& inner) {
      User::create(inner, {{}, 0, "inner@b", std::nullopt});
      throw std::runtime_error("inner fails");
    }));
    outer.transaction([](kith::Transaction& inner) { User::create(inner, {{}, 0, "inner2@b", std::nullopt}); });
  });
  const auto sql = log.sql();
  CHECK(test::rows(db, "users") == 2);
  CHECK(User::query(db).where<&User::email>("inner@b").count() == 0);
  CHECK(std::count(sql.begin(), sql.end(), "SAVEPOINT kith_2") == 2);
  CHECK(std::count(sql.begin(), sql.end(), "ROLLBACK TO kith_2") == 1);
  CHECK(std::count(sql.begin(), sql.end(), "RELEASE kith_2") == 2);
  CHECK(sql.back() == "COMMIT");
}

TEST_CASE("a finished transaction cannot be used again", "[transaction][bad-input][portable]") {
  auto db = test::blogDatabase();
  auto trx = db.begin();
  trx.commit();
  CHECK_FALSE(trx.isActive());
  CHECK_THROWS_WITH(trx.commit(), "kith: this transaction was already committed; start a new one with db.transaction(...) or db.begin()");
  CHECK_THROWS_AS(User::query(trx).all(), kith::UsageError);
  auto other = db.begin();
  other.rollback();
  CHECK_THROWS_WITH(User::create(other, {{}, 0, "a@b", std::nullopt}), test::Contains("already rolled back"));
}

TEST_CASE("transactions finish innermost first", "[transaction][bad-input][portable]") {
  auto db = test::blogDatabase();
  auto outer = db.begin();
  auto inner = outer.begin();
  CHECK_THROWS_WITH(outer.commit(), "kith: commit the inner transaction (savepoint) before the one around it");
  inner.commit();
  outer.commit();
  CHECK_FALSE(db.inTransaction());
}

TEST_CASE("rolling back an outer transaction undoes its savepoints too", "[transaction][portable]") {
  auto db = test::blogDatabase();
  auto outer = db.begin();
  auto inner = outer.begin();
  User u{{}, 0, "a@b", std::nullopt};
  u.save(inner);
  outer.rollback();
  CHECK_FALSE(inner.isActive());
  CHECK_FALSE(u.isPersisted());
  CHECK(test::rows(db, "users") == 0);
}

TEST_CASE("a model inserted in a rolled-back transaction is not persisted and saves again as new", "[transaction][portable]") {
  auto db = test::blogDatabase();
  User u{{}, 0, "a@b", std::nullopt};
  {
    auto trx = db.begin();
    u.save(trx);
    CHECK(u.isPersisted());
    CHECK(u.id == 1);
  }  // rolled back
  CHECK_FALSE(u.isPersisted());
  CHECK(u.isDirty());
  test::StatementLog log(db);
  u.save(db);
  CHECK(log.sql() == std::vector<std::string>{test::insertOne(R"(INSERT INTO "users" ("email", "name") VALUES (?, ?))")});
  CHECK(u.isPersisted());
  CHECK(User::findOrFail(db, u.id).email == "a@b");
}

TEST_CASE("a model updated in a rolled-back transaction is dirty again", "[transaction][portable]") {
  auto db = test::blogDatabase();
  auto u = User::create(db, {{}, 0, "a@b", std::nullopt});
  {
    auto trx = db.begin();
    u.email = "new@b";
    u.save(trx);
    CHECK_FALSE(u.isDirty());
  }
  CHECK(u.isDirty());
  u.save(db);
  CHECK(User::findOrFail(db, u.id).email == "new@b");
}

TEST_CASE("a model saved in a committed transaction keeps working through its connection", "[transaction][portable]") {
  auto db = test::blogDatabase();
  User u{{}, 0, "a@b", std::nullopt};
  db.transaction([&](kith::Transaction& trx) { u.save(trx); });
  CHECK(u.isPersisted());
  u.email = "b@b";
  CHECK_NOTHROW(u.save());  // the finished transaction gives way to its connection
  CHECK(User::findOrFail(db, u.id).email == "b@b");
}
