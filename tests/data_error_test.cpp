// Values a database cannot store are kith::DataError on both databases, with one SQLSTATE per
// kind, whether kith refuses them before sending or the database does; nothing is written, and
// an application can tell them (the client's fault) from its own mistakes (other DatabaseErrors).
#include "support.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

namespace data_error {

using Time = std::chrono::sys_time<std::chrono::microseconds>;

struct Reading : kith::BaseModel<Reading> {
  std::int64_t id{};
  std::string label;
  std::uint64_t counter{};
  Time at{};
  double value{};

  static constexpr auto columns = kith::columns<&Reading::id, &Reading::label, &Reading::counter, &Reading::at, &Reading::value>;
};

Reading reading(std::string label) {
  Reading r;
  r.label = std::move(label);
  r.at = std::chrono::sys_days{std::chrono::days{19000}};
  return r;
}

/// Runs `write`, which must be refused with a DataError carrying `sqlstate`; returns the error's
/// message, and checks that the table still holds `rows` rows.
template <class F>
std::string refused(const kith::Connection& db, const char* sqlstate, std::int64_t rows, F write) {
  std::string message = "<no DataError>";
  try {
    write();
    FAIL("the write succeeded; expected a DataError with SQLSTATE " << sqlstate);
  } catch (const kith::DataError& e) {
    CHECK(e.sqlstate() == sqlstate);
    message = e.what();
  }
  CHECK(test::rows(db, "readings") == rows);
  return message;
}

std::string randomText(std::size_t size) {
  std::mt19937 random(7);
  std::string out(size, ' ');
  for (auto& c : out) c = static_cast<char>('a' + random() % 26);
  return out;
}

}  // namespace data_error

using data_error::Reading;
using data_error::refused;
using data_error::Time;

TEST_CASE("an unsigned value past INT64_MAX is a DataError on every database, in a write and in a condition",
          "[data-error][bad-input][portable]") {
  auto db = test::database();
  kith::createTables<Reading>(db);
  auto r = data_error::reading("big");
  r.counter = std::numeric_limits<std::uint64_t>::max();
  const auto message = refused(db, "22003", 0, [&] { r.save(db); });
  CHECK_THAT(message, test::Contains("the unsigned value 18446744073709551615 does not fit a 64-bit signed integer column"));
  CHECK_THAT(message, test::Contains(R"(parameter 2 of: INSERT INTO "readings")"));
  CHECK_FALSE(r.isPersisted());
  CHECK(r.id == 0);
  // In a condition the query is refused while it is built: no SQL to name yet.
  CHECK_THROWS_AS(Reading::query(db).where<&Reading::counter>(std::numeric_limits<std::uint64_t>::max()), kith::DataError);
  r.counter = std::uint64_t{1} << 63 >> 1;
  r.save(db);
  CHECK(Reading::findOrFail(db, r.id).counter == r.counter);
}

TEST_CASE("a time outside the years 0001 to 9999 is a DataError on every database, and the bounds themselves are stored",
          "[data-error][bad-input][portable]") {
  using namespace std::chrono;
  auto db = test::database();
  kith::createTables<Reading>(db);
  const auto first = Time{sys_days{year{1} / 1 / 1}};
  const auto last = Time{sys_days{year{9999} / 12 / 31}} + 23h + 59min + 59s + 999999us;
  for (const Time bad : {first - 1us, last + 1us, Time{sys_days{year{-40} / 3 / 15}}, Time{sys_days{year{20000} / 1 / 1}}}) {
    auto r = data_error::reading("bad time");
    r.at = bad;
    const auto message = refused(db, "22008", 0, [&] { r.save(db); });
    CHECK_THAT(message, test::Contains("is outside the years 0001 to 9999"));
    CHECK_FALSE(r.isPersisted());
    CHECK_THROWS_AS(Reading::query(db).where<&Reading::at>("<", bad).count(), kith::DataError);
  }
  // createMany: the k-th row's bad time writes no row and leaves no object persisted.
  std::vector<Reading> rows;
  for (int i = 0; i < 5; ++i) rows.push_back(data_error::reading("row " + std::to_string(i)));
  rows[3].at = Time{sys_days{year{10000} / 1 / 1}};
  refused(db, "22008", 0, [&] { Reading::createMany(db, rows); });
  for (const auto& row : rows) CHECK_FALSE(row.isPersisted());
  // The bounds round-trip exactly, and sort in time order.
  auto early = data_error::reading("early"), late = data_error::reading("late");
  early.at = first;
  late.at = last;
  early.save(db);
  late.save(db);
  CHECK(Reading::findOrFail(db, early.id).at == first);
  CHECK(Reading::findOrFail(db, late.id).at == last);
  CHECK(Reading::query(db).orderBy<&Reading::at>(kith::desc).first()->label == "late");
}

TEST_CASE("NUL or invalid UTF-8 in text is a DataError on PostgreSQL, and SQLite stores the bytes", "[data-error][bad-input][portable]") {
  using namespace std::string_literals;
  auto db = test::database();
  kith::createTables<Reading>(db);
  auto nul = data_error::reading("a\0b"s);
  auto invalid = data_error::reading("caf\xc3");
  if (!test::onPostgres()) {
    nul.save(db);
    invalid.save(db);
    CHECK(Reading::findOrFail(db, nul.id).label == "a\0b"s);
    CHECK(Reading::findOrFail(db, invalid.id).label == "caf\xc3");
    return;
  }
  // kith refuses NUL before sending (libpq would cut the text short); the server refuses bad UTF-8.
  CHECK_THAT(refused(db, "22021", 0, [&] { nul.save(db); }), test::Contains("PostgreSQL text cannot hold a NUL character"));
  CHECK_THAT(refused(db, "22021", 0, [&] { invalid.save(db); }), test::Contains("invalid byte sequence"));
  CHECK_FALSE(nul.isPersisted());
  CHECK_FALSE(invalid.isPersisted());
  CHECK(Reading::create(db, data_error::reading("after")).isPersisted());  // the connection is usable
}

TEST_CASE("NaN is a DataError on SQLite, which would store NULL, and PostgreSQL stores it", "[data-error][bad-input][portable]") {
  auto db = test::database();
  kith::createTables<Reading>(db);
  auto r = data_error::reading("nan");
  r.value = std::nan("");
  if (test::onPostgres()) {
    r.save(db);
    CHECK(std::isnan(Reading::findOrFail(db, r.id).value));
    return;
  }
  CHECK_THAT(refused(db, "22000", 0, [&] { r.save(db); }), test::Contains("cannot store NaN"));
  CHECK_FALSE(r.isPersisted());
}

TEST_CASE("a value over the database's size limit is a DataError", "[data-error][bad-input][portable]") {
  auto db = test::database();
  kith::createTables<Reading>(db);
  db.execute("CREATE UNIQUE INDEX readings_label ON readings (label)");
  if (test::onPostgres()) {
    // An index row holds at most 8,191 bytes (a btree's at most about 2.7 kB): random text, which
    // compression cannot shrink, past it is refused by the unique index.
    const auto message = refused(db, "54000", 0, [&] { Reading::create(db, data_error::reading(data_error::randomText(10'000))); });
    CHECK_THAT(message, test::Contains("index row"));
    db.execute("CREATE TABLE short_codes (code VARCHAR(4) NOT NULL)");
    try {
      db.execute("INSERT INTO short_codes (code) VALUES (?)", "toolong");
      FAIL("VARCHAR(4) took 7 characters");
    } catch (const kith::DataError& e) {
      CHECK(e.sqlstate() == "22001");
    }
  } else {
    // SQLite's SQLITE_LIMIT_LENGTH (10^9 by default), lowered here to 1,000 bytes.
    sqlite3_limit(kith::sqlite::handle(db), SQLITE_LIMIT_LENGTH, 1000);
    const auto message = refused(db, "54000", 0, [&] { Reading::create(db, data_error::reading(data_error::randomText(2000))); });
    CHECK_THAT(message, test::Contains("SQLITE_TOOBIG"));
  }
  CHECK(Reading::create(db, data_error::reading(data_error::randomText(500))).isPersisted());
}

TEST_CASE("an integer past a PostgreSQL INTEGER column's range is a DataError, and SQLite's INTEGER holds 64 bits",
          "[data-error][bad-input][portable]") {
  auto db = test::database();
  db.execute("CREATE TABLE readings (" + test::idColumn() +
             ", label TEXT NOT NULL, counter INTEGER NOT NULL, at TEXT NOT NULL, value REAL NOT NULL)");
  auto r = data_error::reading("wide");
  r.counter = std::uint64_t{1} << 40;
  if (test::onPostgres()) {
    db.execute("ALTER TABLE readings ALTER COLUMN at TYPE TIMESTAMPTZ USING at::timestamptz");
    CHECK_THAT(refused(db, "22003", 0, [&] { r.save(db); }), test::Contains("out of range for type integer"));
    CHECK_FALSE(r.isPersisted());
  } else {
    r.save(db);
    CHECK(Reading::findOrFail(db, r.id).counter == r.counter);
  }
}

TEST_CASE("mistakes in a statement are not DataErrors", "[data-error][bad-input][portable]") {
  auto db = test::database();
  kith::createTables<Reading>(db);
  // What each throws: "data" for a DataError, "database" for another DatabaseError.
  const auto kind = [](auto&& run) -> std::string {
    try {
      run();
    } catch (const kith::DataError&) {
      return "data";
    } catch (const kith::DatabaseError&) {
      return "database";
    }
    return "nothing";
  };
  CHECK(kind([&] { Reading::query(db).whereRaw("no_such_column = 1").count(); }) == "database");
  if (test::onPostgres()) {  // a division by zero (22012) or text that is no number (22P02): the statement's fault
    CHECK(kind([&] { db.execute("SELECT 1 / 0"); }) == "database");
    CHECK(kind([&] { db.execute("SELECT 'x'::integer"); }) == "database");
  }
}
