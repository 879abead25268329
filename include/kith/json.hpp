// kith/json.hpp: models to JSON and back, with nlohmann::json — the one kith header that includes a
// JSON library (CMake target kith::json).
//
//   nlohmann::json out = kith::toJson(user);   // columns, loaded relations, extras under "meta"
//   kith::merge(user, payload);                // known columns set (dirty tracking applies), or kith::JsonError
//
// Names are the properties' (`userId`), renamed or hidden per model with
// `static constexpr kith::JsonName jsonNames[] = {{"passwordHash", kith::hidden}, {"userId", "authorId"}};`.
// Times are ISO 8601 in UTC (`2026-11-30T12:00:00.250Z`), blobs base64, enums their integer, your
// own column types their storage (column_traits).
#pragma once

#include <kith/kith.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kith {

/// What merge() accepts besides the model's visible columns, and how it reports.
struct MergeOptions {
  bool collectErrors = false;    // report every bad key in one JsonError, not only the first
  bool ignoreUnknown = false;    // skip keys that name no column (relations and "meta" included)
  bool allowPrimaryKey = false;  // let the payload set the primary key
  bool allowHidden = false;      // let the payload set columns jsonNames hides
};

/// A JSON payload merge() refused, with every problem it found (one, unless collectErrors): the
/// key and what is wrong with it. The model is left as it was.
class JsonError : public UsageError {
 public:
  struct Problem {
    std::string key;
    std::string message;
  };
  JsonError(std::string_view model, std::vector<Problem> problems)
      : UsageError(describe(model, problems)), problems_(std::move(problems)) {}
  const std::vector<Problem>& problems() const noexcept { return problems_; }

 private:
  static std::string describe(std::string_view model, const std::vector<Problem>& problems) {
    std::string out = "kith: cannot merge this JSON into a " + std::string(model) + ": ";
    for (std::size_t i = 0; i < problems.size(); ++i)
      out += (i ? "; " : "") + (problems[i].key.empty() ? std::string() : "\"" + problems[i].key + "\": ") + problems[i].message;
    return out;
  }
  std::vector<Problem> problems_;
};

namespace detail::json {

template <class M>
concept HasJsonNames = requires {
  M::jsonNames[0].property;
};

/// The JSON name of a property: its override, kith::hidden (empty) to leave it out, else itself.
template <class M>
constexpr std::string_view nameOf(std::string_view property) {
  if constexpr (HasJsonNames<M>) {
    for (const auto& entry : M::jsonNames)
      if (entry.property == property) return entry.name;
  }
  return property;
}

template <class M>
constexpr bool isRelationProperty(std::string_view property) {
  if constexpr (requires { M::relations; }) {
    return []<auto... Relations>(RelationList<Relations...>, std::string_view p) { return ((memberName<Relations> == p) || ...); }
    (std::remove_cv_t<decltype(M::relations)>{}, property);
  } else {
    return false;
  }
}

/// Every jsonNames entry names a column of M or a relation M lists in `relations`.
template <class M>
constexpr bool namesValid() {
  if constexpr (HasJsonNames<M>) {
    for (const auto& entry : M::jsonNames)
      if (Meta<M>::indexOfProperty(entry.property) == Meta<M>::count && !isRelationProperty<M>(entry.property)) return false;
  }
  return true;
}

template <class M>
constexpr bool checkNames() {
  constexpr bool valid = namesValid<M>();
  static_assert(valid,
                "kith: an entry of this model's jsonNames names neither a column nor a relation listed in `relations`; name a property "
                "the model declares");
  return valid;
}

inline constexpr char base64Digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::string base64(const Blob& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n =
        std::to_integer<unsigned>(bytes[i]) << 16 | std::to_integer<unsigned>(bytes[i + 1]) << 8 | std::to_integer<unsigned>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += base64Digits[n >> shift & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const auto n = std::to_integer<unsigned>(bytes[i]) << 16 | (two ? std::to_integer<unsigned>(bytes[i + 1]) << 8 : 0u);
    out += base64Digits[n >> 18 & 63];
    out += base64Digits[n >> 12 & 63];
    out += two ? base64Digits[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

/// Standard base64 with padding; false for anything else.
inline bool fromBase64(std::string_view text, Blob& out) {
  if (text.size() % 4 != 0) return false;
  const auto digit = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out.clear();
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=') : 0;
    unsigned n = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int d = k >= 4 - pad ? 0 : digit(text[i + k]);
      if (d < 0) return false;
      n = n << 6 | static_cast<unsigned>(d);
    }
    out.push_back(static_cast<std::byte>(n >> 16));
    if (pad < 2) out.push_back(static_cast<std::byte>(n >> 8 & 255));
    if (pad < 1) out.push_back(static_cast<std::byte>(n & 255));
  }
  return true;
}

/// A time as ISO 8601 in UTC: kith's stored text with `T` and `Z`.
template <class Duration>
std::string isoTime(const std::chrono::sys_time<Duration>& t) {
  std::string text = Codec<std::chrono::sys_time<Duration>>::format(t);
  if (const auto space = text.find(' '); space != std::string::npos) text[space] = 'T';
  return text + 'Z';
}

/// One column value as JSON.
template <class Json, class T>
Json out(const T& v) {
  if constexpr (IsOptional<T>::value) {
    return v ? out<Json>(*v) : Json(nullptr);
  } else if constexpr (UserColumnType<T>) {
    return out<Json>(column_traits<T>::to(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return Json(v);
  } else if constexpr (std::is_enum_v<T>) {
    return Json(static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
    return Json(v);
  } else if constexpr (std::is_same_v<T, Blob>) {
    return Json(base64(v));
  } else if constexpr (IsTimePoint<T>::value) {
    return Json(isoTime(v));
  } else {
    static_assert(!sizeof(T), "kith: no JSON form for this column type");
  }
}

/// An extra (a count, an aggregate, a pivot value read as stored) as JSON.
template <class Json>
Json outValue(const Value& v) {
  return std::visit(
      [](const auto& x) -> Json {
        using X = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<X, Blob>)
          return Json(base64(x));
        else
          return Json(x);
      },
      v);
}

template <class Json>
std::string typeOf(const Json& j) {
  return j.type_name();
}

/// Reads one JSON value into a column of type T; an empty result, or what is wrong.
template <class Json, class T>
std::optional<std::string> in(const Json& j, T& target) {
  if constexpr (IsOptional<T>::value) {
    if (j.is_null()) {
      target.reset();
      return std::nullopt;
    }
    typename T::value_type inner{};
    if (target) inner = *target;
    auto problem = in(j, inner);
    if (!problem) target = std::move(inner);
    return problem;
  } else if constexpr (UserColumnType<T>) {
    typename column_traits<T>::storage stored{};
    if (auto problem = in(j, stored)) return problem;
    target = column_traits<T>::from(std::move(stored));
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) return "expected true or false, got " + typeOf(j);
    target = j.template get<bool>();
    return std::nullopt;
  } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
    using Int = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;
    if (!j.is_number_integer()) return "expected an integer, got " + typeOf(j);
    if (j.is_number_unsigned()) {
      const auto u = j.template get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) return "the integer " + std::to_string(u) + " is out of range";
      target = static_cast<T>(static_cast<Int>(u));
    } else {
      const auto i = j.template get<std::int64_t>();
      if constexpr (std::is_unsigned_v<Int>) {
        if (i < 0) return "the integer " + std::to_string(i) + " is out of range";
        if (static_cast<std::uint64_t>(i) > static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))
          return "the integer " + std::to_string(i) + " is out of range";
      } else {
        if (i < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
            i > static_cast<std::int64_t>(std::numeric_limits<Int>::max()))
          return "the integer " + std::to_string(i) + " is out of range";
      }
      target = static_cast<T>(static_cast<Int>(i));
    }
    return std::nullopt;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!j.is_number()) return "expected a number, got " + typeOf(j);
    target = j.template get<T>();
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) return "expected a string, got " + typeOf(j);
    target = j.template get_ref<const std::string&>();
    return std::nullopt;
  } else if constexpr (std::is_same_v<T, Blob>) {
    if (!j.is_string() || !fromBase64(j.template get_ref<const std::string&>(), target)) return "expected a base64 string";
    return std::nullopt;
  } else if constexpr (IsTimePoint<T>::value) {
    if (!j.is_string()) return "expected an ISO 8601 UTC time such as \"2026-11-30T12:00:00Z\", got " + typeOf(j);
    try {
      target = Codec<T>::parse(j.template get_ref<const std::string&>());
    } catch (const Error&) {
      return "expected an ISO 8601 UTC time such as \"2026-11-30T12:00:00Z\", got \"" + j.template get_ref<const std::string&>() + "\"";
    }
    return std::nullopt;
  } else {
    static_assert(!sizeof(T), "kith: no JSON form for this column type");
  }
}

template <class Json, class M>
Json modelOut(const M& m);

/// The "meta" object of a row: its extras, and for a ManyToMany row its typed pivot values.
template <class Json, class M>
void extrasOut(const M& m, Json& object) {
  const auto extras = m.extras();
  if (extras.empty()) return;
  Json& meta = object["meta"];
  for (const auto& [name, value] : extras) meta[name] = outValue<Json>(value);
}

template <class Json, class Pivot>
void pivotOut(const Pivot& pivot, Json& object) {
  Json& meta = object["meta"];
  Meta<Pivot>::forEach([&]<std::size_t I, auto Member>() {
    meta["pivot_" + std::string(Meta<Pivot>::columns[I])] = out<Json>(pivot.*Member);
  });
}

/// Each loaded relation M lists in `relations`: many as an array, one as an object or null.
template <class Json, class M>
void relationsOut(const M& m, Json& object) {
  if constexpr (requires { M::relations; }) {
    [&]<auto... Relations>(RelationList<Relations...>) {
      (
          [&] {
            constexpr std::string_view name = nameOf<M>(memberName<Relations>);
            if constexpr (!name.empty()) {
              const auto& relation = m.*Relations;
              if (!relation.isLoaded()) return;
              Json& slot = object[std::string(name)];
              if constexpr (requires { relation.pivots(); }) {
                slot = Json::array();
                for (std::size_t i = 0; i < relation.size(); ++i) {
                  Json row = modelOut<Json>(relation[i]);
                  pivotOut(relation.pivot(i), row);
                  slot.push_back(std::move(row));
                }
              } else if constexpr (requires { relation.items(); }) {
                slot = Json::array();
                for (const auto& row : relation) slot.push_back(modelOut<Json>(row));
              } else if constexpr (requires { relation.morphName(); }) {  // a MorphTo: its owner, of whichever type
                slot = relation ? relation.visit([](const auto& owner) { return modelOut<Json>(owner); }) : Json(nullptr);
              } else {
                slot = relation ? modelOut<Json>(*relation) : Json(nullptr);
              }
            }
          }(),
          ...);
    }
    (std::remove_cv_t<decltype(M::relations)>{});
  }
}

template <class Json, class M>
Json modelOut(const M& m) {
  Json object = Json::object();
  Meta<M>::forEach([&]<std::size_t I, auto Member>() {
    constexpr std::string_view name = nameOf<M>(Meta<M>::properties[I]);
    if constexpr (!name.empty()) object[std::string(name)] = out<Json>(m.*Member);
  });
  relationsOut(m, object);
  extrasOut(m, object);
  return object;
}

}  // namespace detail::json

/// A model as a JSON object: its columns by property name (or its jsonNames), each loaded relation
/// it lists in `relations` (HasMany, ManyToMany and HasManyThrough as arrays, BelongsTo and HasOne
/// as an object or null; one not loaded is absent), and its extras — counts, aggregates, pivot
/// values — under "meta". `kith::toJson<nlohmann::ordered_json>(m)` keeps the declared order.
template <class Json = nlohmann::json, class M>
Json toJson(const M& m) {
  [[maybe_unused]] detail::CheckModel<M> modelChecked;
  if constexpr (detail::json::checkNames<M>()) return detail::json::modelOut<Json>(m);
  return Json();
}

/// Rows as a JSON array.
template <class Json = nlohmann::json, class M>
requires std::derived_from<M, BaseModel<M>> Json toJson(const std::vector<M>& rows) {
  Json out = Json::array();
  for (const auto& row : rows) out.push_back(toJson<Json>(row));
  return out;
}

/// Sets the model's columns from a JSON object, by JSON name, through the members (so dirty
/// tracking sees them; a value equal to the current one is no change). Refused with a
/// kith::JsonError naming the key: a value of the wrong type, a key that names no column (a
/// relation, or anything else; MergeOptions::ignoreUnknown skips them), the primary key or a
/// hidden column (unless allowed). On any error no column is changed. Nothing is saved.
template <class M, class Json>
void merge(M& model, const Json& object, const MergeOptions& options = {}) {
  [[maybe_unused]] detail::CheckModel<M> modelChecked;
  if constexpr (detail::json::checkNames<M>()) {
    using Problem = JsonError::Problem;
    std::vector<Problem> problems;
    const auto fail = [&](std::string key, std::string message) {
      problems.push_back({std::move(key), std::move(message)});
      if (!options.collectErrors) throw JsonError(detail::typeName<M>, std::move(problems));
    };
    if (!object.is_object())  // nothing else to report: there are no keys
      throw JsonError(detail::typeName<M>, {{{}, "expected a JSON object, got " + std::string(object.type_name())}});
    auto values = detail::ColumnValues<M>::take(model);
    for (auto it = object.begin(); it != object.end(); ++it) {
      const std::string& key = it.key();
      bool known = false;
      detail::Meta<M>::forEach([&]<std::size_t I, auto Member>() {
        constexpr std::string_view name = detail::json::nameOf<M>(detail::Meta<M>::properties[I]);
        const bool isHidden = name.empty();
        if (known || (isHidden ? detail::Meta<M>::properties[I] : name) != key) return;
        known = true;
        if (isHidden && !options.allowHidden)
          return fail(key, "is hidden in JSON and not assignable; pass MergeOptions{.allowHidden = true} to set it");
        if (I == detail::Meta<M>::primaryKey && !options.allowPrimaryKey)
          return fail(key, "is the primary key, which a payload does not set; pass MergeOptions{.allowPrimaryKey = true} to allow it");
        if (auto problem = detail::json::in(it.value(), std::get<I>(values.values))) fail(key, std::move(*problem));
      });
      if (known || options.ignoreUnknown) continue;
      if (detail::json::isRelationProperty<M>(key))
        fail(key, "is a relation; merge sets columns only: write related models through related<...>()");
      else
        fail(key, "is not a column of " + std::string(detail::typeName<M>));
    }
    if (!problems.empty()) throw JsonError(detail::typeName<M>, std::move(problems));
    std::move(values).put(model);
  }
}

/// A new model from a JSON object: merge() into a default one.
template <class M, class Json>
M fromJson(const Json& object, const MergeOptions& options = {}) {
  M model{};
  merge(model, object, options);
  return model;
}

}  // namespace kith
