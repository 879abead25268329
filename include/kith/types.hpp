// Column types: how each C++ type is stored, bound and read back, and the customization point
// (kith::column_traits) for a user's own types.
#pragma once

#include <kith/detail/statement.hpp>
#include <kith/detail/std.hpp>
#include <kith/error.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace kith {

/// A BLOB column.
using Blob = std::vector<std::byte>;

/// A value as the database sees it; what the query hook reports for each binding.
using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string, Blob>;

/// The customization point for a user's own column type: specialize it with a `storage` type
/// (one of std::int64_t, double, std::string, kith::Blob) and two conversions.
///
///     template <> struct kith::column_traits<Money> {
///       using storage = std::int64_t;
///       static storage to(const Money& m) { return m.cents; }
///       static Money from(storage cents) { return Money{cents}; }
///     };
template <class T>
struct column_traits;

enum class SqlType { Integer, Real, Text, Blob };

namespace detail {

/// A range of values to bind (whereIn, createMany): anything std::begin and std::end take.
template <class R>
concept ValueRange = requires(const R& r) {
  std::begin(r);
  std::end(r);
};

constexpr std::uint64_t mix(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

/// 64x64 -> 128-bit multiply folded to 64 bits: the mixing step of wyhash.
inline std::uint64_t foldMultiply(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ typedef unsigned __int128 U128;
  const U128 r = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t load8(const unsigned char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline std::uint64_t load4(const unsigned char* p) noexcept {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

/// A 64-bit hash of a byte string, 16 bytes per multiply (after wyhash). Dirty tracking runs it on
/// every column of every row read, so it must cost little more than reading the bytes: every load
/// has a fixed size (a variable-sized memcpy is a call), the tail overlapping bytes already read.
inline std::uint64_t hashBytes(const void* data, std::size_t size) noexcept {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL, k2 = 0x8ebc6af09c88c6e3ULL;
  const auto* p = static_cast<const unsigned char*>(data);  // an empty vector's data() may be null: never read then
  std::uint64_t seed = k0 ^ size;
  std::uint64_t a = 0, b = 0;
  if (size > 16) {
    std::size_t left = size;
    for (; left > 16; left -= 16, p += 16) seed = foldMultiply(load8(p) ^ k1, load8(p + 8) ^ seed);
    a = load8(p + left - 16);  // the last 16 bytes, overlapping the block before them
    b = load8(p + left - 8);
  } else if (size >= 8) {
    a = load8(p);
    b = load8(p + size - 8);
  } else if (size >= 4) {
    a = load4(p);
    b = load4(p + size - 4);
  } else if (size > 0) {
    a = (std::uint64_t{p[0]} << 16) | (std::uint64_t{p[size / 2]} << 8) | p[size - 1];
  }
  return foldMultiply(a ^ k1 ^ size, foldMultiply(b ^ k2, seed));
}

inline constexpr std::uint64_t nullHash = 0x6b43a9b5f3c1d2e7ULL;

template <class T>
concept UserColumnType = requires {
  typename column_traits<T>::storage;
};

/// How a column type is bound, read and hashed. The primary template stands for types kith cannot
/// store: the model's declaration check reports them once, and this silent stand-in keeps the
/// compiler from adding errors about them elsewhere.
template <class T>
struct Codec {
  static constexpr bool supported = false;
  static constexpr SqlType type = SqlType::Blob;
  static constexpr bool nullable = false;
  static void bind(Statement&, int, const T&) {}
  static void read(Statement&, int, T&) {}
  static Value toValue(const T&) { return nullptr; }
  static std::uint64_t hash(const T&) { return 0; }
};

template <class T>
concept SupportedColumnType = Codec<T>::supported;

template <std::integral T>
T narrowInteger(std::int64_t v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else {
    if (std::in_range<T>(v)) return static_cast<T>(v);
    throw Error("kith: the stored integer " + std::to_string(v) + " does not fit the column's C++ type");
  }
}

template <class T>
requires(!UserColumnType<T> && (std::is_integral_v<T> || std::is_enum_v<T>)) struct Codec<T> {
  using Int = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;
  static constexpr bool supported = true;
  static constexpr SqlType type = SqlType::Integer;
  static constexpr bool nullable = false;

  /// The value as the database stores it; an unsigned one past INT64_MAX is a DataError naming
  /// `sql` and its parameter (when known).
  static std::int64_t widen(const T& v, std::string_view sql = {}, int parameter = 0) {
    const auto i = static_cast<Int>(v);
    if constexpr (std::is_unsigned_v<Int> && sizeof(Int) == 8) {
      if (i > static_cast<Int>(std::numeric_limits<std::int64_t>::max()))
        refuseValue(
            "the unsigned value " + std::to_string(i) + " does not fit a 64-bit signed integer column (SQLite INTEGER, PostgreSQL BIGINT)",
            sql, parameter, "22003");
    }
    return static_cast<std::int64_t>(i);
  }
  static void bind(Statement& s, int i, const T& v) { s.bindInteger(i, widen(v, s.sql(), i)); }
  static void read(Statement& s, int c, T& out) { out = static_cast<T>(narrowInteger<Int>(s.integer(c))); }
  static bool readsAsNull(const T& v) { return static_cast<Int>(v) == 0; }
  static Value toValue(const T& v) { return widen(v); }
  static std::uint64_t hash(const T& v) { return mix(static_cast<std::uint64_t>(static_cast<Int>(v)) + 1); }
};

template <std::floating_point T>
requires(!UserColumnType<T>) struct Codec<T> {
  static constexpr bool supported = true;
  static constexpr SqlType type = SqlType::Real;
  static constexpr bool nullable = false;
  static void bind(Statement& s, int i, const T& v) { s.bindReal(i, static_cast<double>(v)); }
  static void read(Statement& s, int c, T& out) { out = static_cast<T>(s.real(c)); }
  static bool readsAsNull(const T& v) { return v == 0; }
  static Value toValue(const T& v) { return static_cast<double>(v); }
  static std::uint64_t hash(const T& v) { return hashBytes(&v, sizeof v); }
};

template <>
struct Codec<std::string> {
  static constexpr bool supported = true;
  static constexpr SqlType type = SqlType::Text;
  static constexpr bool nullable = false;
  static void bind(Statement& s, int i, const std::string& v) { s.bindText(i, v); }
  static void read(Statement& s, int c, std::string& out) {
    const auto text = s.text(c);
    if (out.capacity() >= text.size())
      out.assign(text);
    else
      out = std::string(text);  // allocates once, without assign's bookkeeping
  }
  static bool readsAsNull(const std::string& v) { return v.empty(); }
  static Value toValue(const std::string& v) { return v; }
  static std::uint64_t hash(const std::string& v) { return hashBytes(v.data(), v.size()); }
};

template <>
struct Codec<Blob> {
  static constexpr bool supported = true;
  static constexpr SqlType type = SqlType::Blob;
  static constexpr bool nullable = false;
  static void bind(Statement& s, int i, const Blob& v) { s.bindBlob(i, v); }
  static void read(Statement& s, int c, Blob& out) {
    const auto b = s.blob(c);
    out.assign(b.begin(), b.end());
  }
  static bool readsAsNull(const Blob& v) { return v.empty(); }
  static Value toValue(const Blob& v) { return v; }
  static std::uint64_t hash(const Blob& v) { return hashBytes(v.data(), v.size()) ^ 0x5bd1e995; }
};

template <SupportedColumnType T>
struct Codec<std::optional<T>> {
  static constexpr bool supported = true;
  static constexpr SqlType type = Codec<T>::type;
  static constexpr bool nullable = true;
  static void bind(Statement& s, int i, const std::optional<T>& v) {
    if (v)
      Codec<T>::bind(s, i, *v);
    else
      s.bindNull(i);
  }
  static void read(Statement& s, int c, std::optional<T>& out) {
    if (s.isNull(c)) {
      out.reset();
    } else {
      if (!out) out.emplace();
      Codec<T>::read(s, c, *out);
    }
  }
  static Value toValue(const std::optional<T>& v) { return v ? Codec<T>::toValue(*v) : Value{nullptr}; }
  static std::uint64_t hash(const std::optional<T>& v) { return v ? Codec<T>::hash(*v) : nullHash; }
};

/// A proleptic Gregorian date, and its conversions from and to days since 1970-01-01 (after Howard
/// Hinnant's chrono-compatible date algorithms), so that kith needs no <chrono> calendar.
struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

constexpr CivilDate civilFromDays(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<std::uint64_t>(z - era * 146097);                    // [0, 146096]
  const std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const std::uint64_t mp = (5 * doy + 2) / 153;                                     // [0, 11], from March
  const auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  const auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2), month, day};
}

constexpr std::int64_t daysFromCivil(CivilDate d) noexcept {
  const std::int64_t y = d.year - (d.month <= 2);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<std::uint64_t>(y - era * 400);                                       // [0, 399]
  const std::uint64_t doy = (153 * (d.month > 2 ? d.month - 3 : d.month + 9) + 2) / 5 + d.day - 1;  // [0, 365]
  const std::uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                                  // [0, 146096]
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr bool validDate(CivilDate d) noexcept {
  if (d.month < 1 || d.month > 12 || d.day < 1) return false;
  constexpr unsigned lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = d.year % 4 == 0 && (d.year % 100 != 0 || d.year % 400 == 0);
  return d.day <= lengths[d.month - 1] + (d.month == 2 && leap);
}

/// Timestamps are stored as UTC text, "YYYY-MM-DD HH:MM:SS[.fraction]", which sorts correctly and
/// which SQLite's own date functions read.
template <class Duration>
struct Codec<std::chrono::sys_time<Duration>> {
  using TimePoint = std::chrono::sys_time<Duration>;
  static constexpr bool supported = true;
  static constexpr SqlType type = SqlType::Text;
  static constexpr bool nullable = false;

  /// Digits after the seconds' point: 0 for seconds or coarser, 3 for milliseconds, 9 for nanoseconds.
  static constexpr int fractionalWidth = [] {
    using Period = typename Duration::period;
    if constexpr (Period::num >= Period::den) {
      return 0;
    } else {
      int width = 0;
      for (std::intmax_t den = Period::den; den > 1 && width < 18; den /= 10) ++width;
      return width;
    }
  }();
  static constexpr std::intmax_t fractionScale = [] {
    std::intmax_t scale = 1;
    for (int w = 0; w < fractionalWidth; ++w) scale *= 10;
    return scale;
  }();

  static std::string format(const TimePoint& tp) {
    using namespace std::chrono;
    const auto day = floor<days>(tp);
    const CivilDate date = civilFromDays(day.time_since_epoch().count());
    const auto inDay = floor<Duration>(tp - day);
    const auto secs = duration_cast<seconds>(inDay).count();
    char buf[48];
    auto put = [&](std::size_t at, long long v, int width) {
      for (int w = width - 1; w >= 0; --w, v /= 10) buf[at + static_cast<std::size_t>(w)] = static_cast<char>('0' + v % 10);
    };
    std::size_t n = 0;
    std::int64_t y = date.year;
    if (y < 0) {
      buf[n++] = '-';
      y = -y;
    }
    const int yearWidth = y > 9999 ? 5 : 4;
    put(n, y, yearWidth);
    n += static_cast<std::size_t>(yearWidth);
    buf[n++] = '-';
    put(n, date.month, 2);
    n += 2;
    buf[n++] = '-';
    put(n, date.day, 2);
    n += 2;
    buf[n++] = ' ';
    put(n, secs / 3600, 2);
    n += 2;
    buf[n++] = ':';
    put(n, secs / 60 % 60, 2);
    n += 2;
    buf[n++] = ':';
    put(n, secs % 60, 2);
    n += 2;
    if constexpr (fractionalWidth > 0) {
      using Fraction = duration<typename Duration::rep, std::ratio<1, fractionScale>>;
      buf[n++] = '.';
      put(n, duration_cast<Fraction>(inDay - seconds{secs}).count(), fractionalWidth);
      n += fractionalWidth;
    }
    return std::string(buf, n);
  }

  static TimePoint parse(std::string_view s) {
    using namespace std::chrono;
    std::size_t at = 0;
    bool ok = true;
    auto number = [&](std::size_t digits) {
      long long v = 0;
      for (std::size_t k = 0; k < digits; ++k, ++at) {
        if (at >= s.size() || s[at] < '0' || s[at] > '9') {
          ok = false;
          return 0LL;
        }
        v = v * 10 + (s[at] - '0');
      }
      return v;
    };
    auto expect = [&](char c1, char c2) {
      if (at < s.size() && (s[at] == c1 || s[at] == c2))
        ++at;
      else
        ok = false;
    };
    const bool negative = !s.empty() && s[0] == '-';
    if (negative) ++at;
    std::size_t yearDigits = 0;
    while (at + yearDigits < s.size() && s[at + yearDigits] >= '0' && s[at + yearDigits] <= '9') ++yearDigits;
    const auto y = number(yearDigits < 4 ? 4 : yearDigits);
    expect('-', '-');
    const auto mo = number(2);
    expect('-', '-');
    const auto d = number(2);
    expect(' ', 'T');
    const auto h = number(2);
    expect(':', ':');
    const auto mi = number(2);
    expect(':', ':');
    const auto sec = number(2);
    nanoseconds fraction{0};
    if (ok && at < s.size() && s[at] == '.') {
      ++at;
      long long scale = 100'000'000;
      while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
        fraction += nanoseconds{(s[at] - '0') * scale};
        scale /= 10;
        ++at;
      }
    }
    if (ok && at < s.size() && s[at] == 'Z') ++at;
    // std::chrono::year holds -32767..32767; so did the calendar kith used before its own.
    const CivilDate date{negative ? -y : y, static_cast<unsigned>(mo), static_cast<unsigned>(d)};
    if (!ok || at != s.size() || y > 32767 || !validDate(date) || h > 23 || mi > 59 || sec > 60)
      throw Error("kith: \"" + std::string(s) + "\" is not a timestamp; kith stores them as \"YYYY-MM-DD HH:MM:SS[.fraction]\" in UTC");
    // In seconds first: nanoseconds since 1970 overflow before the year 1678 and after 2262.
    const auto whole = sys_days{days{daysFromCivil(date)}} + hours{h} + minutes{mi} + seconds{sec};
    if constexpr (std::ratio_less_equal_v<typename Duration::period, std::ratio<1>>)
      return TimePoint{duration_cast<Duration>(whole.time_since_epoch()) + floor<Duration>(fraction)};
    else
      return floor<Duration>(whole);
  }

  /// `v` as stored: a time outside the years 0001-9999 is a DataError. Neither database holds all
  /// of them as kith writes them (PostgreSQL reads no year 0 or negative year; on SQLite such text
  /// and five-digit years would not sort in time order, so comparisons would silently be wrong).
  static std::string checkedFormat(const TimePoint& v, std::string_view sql = {}, int parameter = 0) {
    using namespace std::chrono;
    constexpr auto first = sys_days{days{daysFromCivil({1, 1, 1})}}, end = sys_days{days{daysFromCivil({10000, 1, 1})}};
    const auto day = floor<days>(v);  // compared in days: years 1 and 9999 are outside nanoseconds' range
    if (day < first || day >= end)
      refuseValue("the time " + format(v) + " is outside the years 0001 to 9999, which kith stores on every database", sql, parameter,
                  "22008");
    return format(v);
  }

  static void bind(Statement& s, int i, const TimePoint& v) { s.bindText(i, s.keep(checkedFormat(v, s.sql(), i))); }
  static void read(Statement& s, int c, TimePoint& out) { out = parse(s.text(c)); }
  static Value toValue(const TimePoint& v) { return checkedFormat(v); }
  static std::uint64_t hash(const TimePoint& v) { return mix(static_cast<std::uint64_t>(v.time_since_epoch().count()) ^ 0x7f4a7c15); }
};

template <UserColumnType T>
struct Codec<T> {
  using Traits = column_traits<T>;
  using Storage = typename Traits::storage;
  static_assert(std::is_same_v<Storage, std::int64_t> || std::is_same_v<Storage, double> || std::is_same_v<Storage, std::string> ||
                    std::is_same_v<Storage, Blob>,
                "kith: column_traits<T>::storage must be one of std::int64_t, double, std::string, kith::Blob");
  static constexpr bool supported = true;
  static constexpr SqlType type = Codec<Storage>::type;
  static constexpr bool nullable = false;

  static void bind(Statement& s, int i, const T& v) {
    if constexpr (std::is_same_v<Storage, std::string>) {
      s.bindText(i, s.keep(Traits::to(v)));
    } else if constexpr (std::is_same_v<Storage, Blob>) {
      s.bindBlob(i, s.keep(Traits::to(v)));
    } else {
      Codec<Storage>::bind(s, i, Traits::to(v));
    }
  }
  static void read(Statement& s, int c, T& out) {
    Storage stored{};
    Codec<Storage>::read(s, c, stored);
    out = Traits::from(std::move(stored));
  }
  static Value toValue(const T& v) { return Value{Traits::to(v)}; }
  static std::uint64_t hash(const T& v) { return Codec<Storage>::hash(Traits::to(v)); }
};

/// Binds one Value; used for values collected by the query builder.
inline void bindValue(Statement& s, int i, const Value& v) {
  switch (v.index()) {
    case 0:
      s.bindNull(i);
      break;
    case 1:
      s.bindInteger(i, std::get<1>(v));
      break;
    case 2:
      s.bindReal(i, std::get<2>(v));
      break;
    case 3:
      s.bindText(i, std::get<3>(v));
      break;
    default:
      s.bindBlob(i, std::get<4>(v));
      break;
  }
}

template <class>
inline constexpr bool alwaysFalse = false;

/// A parameter without a column to say its type (whereRaw, execute): column types as usual, and
/// anything that converts to std::string_view as text.
template <class A>
Value parameterValue(const A& arg) {
  if constexpr (SupportedColumnType<A>) {
    return Codec<A>::toValue(arg);
  } else if constexpr (std::is_same_v<A, std::nullptr_t> || std::is_same_v<A, std::nullopt_t>) {
    return Value{nullptr};
  } else if constexpr (std::is_convertible_v<const A&, std::string_view>) {
    return std::string(std::string_view(arg));
  } else {
    static_assert(alwaysFalse<A>, "kith: this parameter's type cannot be bound; pass a column type (integer, double, string, blob, ...)");
    return Value{nullptr};
  }
}

/// Converts a user's argument to a Value the way the column type `T` would store it. Implicit
/// conversions, and explicit ones to class types (std::string from std::string_view); never a cast
/// that would turn a pointer into an integer.
template <class T, class Arg>
Value toValueAs(Arg&& arg) {
  using A = std::remove_cvref_t<Arg>;
  if constexpr (std::is_same_v<A, std::nullptr_t> || std::is_same_v<A, std::nullopt_t>) {
    return Value{nullptr};
  } else if constexpr (std::is_same_v<A, T>) {
    return Codec<T>::toValue(arg);
  } else if constexpr (std::is_convertible_v<Arg&&, T> || (std::is_class_v<T> && std::is_constructible_v<T, Arg&&>)) {
    return Codec<T>::toValue(T(std::forward<Arg>(arg)));
  } else {
    static_assert(alwaysFalse<A>, "kith: this value cannot be stored in the column's type; pass a value of the column's type");
    return Value{nullptr};
  }
}

}  // namespace detail
}  // namespace kith
