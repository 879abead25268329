// Every column type round-trips exactly, including extremes and awkward text; bad stored values
// are clear errors.
#include "support.hpp"

#include <chrono>
#include <cmath>
#include <limits>

namespace types {

enum class Color : std::uint8_t { Red = 1, Green = 2, Blue = 200 };

/// A user type stored through kith::column_traits.
struct Money {
  std::int64_t cents = 0;
  friend bool operator==(const Money&, const Money&) = default;
};

}  // namespace types

template <>
struct kith::column_traits<types::Money> {
  using storage = std::int64_t;
  static storage to(const types::Money& m) { return m.cents; }
  static types::Money from(storage cents) { return types::Money{cents}; }
};

namespace types {

/// A point stored as text "x,y", to prove custom text storage keeps its bound value alive.
struct Point {
  int x = 0, y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

}  // namespace types

template <>
struct kith::column_traits<types::Point> {
  using storage = std::string;
  static storage to(const types::Point& p) { return std::to_string(p.x) + "," + std::to_string(p.y); }
  static types::Point from(const storage& s) {
    const auto comma = s.find(',');
    return {std::stoi(s.substr(0, comma)), std::stoi(s.substr(comma + 1))};
  }
};

namespace types {

using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

struct Sample : kith::BaseModel<Sample> {
  std::int64_t id{};
  bool flag{};
  std::int8_t i8{};
  std::uint8_t u8{};
  std::int16_t i16{};
  std::uint16_t u16{};
  std::int32_t i32{};
  std::uint32_t u32{};
  std::int64_t i64{};
  std::uint64_t u64{};
  float f{};
  double d{};
  std::string text;
  kith::Blob blob;
  std::optional<std::string> maybeText;
  std::optional<std::int32_t> maybeInt;
  Color color{Color::Red};
  Millis at{};
  std::chrono::sys_seconds day{};
  Money price{};
  Point where{};
  Point there{};

  static constexpr auto columns =
      kith::columns<&Sample::id, &Sample::flag, &Sample::i8, &Sample::u8, &Sample::i16, &Sample::u16, &Sample::i32, &Sample::u32,
                    &Sample::i64, &Sample::u64, &Sample::f, &Sample::d, &Sample::text, &Sample::blob, &Sample::maybeText, &Sample::maybeInt,
                    &Sample::color, &Sample::at, &Sample::day, &Sample::price, &Sample::where, &Sample::there>;
};

kith::Blob everyByte() {
  kith::Blob b;
  for (int i = 0; i < 256; ++i) b.push_back(static_cast<std::byte>(i));
  return b;
}

}  // namespace types

using namespace types;
using namespace std::chrono_literals;
using namespace std::string_literals;

TEST_CASE("every column type round-trips exactly", "[types][portable]") {
  auto db = test::database();
  kith::createTables<Sample>(db);
  Sample s;
  s.flag = true;
  s.i8 = std::numeric_limits<std::int8_t>::min();
  s.u8 = 255;
  s.i16 = -32768;
  s.u16 = 65535;
  s.i32 = std::numeric_limits<std::int32_t>::min();
  s.u32 = std::numeric_limits<std::uint32_t>::max();
  s.i64 = std::numeric_limits<std::int64_t>::min();
  s.u64 = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  s.f = 1.5f;
  s.d = -std::numeric_limits<double>::infinity();
  s.text = "it's \"quoted\"; DROP TABLE samples; --\0after NUL ünïcødé \xff\xfe"s;     // NUL, UTF-8 and invalid UTF-8
  if (test::onPostgres()) s.text = "it's \"quoted\"; DROP TABLE samples; -- ünïcødé";  // PostgreSQL text holds valid UTF-8 only
  s.blob = everyByte();
  s.maybeText = std::nullopt;
  s.maybeInt = 0;
  s.color = Color::Blue;
  s.at = Millis{std::chrono::sys_days{2026y / 11 / 25} + 6h + 10min + 3s + 45ms};
  s.day = std::chrono::sys_days{1969y / 7 / 20} + 20h + 17min;
  s.price = Money{-1999};
  s.where = Point{3, -4};
  s.there = Point{10, 20};
  s.save(db);

  const auto back = Sample::findOrFail(db, s.id);
  CHECK(back.flag == s.flag);
  CHECK(back.i8 == s.i8);
  CHECK(back.u8 == s.u8);
  CHECK(back.i16 == s.i16);
  CHECK(back.u16 == s.u16);
  CHECK(back.i32 == s.i32);
  CHECK(back.u32 == s.u32);
  CHECK(back.i64 == s.i64);
  CHECK(back.u64 == s.u64);
  CHECK(back.f == s.f);
  CHECK(back.d == s.d);
  CHECK(back.text == s.text);
  if (!test::onPostgres()) CHECK(back.text.find('\0') == 37);
  CHECK(back.blob == s.blob);
  CHECK_FALSE(back.maybeText.has_value());
  CHECK(back.maybeInt == std::optional<std::int32_t>(0));
  CHECK(back.color == Color::Blue);
  CHECK(back.at == s.at);
  CHECK(back.day == s.day);
  CHECK(back.price == s.price);
  CHECK(back.where == s.where);
  CHECK(back.there == s.there);
  CHECK_FALSE(back.isDirty());

  // How values are stored, as another program reading the database would see them.
  CHECK(test::scalar(db, "SELECT color FROM samples") == "200");
  if (test::onPostgres()) {  // TIMESTAMPTZ, BOOLEAN and BYTEA columns, in a UTC session
    CHECK(test::scalar(db, "SELECT at FROM samples") == "2026-11-25 06:10:03.045+00");
    CHECK(test::scalar(db, "SELECT day FROM samples") == "1969-07-20 20:17:00+00");
    CHECK(test::scalar(db, "SELECT flag FROM samples") == "t");
    CHECK(test::scalar(db, "SELECT length(blob) FROM samples") == "256");
  } else {
    CHECK(test::scalar(db, "SELECT at FROM samples") == "2026-11-25 06:10:03.045");
    CHECK(test::scalar(db, "SELECT day FROM samples") == "1969-07-20 20:17:00");
  }
  CHECK(test::scalar(db, "SELECT maybe_text IS NULL FROM samples") == (test::onPostgres() ? "t" : "1"));
  CHECK(test::scalar(db, "SELECT \"where\" FROM samples") == "3,-4");
  CHECK(test::scalar(db, "SELECT i64 FROM samples") == "-9223372036854775808");
}

TEST_CASE("empty text and empty blobs stay empty, not NULL", "[types][portable]") {
  auto db = test::database();
  kith::createTables<Sample>(db);
  Sample s;
  s.maybeText = "";
  s.save(db);
  CHECK(test::scalar(db, "SELECT count(*) FROM samples WHERE text IS NOT NULL AND blob IS NOT NULL AND maybe_text IS NOT NULL") == "1");
  if (!test::onPostgres())
    CHECK(test::scalar(db, "SELECT typeof(text) || ',' || typeof(blob) || ',' || typeof(maybe_text) FROM samples") == "text,blob,text");
  const auto back = Sample::findOrFail(db, s.id);
  CHECK(back.text.empty());
  CHECK(back.blob.empty());
  CHECK(back.maybeText == std::optional<std::string>(""));
}

TEST_CASE("an unsigned value above INT64_MAX is refused before anything is written", "[types][bad-input][portable]") {
  auto db = test::database();
  kith::createTables<Sample>(db);
  Sample s;
  s.u64 = std::numeric_limits<std::uint64_t>::max();
  CHECK_THROWS_WITH(s.save(db), test::Contains("does not fit a 64-bit signed integer column"));
  CHECK_FALSE(s.isPersisted());
  CHECK(s.id == 0);
  CHECK(test::rows(db, "samples") == 0);
}

TEST_CASE("NaN is refused before it is written: SQLite would store NULL", "[types][bad-input]") {
  auto db = test::database();
  kith::createTables<Sample>(db);
  Sample s;
  s.d = std::nan("");
  CHECK_THROWS_WITH(s.save(db), test::Contains("cannot store NaN"));
  CHECK_FALSE(s.isPersisted());
  CHECK(test::rows(db, "samples") == 0);

  // Without NOT NULL, SQLite would have kept the row with NULL, which a double cannot read back.
  db.execute("CREATE TABLE loose (id INTEGER PRIMARY KEY, score REAL)");
  CHECK_THROWS_WITH(db.execute("INSERT INTO loose (score) VALUES (?)", std::nan("")), test::Contains("cannot store NaN"));
  CHECK(test::rows(db, "loose") == 0);

  // Values collected by the query builder reach the same check.
  Sample kept;
  kept.d = 1.5;
  kept.save(db);
  CHECK_THROWS_WITH(Sample::query(db).update(kith::set<&Sample::d>(std::nan(""))), test::Contains("cannot store NaN"));
  CHECK(Sample::findOrFail(db, kept.id).d == 1.5);
}

TEST_CASE("stored values that do not fit the C++ type are errors naming the column", "[types][bad-input][portable]") {
  auto db = test::database();
  kith::createTables<Sample>(db);
  Sample s;
  s.save(db);

  db.execute("UPDATE samples SET i8 = 300");
  CHECK_THROWS_WITH(Sample::findOrFail(db, s.id), test::Contains("reading samples.i8") && test::Contains("300 does not fit"));

  if (test::onPostgres()) return;  // a TIMESTAMPTZ column holds only timestamps
  db.execute("UPDATE samples SET i8 = 0, at = 'yesterday'");
  CHECK_THROWS_WITH(Sample::findOrFail(db, s.id),
                    test::Contains("reading samples.at") && test::Contains("\"yesterday\" is not a timestamp"));
}

TEST_CASE("NULL in a column whose member is not optional is an error naming both", "[types][bad-input][portable]") {
  auto db = test::database();
  db.execute("CREATE TABLE users (" + test::idColumn() + ", email TEXT, name TEXT)");
  db.execute("INSERT INTO users (email) VALUES (NULL)");
  CHECK_THROWS_WITH(test::User::query(db).all(), "kith: column users.email is NULL, but User::email is not a std::optional");
}

TEST_CASE("timestamps accept SQLite's own datetime text", "[types]") {
  auto db = test::database();
  kith::createTables<Sample>(db);
  Sample s;
  s.save(db);
  db.execute("UPDATE samples SET day = datetime(0, 'unixepoch'), at = '2000-02-29T23:59:59.5Z'");
  const auto back = Sample::findOrFail(db, s.id);
  CHECK(back.day == std::chrono::sys_seconds{});
  CHECK(back.at == Millis{std::chrono::sys_days{2000y / 2 / 29} + 23h + 59min + 59s + 500ms});
}

TEST_CASE("NULL in a non-optional column is an error with select<...>() too", "[types][bad-input][portable]") {
  auto db = test::database();
  db.execute("CREATE TABLE users (" + test::idColumn() + ", email TEXT, name TEXT)");
  db.execute("INSERT INTO users (email) VALUES (NULL)");
  CHECK_THROWS_WITH(test::User::query(db).select<&test::User::email>().all(),
                    "kith: column users.email is NULL, but User::email is not a std::optional");
}

namespace types {

/// What the time codec writes for `tp`, computed with <chrono>'s own calendar.
template <class Duration>
std::string chronoText(std::chrono::sys_time<Duration> tp) {
  using namespace std::chrono;
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<Duration>(tp - day)};
  char buf[64];
  const int y = static_cast<int>(ymd.year());
  int n = std::snprintf(buf, sizeof buf, "%s%04d-%02u-%02u %02lld:%02lld:%02lld", y < 0 ? "-" : "", y < 0 ? -y : y,
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<long long>(hms.hours().count()),
                        static_cast<long long>(hms.minutes().count()), static_cast<long long>(hms.seconds().count()));
  if constexpr (decltype(hms)::fractional_width > 0)
    std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%0*lld", static_cast<int>(decltype(hms)::fractional_width),
                  static_cast<long long>(hms.subseconds().count()));
  return buf;
}

}  // namespace types

TEST_CASE("the time codec's calendar agrees with <chrono>'s from the year -2000 to 6000, both ways", "[types]") {
  using namespace std::chrono;
  using Codec = kith::detail::Codec<sys_time<milliseconds>>;
  std::size_t checked = 0, mismatches = 0;
  auto check = [&](sys_days day) {
    const auto tp = sys_time<milliseconds>{day} + 23h + 59min + 58s + 7ms;
    const auto text = Codec::format(tp);
    if (text != types::chronoText(tp) || Codec::parse(text) != tp) ++mismatches;
    ++checked;
  };
  // Every 13th day over 8,000 years (13 is prime to 7, 400-year cycles and month lengths), and
  // every day around the century and era boundaries where leap rules change.
  const auto first = sys_days{year{-2000} / 1 / 1}, last = sys_days{year{6000} / 12 / 31};
  for (auto day = first; day <= last; day += days{13}) check(day);
  std::size_t expected = static_cast<std::size_t>((last - first).count() / 13 + 1);
  for (int y : {-401, -1, 1599, 1699, 1899, 1969, 1999, 2099, 2399}) {
    for (auto day = sys_days{year{y} / 1 / 1}; day < sys_days{year{y + 2} / 1 / 1}; day += days{1}) check(day);
    expected += static_cast<std::size_t>((sys_days{year{y + 2} / 1 / 1} - sys_days{year{y} / 1 / 1}).count());
  }
  CHECK(checked == expected);
  CHECK(mismatches == 0);
  // Other precisions: the fraction has as many digits as the duration has decimals.
  const auto moon = sys_days{1969y / July / 20} + 20h + 17min + 40s;
  CHECK(kith::detail::Codec<sys_seconds>::format(moon) == "1969-07-20 20:17:40");
  CHECK(kith::detail::Codec<sys_time<microseconds>>::format(moon + 123456us) == types::chronoText(moon + 123456us));
  CHECK(kith::detail::Codec<sys_time<nanoseconds>>::format(moon + 5ns) == "1969-07-20 20:17:40.000000005");
  CHECK(kith::detail::Codec<sys_time<minutes>>::format(floor<minutes>(moon)) == "1969-07-20 20:17:00");
  CHECK(kith::detail::Codec<sys_time<nanoseconds>>::parse("1969-07-20 20:17:40.000000005") == moon + 5ns);
}

TEST_CASE("a stored date that is not on the calendar is an error naming it", "[types][bad-input]") {
  using Codec = kith::detail::Codec<std::chrono::sys_seconds>;
  for (const char* bad : {"2023-02-29 00:00:00", "1900-02-29 00:00:00", "2024-04-31 00:00:00", "2024-13-01 00:00:00", "2024-00-10 00:00:00",
                          "2024-01-00 00:00:00", "2024-01-01 24:00:00"})
    CHECK_THROWS_WITH(Codec::parse(bad), std::string("kith: \"") + bad +
                                             "\" is not a timestamp; kith stores them as \"YYYY-MM-DD HH:MM:SS[.fraction]\" in UTC");
  CHECK(Codec::parse("2024-02-29 00:00:00") == std::chrono::sys_days{std::chrono::year{2024} / 2 / 29});
  CHECK(Codec::parse("2000-02-29 12:00:00") == std::chrono::sys_days{std::chrono::year{2000} / 2 / 29} + std::chrono::hours{12});
}
