// The query builder: the SQL it sends, the values it binds and the rows it returns.
#include "support.hpp"

using test::Post;
using test::User;

namespace {

kith::Connection seeded() {
  auto db = test::blogDatabase();
  User::createMany(db, {User{{}, 0, "a@x.com", "Ann"}, User{{}, 0, "b@x.com", std::nullopt}, User{{}, 0, "c@y.org", "Cy"},
                        User{{}, 0, "d@y.org", std::nullopt}, User{{}, 0, "e%_@z.net", "E"}});
  return db;
}

std::vector<std::int64_t> ids(const std::vector<User>& users) {
  std::vector<std::int64_t> out;
  for (const auto& u : users) out.push_back(u.id);
  return out;
}

}  // namespace

TEST_CASE("where binds values and quotes identifiers", "[query][portable]") {
  auto db = seeded();
  auto q = User::query(db).where<&User::email>("c@y.org");
  CHECK(q.toSql() == R"(SELECT "id", "email", "name" FROM "users" WHERE "email" = ?)");
  CHECK(q.bindings() == std::vector<kith::Value>{std::string("c@y.org")});
  CHECK(ids(q.all()) == std::vector<std::int64_t>{3});
}

TEST_CASE("where with each comparison operator", "[query][portable]") {
  auto db = seeded();
  CHECK(User::query(db).where<&User::id>("!=", 1).count() == 4);
  CHECK(User::query(db).where<&User::id>("<>", 1).count() == 4);
  CHECK(User::query(db).where<&User::id>("<", 3).count() == 2);
  CHECK(User::query(db).where<&User::id>("<=", 3).count() == 3);
  CHECK(User::query(db).where<&User::id>(">", 3).count() == 2);
  CHECK(User::query(db).where<&User::id>(">=", 3).count() == 3);
  CHECK(User::query(db).where<&User::email>("like", "%@y.org").count() == 2);
  CHECK(User::query(db).where<&User::email>("not like", "%@y.org").count() == 3);
}

TEST_CASE("an unknown operator is refused, never spliced into SQL", "[query][bad-input][portable]") {
  auto db = seeded();
  CHECK_THROWS_WITH(User::query(db).where<&User::id>("= 1 OR 1 =", 1),
                    "kith: unknown operator \"= 1 OR 1 =\" in where<>(); use one of =, !=, <>, <, <=, >, >=, like, not like");
}

TEST_CASE("values that look like SQL are only ever data", "[query][bad-input][portable]") {
  auto db = seeded();
  CHECK(User::query(db).where<&User::email>("' OR '1'='1").count() == 0);
  CHECK(User::query(db).where<&User::email>("x'); DROP TABLE users; --").count() == 0);
  CHECK(test::rows(db, "users") == 5);
  CHECK(User::query(db).where<&User::email>("e%_@z.net").count() == 1);  // % and _ are literal with =
}

TEST_CASE("orWhere and grouped conditions", "[query][portable]") {
  auto db = seeded();
  auto q = User::query(db).where<&User::email>("like", "%@y.org").where([](auto& g) {
    g.template whereNull<&User::name>().template orWhere<&User::id>(3);
  });
  CHECK(q.toSql() == R"(SELECT "id", "email", "name" FROM "users" WHERE "email" like ? AND ("name" IS NULL OR "id" = ?))");
  CHECK(ids(q.orderBy<&User::id>().all()) == std::vector<std::int64_t>{3, 4});
  CHECK(User::query(db).where<&User::id>(1).orWhere<&User::id>(2).count() == 2);
  CHECK(User::query(db).where<&User::id>(1).orWhere([](auto& g) { g.template where<&User::id>(">", 3); }).count() == 3);
}

TEST_CASE("whereIn, whereNotIn and empty lists", "[query][portable]") {
  auto db = seeded();
  const std::vector<std::int64_t> some{2, 4, 4};
  auto q = User::query(db).whereIn<&User::id>(some);
  // PostgreSQL takes the list as one array parameter, whatever its length.
  CHECK(q.toSql() == R"(SELECT "id", "email", "name" FROM "users" WHERE )" + test::keysIn(R"("id")", 3));
  CHECK(q.bindings() == (test::onPostgres() ? std::vector<kith::Value>{std::string("{2,4,4}")} : test::keyBindings({2, 4, 4})));
  CHECK(q.count() == 2);
  CHECK(User::query(db).whereNotIn<&User::id>(some).count() == 3);
  CHECK(User::query(db).whereIn<&User::id>(std::vector<std::int64_t>{}).count() == 0);
  CHECK(User::query(db).whereNotIn<&User::id>(std::vector<std::int64_t>{}).count() == 5);
  CHECK(User::query(db).whereIn<&User::email>({"a@x.com", "c@y.org"}).count() == 2);
  CHECK(User::query(db).where<&User::id>(1).orWhereIn<&User::id>(some).count() == 3);
}

TEST_CASE("whereIn and whereNotIn with 100,000 values", "[query][portable]") {
  auto db = test::blogDatabase();
  std::vector<User> users;
  for (int i = 0; i < 1000; ++i) users.push_back(User{{}, 0, "u" + std::to_string(i) + "@b", std::nullopt});
  User::createMany(db, users);
  std::vector<std::int64_t> ids;  // every third of the 1,000 ids, among 100,000 values
  for (std::int64_t i = 0; i < 100000; ++i) ids.push_back(i % 3 == 0 ? i : -i);
  std::vector<std::string> emails;
  for (int i = 0; i < 100000; ++i) emails.push_back("u" + std::to_string(i * 2) + "@b");
  test::StatementLog log(db);
  CHECK(User::query(db).whereIn<&User::id>(ids).count() == 333);  // 3, 6, ..., 999
  CHECK(User::query(db).whereNotIn<&User::id>(ids).count() == 667);
  CHECK(User::query(db).whereIn<&User::email>(emails).count() == 500);
  CHECK(User::query(db).where<&User::id>(1).orWhereNotIn<&User::email>(emails).count() == 501);
  CHECK(log.count() == 4);  // one statement each
  if (test::onPostgres()) {
    CHECK(log.entries[0].sql == R"(SELECT count(*) FROM "users" WHERE "id" = ANY(?))");
    CHECK(log.entries[1].sql == R"(SELECT count(*) FROM "users" WHERE "id" <> ALL(?))");
    CHECK(log.entries[0].bindings.size() == 1);
  } else {
    CHECK(log.entries[0].bindings.size() == 100000);
  }
}

TEST_CASE("SQLite: a whereIn list past the host-parameter limit is a kith error naming the limit", "[query][bad-input]") {
  auto db = test::blogDatabase();
  sqlite3_limit(kith::sqlite::handle(db), SQLITE_LIMIT_VARIABLE_NUMBER, 1000);
  std::vector<std::int64_t> ids(1001, 7);
  CHECK_THROWS_WITH(User::query(db).whereIn<&User::id>(ids).count(),
                    "kith: whereIn<id>() got 1001 values, more than the 1000 parameters one statement may have on \":memory:\" (SQLite's "
                    "SQLITE_LIMIT_VARIABLE_NUMBER); split the list over several queries");
  CHECK_THROWS_WITH(User::query(db).whereNotIn<&User::id>(ids), test::Contains("kith: whereNotIn<id>() got 1001 values"));
  ids.pop_back();
  CHECK(User::query(db).whereIn<&User::id>(ids).count() == 0);
}

TEST_CASE("whereNull, whereNotNull, and a null value", "[query][portable]") {
  auto db = seeded();
  CHECK(User::query(db).whereNull<&User::name>().count() == 2);
  CHECK(User::query(db).whereNotNull<&User::name>().count() == 3);
  CHECK(User::query(db).where<&User::name>(std::nullopt).toSql() == R"(SELECT "id", "email", "name" FROM "users" WHERE "name" IS NULL)");
  CHECK(User::query(db).where<&User::name>(std::nullopt).count() == 2);
  CHECK(User::query(db).where<&User::id>(1).orWhereNull<&User::name>().count() == 3);
  CHECK(User::query(db).where<&User::id>(1).orWhereNotNull<&User::name>().count() == 3);
}

TEST_CASE("whereRaw binds its parameters", "[query][portable]") {
  auto db = seeded();
  auto q = User::query(db).whereRaw("length(email) > ? AND email LIKE ?", 6, "%.org");
  CHECK(q.toSql() == R"(SELECT "id", "email", "name" FROM "users" WHERE (length(email) > ? AND email LIKE ?))");
  CHECK(q.bindings() == std::vector<kith::Value>{std::int64_t{6}, std::string("%.org")});
  CHECK(q.count() == 2);
  CHECK(User::query(db).where<&User::id>(1).orWhereRaw("id = ?", 2).count() == 2);
}

TEST_CASE("select reads only the chosen columns", "[query][portable]") {
  auto db = seeded();
  auto q = User::query(db).select<&User::email>().where<&User::id>(3);
  CHECK(q.toSql() == R"(SELECT "email" FROM "users" WHERE "id" = ?)");
  const auto u = q.firstOrFail();
  CHECK(u.email == "c@y.org");
  CHECK(u.id == 0);
  CHECK_FALSE(u.name.has_value());
}

TEST_CASE("orderBy, limit, offset, first", "[query][portable]") {
  auto db = seeded();
  auto q = User::query(db).orderBy<&User::name>(kith::desc).orderBy<&User::id>(kith::asc).limit(2).offset(1);
  CHECK(q.toSql() == R"(SELECT "id", "email", "name" FROM "users" ORDER BY "name" DESC, "id" ASC LIMIT ? OFFSET ?)");
  // SQLite sorts NULL lowest (E, Cy, Ann, then the NULLs), PostgreSQL highest (the NULLs, then E, Cy, Ann).
  CHECK(ids(q.all()) == (test::onPostgres() ? std::vector<std::int64_t>{4, 5} : std::vector<std::int64_t>{3, 1}));
  CHECK(User::query(db).orderBy<&User::id>(kith::desc).first()->id == 5);
  CHECK_FALSE(User::query(db).where<&User::id>(99).first().has_value());
  CHECK(ids(User::query(db).offset(3).orderBy<&User::id>().all()) == std::vector<std::int64_t>{4, 5});
}

TEST_CASE("firstOrFail throws NotFound naming the query", "[query][bad-input][portable]") {
  auto db = seeded();
  CHECK_THROWS_WITH(User::query(db).where<&User::id>(99).firstOrFail(),
                    R"(kith: no User matches: SELECT "id", "email", "name" FROM "users" WHERE "id" = ?)");
}

TEST_CASE("count and exists", "[query][portable]") {
  auto db = seeded();
  test::StatementLog log(db);
  CHECK(User::query(db).where<&User::email>("like", "%x.com").count() == 2);
  CHECK(log.sql().back() == R"(SELECT count(*) FROM "users" WHERE "email" like ?)");
  CHECK(User::query(db).limit(2).count() == 2);
  CHECK(User::query(db).where<&User::id>(5).exists());
  CHECK_FALSE(User::query(db).where<&User::id>(6).exists());
  CHECK(log.sql().back() == R"(SELECT EXISTS(SELECT 1 FROM "users" WHERE "id" = ?))");
}

TEST_CASE("update and remove touch only the matching rows", "[query][portable]") {
  auto db = seeded();
  test::StatementLog log(db);
  CHECK(User::query(db).whereNull<&User::name>().update(kith::set<&User::name>("Anonymous")) == 2);
  CHECK(log.sql().back() == R"(UPDATE "users" SET "name" = ? WHERE "name" IS NULL)");
  CHECK(User::query(db).where<&User::name>("Anonymous").count() == 2);
  CHECK(User::query(db).where<&User::id>(1).update(kith::set<&User::name>(std::nullopt), kith::set<&User::email>("z@z")) == 1);
  CHECK(User::findOrFail(db, 1).email == "z@z");
  CHECK_FALSE(User::findOrFail(db, 1).name.has_value());

  CHECK(User::query(db).where<&User::email>("like", "%@y.org").remove() == 2);
  CHECK(log.sql().back() == R"(DELETE FROM "users" WHERE "email" like ?)");
  CHECK(test::rows(db, "users") == 3);
  CHECK_THROWS_AS(User::query(db).limit(1).remove(), kith::UsageError);
  CHECK(test::rows(db, "users") == 3);
}

TEST_CASE("queries on a transaction run inside it, and their rows belong to it", "[query][portable]") {
  auto db = seeded();
  db.transaction([&](kith::Transaction& trx) {
    auto u = User::query(trx).where<&User::id>(1).firstOrFail();
    u.name = "in trx";
    u.save();
    trx.rollback();
  });
  CHECK(User::findOrFail(db, 1).name == std::optional<std::string>("Ann"));
}

TEST_CASE("a query holding a text condition with NUL bytes matches exactly", "[query][bad-input][portable]") {
  auto db = test::blogDatabase();
  using namespace std::string_literals;
  if (test::onPostgres()) {  // PostgreSQL text cannot hold NUL: refused before anything is sent
    CHECK_THROWS_AS(User::create(db, User{{}, 0, "a\0b"s, std::nullopt}), kith::DataError);
    CHECK_THROWS_WITH(User::create(db, User{{}, 0, "a\0b"s, std::nullopt}),
                      test::Contains("kith: PostgreSQL text cannot hold a NUL character; store such values in a kith::Blob column; "
                                     "nothing was sent (parameter 1 of: INSERT INTO \"users\""));
    CHECK_THROWS_WITH(User::query(db).where<&User::email>("a\0b"s).count(), test::Contains("cannot hold a NUL character"));
    CHECK(test::rows(db, "users") == 0);
    return;
  }
  User::create(db, User{{}, 0, "a\0b"s, std::nullopt});
  User::create(db, User{{}, 0, "a", std::nullopt});
  CHECK(User::query(db).where<&User::email>("a\0b"s).count() == 1);
  CHECK(User::query(db).where<&User::email>("a").count() == 1);
}
