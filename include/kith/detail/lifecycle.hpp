// What runs around a model's reads and writes besides the SQL: its hooks (static member functions
// the compiler finds by name) and its timestamps (columns kith stamps with the UTC time). A model
// that declares neither compiles to the code it had without them.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/column_kind.hpp>
#include <kith/detail/meta.hpp>

#include <chrono>
#include <cstddef>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kith {

namespace detail {
template <auto Created, auto Updated>
struct TimestampList {};
}  // namespace detail

/// The columns kith stamps with the current UTC time, for a model's `static constexpr auto
/// timestamps = kith::timestamps<&Post::createdAt, &Post::updatedAt>;` (Lucid's autoCreate and
/// autoUpdate). `Created` is set on insert, `Updated` on insert and on every UPDATE a save runs;
/// either may be `nullptr`. On insert a column that already holds a time (not the zero time, not
/// std::nullopt) keeps it.
template <auto Created, auto Updated = nullptr>
inline constexpr detail::TimestampList<Created, Updated> timestamps{};

namespace detail {
template <auto Column>
struct SoftDeleteColumn {};
}  // namespace detail

/// The column that marks a row trashed, for a model's `static constexpr auto softDeletes =
/// kith::softDeletes<&Post::deletedAt>;` (a std::optional of a UTC time): destroy() and a query's
/// remove() set it to the current time instead of deleting the row, and every read leaves such
/// rows out unless it asks for them (withTrashed(), onlyTrashed()). docs/models/soft-deletes.md.
template <auto Column>
inline constexpr detail::SoftDeleteColumn<Column> softDeletes{};

namespace detail {

/// The time a write stamps: now, in UTC, to the microsecond (PostgreSQL's precision), so that the
/// values kith leaves in a model are the ones the next read gives.
inline std::chrono::sys_time<std::chrono::microseconds> stampNow() {
  return std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
}

template <class T>
inline constexpr bool isTimeColumn = IsTimePoint<typename Unwrap<T>::type>::value;

/// The UTC time `now`, as the time type T (or the optional of one) holds it.
template <class T>
typename Unwrap<T>::type stampAs(std::chrono::system_clock::time_point now) {
  using Time = typename Unwrap<T>::type;
  return std::chrono::time_point_cast<typename Time::duration>(now);
}

// One trait per hook name: whether M declares something of that name, and whether kith can call
// it with the model (or the rows, for afterFetch), alone or with the write's connection.
#define KITH_DETAIL_HOOK(NAME, ARG)                                                                                                       \
  template <class M>                                                                                                                      \
  struct Hook_##NAME {                                                                                                                    \
    static constexpr bool declared = requires { &M::NAME; };                                                                              \
    static constexpr bool plain = requires(ARG a) { M::NAME(a); };                                                                        \
    static constexpr bool withConnection = requires(ARG a, const Connection& c) { M::NAME(a, c); };                                       \
    static constexpr bool present = plain || withConnection;                                                                              \
    static constexpr bool check() {                                                                                                       \
      static_assert(!declared || present, "kith: this model's " #NAME " is not a hook kith can call; declare it `static void " #NAME      \
                                          "(Model&)` or `static void " #NAME "(Model&, const kith::Connection&)`" KITH_DETAIL_HOOK_NOTE); \
      return true;                                                                                                                        \
    }                                                                                                                                     \
    static void call(ARG a, const Connection& c) {                                                                                        \
      if constexpr (withConnection)                                                                                                       \
        M::NAME(a, c);                                                                                                                    \
      else if constexpr (plain)                                                                                                           \
        M::NAME(a);                                                                                                                       \
    }                                                                                                                                     \
  };

#define KITH_DETAIL_HOOK_NOTE ""
KITH_DETAIL_HOOK(beforeCreate, M&)
KITH_DETAIL_HOOK(afterCreate, M&)
KITH_DETAIL_HOOK(beforeUpdate, M&)
KITH_DETAIL_HOOK(afterUpdate, M&)
KITH_DETAIL_HOOK(beforeSave, M&)
KITH_DETAIL_HOOK(afterSave, M&)
KITH_DETAIL_HOOK(beforeDelete, M&)
KITH_DETAIL_HOOK(afterDelete, M&)
KITH_DETAIL_HOOK(afterFind, M&)
KITH_DETAIL_HOOK(beforeRestore, M&)
KITH_DETAIL_HOOK(afterRestore, M&)
KITH_DETAIL_HOOK(beforeForceDelete, M&)
KITH_DETAIL_HOOK(afterForceDelete, M&)
#undef KITH_DETAIL_HOOK_NOTE
#define KITH_DETAIL_HOOK_NOTE ", with std::span<Model> for afterFetch"
KITH_DETAIL_HOOK(afterFetch, std::span<M>)
#undef KITH_DETAIL_HOOK_NOTE
#undef KITH_DETAIL_HOOK

template <class M>
concept HasTimestamps = requires {
  M::timestamps;
};

template <class M>
struct TimestampDeclaration {
  using type = void;
};
template <HasTimestamps M>
struct TimestampDeclaration<M> {
  using type = std::remove_cv_t<decltype(M::timestamps)>;
};

template <class M, class List>
struct TimestampsOf {
  static constexpr auto created = nullptr;
  static constexpr auto updated = nullptr;
};
template <class M, auto Created, auto Updated>
struct TimestampsOf<M, TimestampList<Created, Updated>> {
  static constexpr auto created = Created;
  static constexpr auto updated = Updated;
};

/// A timestamp is nullptr, or a declared column of M holding a time.
template <class M, auto Member>
constexpr bool validStamp() {
  if constexpr (std::is_null_pointer_v<decltype(Member)>) {
    return true;
  } else if constexpr (MemberPointer<std::remove_cv_t<decltype(Member)>>::valid) {
    if constexpr (std::is_same_v<typename MemberPointer<std::remove_cv_t<decltype(Member)>>::Class, M>)
      return Meta<M>::template has<Member> && isTimeColumn<ColumnType<Member>>;
    else
      return false;
  } else {
    return false;
  }
}

/// The checks on a model's timestamps; the compiler names the model and the members.
template <class M, auto Created, auto Updated, bool Valid>
struct CheckTimestamps {
  static_assert(Valid,
                "kith: kith::timestamps<&Model::createdAt, &Model::updatedAt> names columns kith stamps with the UTC time: each must be "
                "nullptr or a column of this model declared in `columns`, of type std::chrono::sys_time<...> or a std::optional of one");
};

/// What a snapshot keeps of a stamped column: its value, or nothing for none (nullptr).
template <auto Member>
struct StampSlot {
  using type = ColumnType<Member>;
};
template <>
struct StampSlot<nullptr> {
  using type = std::nullptr_t;
};

/// A model's soft deletes: whether it declares them, and the column (its member and index).
template <class M>
struct SoftDeletes {
  static constexpr bool declared = false;
  static constexpr bool valid = true;
  static constexpr bool enabled = false;
  static constexpr auto column = nullptr;
  static constexpr std::size_t index = static_cast<std::size_t>(-1);
};

template <class M, class Declaration>
struct SoftDeletesOf {
  static constexpr bool valid = false;
  static constexpr auto column = nullptr;
};
template <class M, auto Column>
struct SoftDeletesOf<M, SoftDeleteColumn<Column>> {
  static constexpr bool valid = [] {
    if constexpr (MemberPointer<std::remove_cv_t<decltype(Column)>>::valid) {
      if constexpr (std::is_same_v<typename MemberPointer<std::remove_cv_t<decltype(Column)>>::Class, M>)
        return Meta<M>::template has<Column> && IsOptional<ColumnType<Column>>::value && isTimeColumn<ColumnType<Column>>;
      else
        return false;
    } else {
      return false;
    }
  }();
  static constexpr auto column = Column;
};

/// The message when a model's softDeletes is wrong; the compiler names the model.
template <class M, bool Valid>
struct CheckSoftDeletes {
  static_assert(Valid,
                "kith: `static constexpr auto softDeletes = kith::softDeletes<&Model::deletedAt>;` names the column that marks a row "
                "trashed: a column of this model declared in `columns`, of type std::optional<std::chrono::sys_time<...>> (NULL: "
                "not trashed)");
};

template <class M>
requires requires { M::softDeletes; }
struct SoftDeletes<M> {
  using Of = SoftDeletesOf<M, std::remove_cv_t<decltype(M::softDeletes)>>;
  static constexpr bool declared = true;
  static constexpr bool valid = Of::valid;
  static constexpr bool enabled = valid;
  static constexpr auto column = Of::column;
  static constexpr std::size_t index = [] {
    if constexpr (valid)
      return Meta<M>::template indexOf<column>();
    else
      return static_cast<std::size_t>(-1);
  }();
};

/// Every column value of a model, to put back.
template <class M, class List = std::remove_cv_t<decltype(M::columns)>>
struct ColumnValues;
template <class M, auto... Members>
struct ColumnValues<M, ColumnList<Members...>> {
  std::tuple<ColumnType<Members>...> values;
  static ColumnValues take(const M& m) { return {{m.*Members...}}; }
  void put(M& m) && {
    std::apply([&](auto&&... v) { ((m.*Members = std::move(v)), ...); }, std::move(values));
  }
};

/// Hooks and timestamps of model M, and the work they add to a save, an insert, a delete and a read.
template <class M>
struct Lifecycle {
  using Stamps = TimestampsOf<M, typename TimestampDeclaration<M>::type>;
  static constexpr auto created = Stamps::created;
  static constexpr auto updated = Stamps::updated;
  static constexpr bool stampsValid = validStamp<M, created>() && validStamp<M, updated>();
  static constexpr bool hasCreated = !std::is_null_pointer_v<decltype(created)> && stampsValid;
  static constexpr bool hasUpdated = !std::is_null_pointer_v<decltype(updated)> && stampsValid;
  static constexpr bool stamps = hasCreated || hasUpdated;

  static constexpr bool hooksAfterInsert = Hook_afterCreate<M>::present || Hook_afterSave<M>::present;
  static constexpr bool hooksAfterUpdate = Hook_afterUpdate<M>::present || Hook_afterSave<M>::present;
  static constexpr bool hooksAfterDelete = Hook_afterDelete<M>::present;
  static constexpr bool hooksOnUpdate = hooksAfterUpdate || Hook_beforeUpdate<M>::present || Hook_beforeSave<M>::present;
  static constexpr bool writeHooks = hooksAfterInsert || hooksAfterUpdate || hooksAfterDelete || Hook_beforeCreate<M>::present ||
                                     Hook_beforeUpdate<M>::present || Hook_beforeSave<M>::present || Hook_beforeDelete<M>::present ||
                                     Hook_beforeRestore<M>::present || Hook_afterRestore<M>::present ||
                                     Hook_beforeForceDelete<M>::present || Hook_afterForceDelete<M>::present;
  /// Whether a save does more than its SQL: a failed one then puts the model's columns back.
  static constexpr bool any = writeHooks || stamps;

  /// Instantiated where a model is written or read, for the messages.
  static constexpr bool check() {
    [[maybe_unused]] CheckTimestamps<M, created, updated, stampsValid> timestampsChecked;
    [[maybe_unused]] CheckSoftDeletes<M, SoftDeletes<M>::valid> softDeletesChecked;
    static_assert(SoftDeletes<M>::enabled || !(Hook_beforeRestore<M>::declared || Hook_afterRestore<M>::declared ||
                                               Hook_beforeForceDelete<M>::declared || Hook_afterForceDelete<M>::declared),
                  "kith: beforeRestore, afterRestore, beforeForceDelete and afterForceDelete run for models that declare "
                  "`static constexpr auto softDeletes = kith::softDeletes<&Model::deletedAt>;`; this model does not");
    return Hook_beforeRestore<M>::check() && Hook_afterRestore<M>::check() && Hook_beforeForceDelete<M>::check() &&
           Hook_afterForceDelete<M>::check() && Hook_beforeCreate<M>::check() && Hook_afterCreate<M>::check() &&
           Hook_beforeUpdate<M>::check() && Hook_afterUpdate<M>::check() && Hook_beforeSave<M>::check() && Hook_afterSave<M>::check() &&
           Hook_beforeDelete<M>::check() && Hook_afterDelete<M>::check() && Hook_afterFind<M>::check() && Hook_afterFetch<M>::check();
  }

  // Insert: beforeCreate, beforeSave, stamps, INSERT, afterCreate, afterSave (Lucid's order).
  static void beforeInsert(M& m, const Connection& c) {
    Hook_beforeCreate<M>::call(m, c);
    Hook_beforeSave<M>::call(m, c);
  }
  /// The stamps of a new row: each stamped column that holds no time yet gets `now`.
  static void stampInsert(M& m, std::chrono::system_clock::time_point now) {
    const auto stamp = [&]<auto Member>() {
      auto& value = m.*Member;
      if constexpr (IsOptional<ColumnType<Member>>::value) {
        if (!value) value = stampAs<ColumnType<Member>>(now);
      } else {
        if (value.time_since_epoch().count() == 0) value = stampAs<ColumnType<Member>>(now);
      }
    };
    if constexpr (hasCreated) stamp.template operator()<created>();
    if constexpr (hasUpdated) stamp.template operator()<updated>();
  }
  static void afterInsert(M& m, const Connection& c) {
    Hook_afterCreate<M>::call(m, c);
    Hook_afterSave<M>::call(m, c);
  }
  // Update: beforeUpdate, beforeSave, (nothing dirty: stop), stamp, UPDATE, afterUpdate, afterSave.
  static void beforeUpdate(M& m, const Connection& c) {
    Hook_beforeUpdate<M>::call(m, c);
    Hook_beforeSave<M>::call(m, c);
  }
  static void stampUpdate(M& m, std::chrono::system_clock::time_point now) {
    if constexpr (hasUpdated) m.*updated = stampAs<ColumnType<updated>>(now);
  }
  static void afterUpdate(M& m, const Connection& c) {
    Hook_afterUpdate<M>::call(m, c);
    Hook_afterSave<M>::call(m, c);
  }
  static void beforeDelete(M& m, const Connection& c) { Hook_beforeDelete<M>::call(m, c); }
  static void afterDelete(M& m, const Connection& c) { Hook_afterDelete<M>::call(m, c); }
  // Reads check the hooks too: a model read but never written still hears about a wrong one.
  static void afterFind(M& m, const Connection& c) {
    check();
    Hook_afterFind<M>::call(m, c);
  }
  static void afterFetch(std::span<M> rows, const Connection& c) {
    check();
    if constexpr (Hook_afterFetch<M>::present) Hook_afterFetch<M>::call(rows, c);
  }

  /// What a failed write puts back besides kith's state: every column when hooks may have changed
  /// any, the stamped ones when only stamps did, nothing otherwise.
  struct StampValues {
    typename StampSlot<created>::type c{};
    typename StampSlot<updated>::type u{};
    static StampValues take(const M& m) {
      StampValues out;
      if constexpr (hasCreated) out.c = m.*created;
      if constexpr (hasUpdated) out.u = m.*updated;
      return out;
    }
    void put(M& m) && {
      if constexpr (hasCreated) m.*created = std::move(c);
      if constexpr (hasUpdated) m.*updated = std::move(u);
    }
  };
  struct NoValues {
    static NoValues take(const M&) { return {}; }
    void put(M&) && {}
  };
  using Values = std::conditional_t<writeHooks, ColumnValues<M>, std::conditional_t<stamps, StampValues, NoValues>>;
};

}  // namespace detail
}  // namespace kith
