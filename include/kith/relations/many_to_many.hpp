// kith::ManyToMany: two models joined by a pivot table, `kith::ManyToMany<Skill> skills;` in User
// (a user's skills through `skill_user`), with the pivot table's own columns typed.
#pragma once

#include <kith/detail/column_kind.hpp>
#include <kith/detail/std.hpp>
#include <kith/relations/core.hpp>
#include <kith/relations/preload.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kith {

/// The pivot table of a `ManyToMany<Related>` declared in Parent, and its keys (Lucid's names).
/// Empty means the default:
/// - `table`: snake_case of the two type names, sorted and joined: User and Skill give `skill_user`;
/// - `localKey`: the parent's column the pivot points at (a property), default its primary key;
///   `foreignKey`: the pivot column that holds it, default snake_case(parent type + primary key
///   property): `user_id`;
/// - `relatedKey`: the related model's column (a property), default *its* primary key (Lucid's
///   default is the parent's key name, a fault); `relatedForeignKey`: the pivot column that holds
///   it, default `skill_id`.
/// The two pivot columns are column names (the pivot has no model); the two keys are checked at
/// compile time like a HasMany's.
/// - `createdAt`, `updatedAt`: members of the pivot columns struct (properties, std::chrono::sys_time
///   or an optional of one) that kith stamps with the UTC time: both when it inserts a pivot row,
///   `updatedAt` when it updates one (sync, updatePivot). Lucid's `pivotTimestamps`, in UTC.
struct pivot {
  char table[64]{};
  char localKey[48]{};
  char foreignKey[48]{};
  char relatedKey[48]{};
  char relatedForeignKey[48]{};
  char createdAt[48]{};
  char updatedAt[48]{};
};

/// The pivot columns of a ManyToMany that declares none.
struct NoPivotColumns {
  static constexpr auto columns = kith::columns<>;
};

/// What sync() and toggle() did, by related key, in the order the ids were given (detached ones in
/// the order the pivot rows were read).
template <class Key>
struct SyncResult {
  std::vector<Key> attached;
  std::vector<Key> detached;
  std::vector<Key> updated;  // attached before, with other pivot values than the ones given
};

namespace detail {

/// A ManyToMany's loaded rows, and each one's pivot values for the parent that holds them.
template <class Related, class Pivot>
struct PivotRows {
  std::vector<Related> rows;
  std::vector<Pivot> pivots;
};

template <class Related, class Pivot, class Side>
void appendRow(PivotRows<Related, Pivot>& list, Related&& row, Side&& side) {
  list.rows.push_back(std::move(row));
  list.pivots.push_back(std::move(side.pivot));
}

/// The member of a ManyToMany: a range of the related models once loaded, each with its pivot
/// values (`pivot(i)`); reading it before is a kith::UsageError (throwNotLoaded).
template <class Related, class Pivot, class Kind>
class PivotMember {
 public:
  bool isLoaded() const noexcept { return loaded_; }
  auto begin() { return loaded().rows.begin(); }
  auto end() { return loaded().rows.end(); }
  auto begin() const { return loaded().rows.begin(); }
  auto end() const { return loaded().rows.end(); }
  std::size_t size() const { return loaded().rows.size(); }
  bool empty() const { return loaded().rows.empty(); }
  Related& operator[](std::size_t i) { return loaded().rows[i]; }
  const Related& operator[](std::size_t i) const { return loaded().rows[i]; }
  const std::vector<Related>& items() const { return loaded().rows; }
  /// The pivot row's own columns for the i-th related model: `user.skills.pivot(0).proficiency`.
  const Pivot& pivot(std::size_t i) const { return loaded().pivots[i]; }
  const std::vector<Pivot>& pivots() const { return loaded().pivots; }

 protected:
  friend struct RelationAccess;
  PivotRows<Related, Pivot> value_;
  bool loaded_ = false;

 private:
  PivotRows<Related, Pivot>& loaded() {
    if (!loaded_) [[unlikely]]
      throwNotLoaded("ManyToMany", typeName<Related>, &typeKey<Kind>);
    return value_;
  }
  const PivotRows<Related, Pivot>& loaded() const { return const_cast<PivotMember*>(this)->loaded(); }
};

}  // namespace detail

/// A many-to-many relationship through a pivot table: `kith::ManyToMany<Skill> skills;` in User
/// reads `SELECT "skills".* ... FROM "skills" INNER JOIN "skill_user" ON "skill_user"."skill_id" =
/// "skills"."id" WHERE "skill_user"."user_id" = ?`. `Keys` names the pivot table and its keys
/// (kith::pivot). `PivotColumns` declares the pivot table's own columns as a struct with
/// `columns`, like a model without a primary key:
///
///     struct SkillUser {
///       std::int64_t proficiency{};
///       static constexpr auto columns = kith::columns<&SkillUser::proficiency>;
///     };
///     kith::ManyToMany<Skill, kith::pivot{}, SkillUser> skills;
///
/// Loaded rows carry them (`user.skills.pivot(i).proficiency`); conditions and orderBy on a query
/// of the relation name them by member (`where<&SkillUser::proficiency>(">=", 4)`); attach, sync and
/// updatePivot write them. `OnQuery` constrains every read the relation builds, as HasMany's does.
template <class Related, pivot Keys = pivot{}, class PivotColumns = NoPivotColumns, auto OnQuery = detail::NoConstraint{}>
class ManyToMany : public detail::PivotMember<Related, PivotColumns, ManyToMany<Related, Keys, PivotColumns, OnQuery>> {
 public:
  using related_type = Related;
  using pivot_type = PivotColumns;
  static constexpr pivot relationKeys = Keys;
  static constexpr auto onQuery = OnQuery;
};

namespace detail {

/// The checks on a ManyToMany's keys and pivot columns. The compiler prints this template's
/// arguments with the failure: the parent, the relation, the related model, the key names.
template <class Parent, auto Relation, class Related, KeyName LocalKey, KeyName RelatedKey, KeyName PivotForeignKey,
          KeyName PivotRelatedForeignKey, bool LocalFound, bool RelatedFound, bool DistinctPivotKeys, bool PivotColumnsApart,
          bool PivotColumnsValid, bool TimestampsValid>
struct CheckPivotKeys {
  static_assert(LocalFound,
                "kith: the ManyToMany's local key is not a declared column of the parent model; declare it in the parent's `columns`, "
                "or name another with kith::pivot{.localKey = \"...\"}");
  static_assert(RelatedFound,
                "kith: the ManyToMany's related key is not a declared column of the related model; declare it in the related model's "
                "`columns`, or name another with kith::pivot{.relatedKey = \"...\"}");
  static_assert(DistinctPivotKeys,
                "kith: the ManyToMany's two pivot key columns have the same name (a model related to itself: both default to "
                "<type>_id); name them with kith::pivot{.foreignKey = \"user_id\", .relatedForeignKey = \"follower_id\"}");
  static_assert(PivotColumnsApart,
                "kith: the ManyToMany's pivot columns struct declares a column named like one of the pivot's two key columns; the "
                "relation writes those itself: remove it from the struct's `columns`");
  static_assert(PivotColumnsValid,
                "kith: the ManyToMany's pivot columns struct must list its own data members of supported types in `columns`, each "
                "once (like a model's, without a primary key)");
  static_assert(TimestampsValid,
                "kith: the ManyToMany's createdAt/updatedAt must name members of its pivot columns struct declared in its `columns`, "
                "of type std::chrono::sys_time<...> (or a std::optional of one)");
};

template <auto Relation>
struct ManyToManyInfo {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Relation)>>;
  using Parent = typename Pointer::Class;
  using Field = std::remove_cv_t<typename Pointer::Type>;
  using Related = typename Field::related_type;
  using Pivot = typename Field::pivot_type;
  using ParentMeta = Meta<Parent>;
  using RelatedMeta = Meta<Related>;
  using PivotMeta = Meta<Pivot>;
  static constexpr pivot relationKeys = Field::relationKeys;
  static constexpr Cardinality cardinality = Cardinality::Many;

  static constexpr std::string_view name = memberName<Relation>;
  static std::string countAlias() { return std::string(name) + "_count"; }

  static constexpr std::string_view given(const char* key, std::string_view fallback) { return key[0] ? std::string_view(key) : fallback; }
  static constexpr std::string_view parentPrimary = ParentMeta::properties[ParentMeta::primaryKey];
  static constexpr std::string_view relatedPrimary = RelatedMeta::properties[RelatedMeta::primaryKey];
  static constexpr std::string_view localKey = given(relationKeys.localKey, parentPrimary);
  static constexpr std::string_view relatedKey = given(relationKeys.relatedKey, relatedPrimary);

  // Lucid's defaults: the type names sorted and snake_cased; snake_case(type + primary key property).
  static constexpr auto defaultTable = [] {
    std::string_view a = typeName<Parent>, b = typeName<Related>;
    if (b < a) std::swap(a, b);
    NameBuffer<256> out;
    appendSnake(out, a);
    out.push('_');
    appendSnake(out, b);
    return out;
  }();
  static constexpr auto defaultForeignKey = snakeCase<160>(foreignKeyFor<64>(typeName<Parent>, parentPrimary).view());
  static constexpr auto defaultRelatedForeignKey = snakeCase<160>(foreignKeyFor<64>(typeName<Related>, relatedPrimary).view());
  static constexpr std::string_view table = given(relationKeys.table, defaultTable.view());
  static constexpr std::string_view foreignKey = given(relationKeys.foreignKey, defaultForeignKey.view());
  static constexpr std::string_view relatedForeignKey = given(relationKeys.relatedForeignKey, defaultRelatedForeignKey.view());

  static constexpr std::size_t localFound = ParentMeta::indexOfProperty(localKey);
  static constexpr std::size_t relatedFound = RelatedMeta::indexOfProperty(relatedKey);
  static constexpr std::size_t parentIndex = localFound < ParentMeta::count ? localFound : ParentMeta::primaryKey;
  static constexpr std::size_t relatedIndex = relatedFound < RelatedMeta::count ? relatedFound : RelatedMeta::primaryKey;
  static constexpr auto parentMember = nthMember<Parent, parentIndex>();
  static constexpr auto relatedMember = nthMember<Related, relatedIndex>();
  using KeyType = typename Unwrap<ColumnType<parentMember>>::type;
  using RelatedKey = typename Unwrap<ColumnType<relatedMember>>::type;

  static constexpr std::size_t pivotCount = PivotMeta::count;
  /// The pivot table's columns: the two keys, then the struct's.
  static constexpr auto pivotColumnNames = [] {
    std::array<std::string_view, 2 + pivotCount> out{foreignKey, relatedForeignKey};
    for (std::size_t i = 0; i < pivotCount; ++i) out[2 + i] = PivotMeta::columns[i];
    return out;
  }();
  static constexpr bool pivotColumnsApart = [] {
    for (std::size_t i = 0; i < pivotCount; ++i)
      if (PivotMeta::columns[i] == foreignKey || PivotMeta::columns[i] == relatedForeignKey) return false;
    return true;
  }();
  static constexpr bool pivotColumnsValid = PivotMeta::valid && PivotMeta::noDuplicates;

  /// The struct's columns kith stamps (pivotCount: none).
  static constexpr std::size_t createdIndex = relationKeys.createdAt[0] ? PivotMeta::indexOfProperty(relationKeys.createdAt) : pivotCount;
  static constexpr std::size_t updatedIndex = relationKeys.updatedAt[0] ? PivotMeta::indexOfProperty(relationKeys.updatedAt) : pivotCount;
  static constexpr bool timestampsValid = [] {
    bool ok = (!relationKeys.createdAt[0] || createdIndex < pivotCount) && (!relationKeys.updatedAt[0] || updatedIndex < pivotCount);
    PivotMeta::forEach([&]<std::size_t I, auto Member>() {
      if ((I == createdIndex || I == updatedIndex) && !isTimeColumn<ColumnType<Member>>) ok = false;
    });
    return ok;
  }();
  // The members kith stamps: none while the declaration is wrong, so that its error is the one message.
  static constexpr std::size_t stampCreated = timestampsValid ? createdIndex : pivotCount;
  static constexpr std::size_t stampUpdated = timestampsValid ? updatedIndex : pivotCount;
  static constexpr bool stamped(std::size_t i) { return i == stampCreated || i == stampUpdated; }
  /// `p` as a write at `now` stores it: createdAt and updatedAt set to `now`, but for a row
  /// already stored (`stored`), which keeps its createdAt.
  static Pivot stampedPivot(Pivot p, std::chrono::system_clock::time_point now, const Pivot* stored) {
    PivotMeta::forEach([&]<std::size_t I, auto Member>() {
      if constexpr (I == stampCreated) {
        if (stored)
          p.*Member = stored->*Member;
        else
          p.*Member = stampAs<ColumnType<Member>>(now);
      } else if constexpr (I == stampUpdated) {
        p.*Member = stampAs<ColumnType<Member>>(now);
      }
    });
    return p;
  }

  using Check = CheckPivotKeys<Parent, Relation, Related, keyName(localKey), keyName(relatedKey), keyName(foreignKey),
                               keyName(relatedForeignKey), (localFound < ParentMeta::count), (relatedFound < RelatedMeta::count),
                               foreignKey != relatedForeignKey, pivotColumnsApart, pivotColumnsValid, timestampsValid>;
  static constexpr bool ok = localFound < ParentMeta::count && relatedFound < RelatedMeta::count && foreignKey != relatedForeignKey &&
                             pivotColumnsApart && pivotColumnsValid && timestampsValid;

  /// The pivot table as queries join it; its own columns answer for the pivot struct's members.
  static const TableInfo& pivotTable() {
    static const TableInfo info = [] {
      TableInfo t(table, table, pivotColumnNames, 0);
      if constexpr (pivotCount > 0) {
        t.columnsOf = &Sql<Pivot>::info();
        t.columnsOffset = 2;
      }
      return t;
    }();
    return info;
  }
  /// Pivot column `i` (0: the parent's key, 1: the related key, then the struct's), qualified.
  static std::string pivotColumn(std::size_t i) { return pivotTable().table + "." + pivotTable().columns[i]; }
  /// The name pivot column `i` has beside a related row (Lucid's): `pivot_user_id`, `pivot_proficiency`.
  static std::string extraName(std::size_t i) { return "pivot_" + std::string(pivotColumnNames[i]); }
  static const std::string& parentColumn() { return Sql<Parent>::column(parentIndex); }

  /// The condition that ties a subquery's related rows (joined to the pivot by constrain()) to the
  /// outer query's row.
  static std::string correlate(std::string_view, std::string_view parentRef) {
    return pivotColumn(0) + " = " + std::string(parentRef) + "." + parentColumn();
  }

  /// createTables: the pivot table (both keys, the struct's columns, all NOT NULL but a
  /// std::optional), a unique index on the pair (which serves lookups by the parent), an index on
  /// the related key.
  static void schemaSql(const Backend& backend, std::vector<std::string>& out) {
    const TableInfo& t = pivotTable();
    std::string sql = "CREATE TABLE IF NOT EXISTS " + t.table + " (" + t.columns[0] + " " +
                      backend.columnType(columnKind<ColumnType<parentMember>>()) + " NOT NULL, " + t.columns[1] + " " +
                      backend.columnType(columnKind<ColumnType<relatedMember>>()) + " NOT NULL";
    PivotMeta::forEach([&]<std::size_t I, auto Member>() {
      sql += ", " + t.columns[2 + I] + " " + backend.columnType(columnKind<ColumnType<Member>>());
      if (!Codec<ColumnType<Member>>::nullable) sql += " NOT NULL";
    });
    out.push_back(sql + ")");
    const std::string pair = std::string(table) + "_" + std::string(foreignKey) + "_" + std::string(relatedForeignKey) + "_unique";
    out.push_back("CREATE UNIQUE INDEX IF NOT EXISTS " + quote(pair) + " ON " + t.table + " (" + t.columns[0] + ", " + t.columns[1] + ")");
    out.push_back(columnIndexSql(t, 1));
  }

  /// The parent's key; empty for a NULL one (no related rows).
  static std::optional<KeyType> matchKey(const Parent& parent, std::string_view action) {
    const auto undefined = [&] { return UsageError(undefinedKey(action, name, typeName<Parent>, memberName<parentMember>)); };
    return keyIn<KeyType, Parent, parentIndex>(parent, undefined);
  }
  static KeyType parentKey(const Parent& parent, std::string_view action) {
    auto key = matchKey(parent, action);
    if (!key) throw UsageError(undefinedKey(action, name, typeName<Parent>, memberName<parentMember>));
    return std::move(*key);
  }

  /// Preload reads each row's parent key and pivot values from the joined pivot table, beside the
  /// row: `"skill_user"."user_id" AS "pivot_user_id"`, `"skill_user"."proficiency" AS
  /// "pivot_proficiency"` (Lucid's aliases).
  static std::string keyColumn(const Query<Related>&) { return pivotColumn(0); }
  struct Side {
    std::optional<KeyType> key;
    Pivot pivot{};
  };
  static void selectKey(Query<Related>& q, std::vector<Side>& sides) {
    QueryAccess::addExtra(q, ExtraColumn{pivotColumn(0), {}, extraName(0), {}, readKey, &sides});
    PivotMeta::forEach([&]<std::size_t I, auto Member>() {
      QueryAccess::addExtra(q, ExtraColumn{pivotColumn(2 + I), {}, extraName(2 + I), {}, readPivot<I, Member>, &sides});
    });
  }
  static void readKey(Statement& st, int column, void*, const ExtraColumn& self) {
    auto& side = static_cast<std::vector<Side>*>(self.context)->emplace_back();
    if (!st.isNull(column)) Codec<KeyType>::read(st, column, side.key.emplace());
  }
  template <std::size_t I, auto Member>
  static void readPivot(Statement& st, int column, void*, const ExtraColumn& self) {
    readPivotColumn<I, Member>(st, column, static_cast<std::vector<Side>*>(self.context)->back().pivot);
  }
  /// Reads the struct's column I into `pivot`; a NULL into a member that cannot hold one is an error.
  template <std::size_t I, auto Member>
  static void readPivotColumn(Statement& st, int column, Pivot& pivot) {
    using C = Codec<ColumnType<Member>>;
    if (!C::nullable && st.isNull(column))
      throw Error(detail::format("kith: pivot column {}.{} is NULL, but {}::{} is not a std::optional", table, PivotMeta::columns[I],
                                 typeName<Pivot>, PivotMeta::properties[I]));
    C::read(st, column, pivot.*Member);
  }

  /// The rows of one parent's query (the client's) carry their pivot row as extras: both keys and
  /// the struct's columns, under extraName(), read back typed by kith::pivotOf.
  static void selectPivot(Query<Related>& q) {
    for (std::size_t i = 0; i < pivotColumnNames.size(); ++i)
      QueryAccess::addExtra(q, ExtraColumn{pivotColumn(i), {}, extraName(i), {}, readIntoExtras<Related>, nullptr});
  }
  /// The same extras on a model the client wrote: its pivot row for the parent keyed `key`.
  static void carryPivot(Related& row, const KeyType& key, const RelatedKey& id, const Pivot& values) {
    ModelState& state = Persist<Related>::state(row);
    state.setExtra(extraName(0), Codec<KeyType>::toValue(key));
    state.setExtra(extraName(1), Codec<RelatedKey>::toValue(id));
    PivotMeta::forEach([&]<std::size_t I, auto Member>() {
      state.setExtra(extraName(2 + I), Codec<ColumnType<Member>>::toValue(values.*Member));
    });
  }
  /// kith::pivotOf: the pivot values a row carries, typed.
  static Pivot carriedPivot(const Related& row) {
    const ModelState* state = Persist<Related>::stateIf(row);
    const auto find = [&](std::size_t i) { return state ? state->extra(extraName(i)) : nullptr; };
    if (!find(0))
      throw UsageError(
          detail::format("kith: this {} carries no pivot values of {}::{}; rows read through related<&{}::{}>().query() and "
                         "models its create, createMany, save and saveMany wrote do, and a loaded list gives them as .pivot(i)",
                         typeName<Related>, typeName<Parent>, name, typeName<Parent>, name));
    Pivot out{};
    PivotMeta::forEach([&]<std::size_t I, auto Member>() {
      const Value* value = find(2 + I);
      if (!value) throw UsageError(detail::format("kith: this {} carries no extra \"{}\"", typeName<Related>, extraName(2 + I)));
      ValueRow row(*value);
      readPivotColumn<I, Member>(row, 0, out);
    });
    return out;
  }

  /// Joins the pivot table and adds the relation's onQuery conditions: every read the relation
  /// builds starts here.
  static void constrain(Query<Related>& q) {
    QueryAccess::join(q, ColumnRef{&pivotTable(), 1, relatedForeignKey},
                      ColumnRef{&Sql<Related>::info(), relatedIndex, memberName<relatedMember>});
    applyOnQuery<Field>(q, name);
  }

  /// Constrains `q` to the related rows of a parent whose key is `key`.
  static void scopeTo(Query<Related>& q, const KeyType& key) {
    constrain(q);
    QueryAccess::scope(q, pivotColumn(0) + " = ?", {Codec<KeyType>::toValue(key)});
  }
};

/// `INSERT INTO <pivot> (<columns>) VALUES (...) x rows ON CONFLICT DO NOTHING`: a pair already
/// attached (by a writer that took no lock) is left as it is where the pair is unique.
inline std::string pivotInsertSql(const TableInfo& t, std::size_t rows) {
  std::string sql = "INSERT INTO " + t.table + " (", tuple = "(";
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    sql += (i ? ", " : "") + t.columns[i];
    tuple += i ? ", ?" : "?";
  }
  sql += ") VALUES ";
  tuple += ")";
  for (std::size_t r = 0; r < rows; ++r) sql += (r ? ", " : "") + tuple;
  return sql + " ON CONFLICT DO NOTHING";
}

/// `user.related<&User::skills>()`: reads the related rows, and writes the pivot rows that tie them
/// to this parent. Every write runs in one transaction (a savepoint inside the parent's or the
/// given one), leaves nothing behind on failure, and holds a per-parent lock on PostgreSQL
/// (SQLite's write transaction already excludes other writers): two of them never attach one pair
/// twice, nor deadlock on each other's pivot rows.
template <class Parent, auto Relation>
class PivotClient : public ClientBase<Parent, Relation> {
  using Base = ClientBase<Parent, Relation>;
  using Base::connectionFor;
  using Base::parent_;
  using typename Base::Info;

 public:
  using Base::Base;
  using typename Base::Key;
  using typename Base::Related;
  using RelatedKey = typename Info::RelatedKey;
  using Pivot = typename Info::Pivot;
  using Entry = std::pair<RelatedKey, Pivot>;

  /// The related rows of this parent (the pivot joined, the relation's condition in its own AND
  /// group); conditions and orderBy may name the pivot struct's members. As in Lucid, update() and
  /// remove() on it write the pivot rows it selects, never the related rows: `remove()` detaches
  /// them, `update(kith::set<&SkillUser::proficiency>(5))` sets their pivot columns.
  Query<Related> query() const {
    Query<Related> q = this->keyedQuery();
    QueryAccess::writesPivot(q, Info::pivotTable());
    Info::selectPivot(q);
    return q;
  }

  /// Attaches the related rows with these keys, with default pivot values: one SELECT of this
  /// parent's pivot rows (under the parent's lock), then one multi-row INSERT per chunk of the missing
  /// ones. A pair already attached is left as it is, whether the table has a unique index on the
  /// pair or not; a key given twice is attached once. Returns the number of pivot rows inserted.
  /// No statement for an empty list.
  template <ValueRange R>
  requires std::convertible_to<std::ranges::range_value_t<const R&>, RelatedKey> std::int64_t attach(const R& ids) {
    return attachEntries(entriesOf(ids));
  }
  std::int64_t attach(std::initializer_list<RelatedKey> ids) { return attachEntries(entriesOf(ids)); }
  /// attach() with pivot values: `attach({{3, SkillUser{.proficiency = 5}}})`; for a key given
  /// twice, the last values.
  template <ValueRange R>
  requires std::convertible_to<std::ranges::range_value_t<const R&>, Entry> std::int64_t attach(const R& rows) {
    return attachEntries(entriesOf(rows));
  }
  std::int64_t attach(std::initializer_list<Entry> rows) { return attachEntries(entriesOf(rows)); }

  /// Detaches the related rows with these keys from this parent (deletes their pivot rows; the
  /// related rows stay). An empty list detaches nothing (Lucid's detach([]) detaches all: that is
  /// detachAll()). Returns the number of pivot rows deleted.
  template <ValueRange R>
  requires std::convertible_to<std::ranges::range_value_t<const R&>, RelatedKey> std::int64_t detach(const R& ids) {
    std::vector<Value> keys;
    for (const auto& id : ids) keys.push_back(Codec<RelatedKey>::toValue(RelatedKey(id)));
    if (keys.empty()) return 0;
    std::int64_t n = 0;
    write([&](Transaction& trx, const Key& key) {
      Pipeline counts(trx.backend(), false);
      deleteKeys(trx, key, keys, counts);
      for (const std::int64_t deleted : counts.changes()) n += deleted;
    });
    return n;
  }
  std::int64_t detach(std::initializer_list<RelatedKey> ids) { return detach(std::span<const RelatedKey>(ids.begin(), ids.size())); }

  /// Detaches every related row of this parent. Returns the number of pivot rows deleted.
  std::int64_t detachAll() {
    std::int64_t n = 0;
    write([&](Transaction& trx, const Key& key) {
      Run run(trx.backend(), "DELETE FROM " + Info::pivotTable().table + " WHERE " + Info::pivotTable().columns[0] + " = ?");
      run.bind(1, key);
      run.finish();
      n = trx.backend().changes();
    });
    return n;
  }

  /// Makes these keys the parent's related rows: attaches the missing ones, detaches the others
  /// (unless `detach` is false). With ids only, pivot values of rows already attached are kept;
  /// with pivot values, rows whose stored values differ (compared in their C++ type) are updated.
  /// A bounded number of statements whatever the list size: one SELECT of this parent's pivot rows,
  /// then multi-row INSERT, UPDATE and DELETE statements per chunk.
  template <ValueRange R>
  requires std::convertible_to<std::ranges::range_value_t<const R&>, RelatedKey> SyncResult<RelatedKey> sync(const R& ids,
                                                                                                             bool detach = true) {
    return syncEntries(entriesOf(ids), false, detach);
  }
  SyncResult<RelatedKey> sync(std::initializer_list<RelatedKey> ids, bool detach = true) {
    return syncEntries(entriesOf(ids), false, detach);
  }
  template <ValueRange R>
  requires std::convertible_to<std::ranges::range_value_t<const R&>, Entry> SyncResult<RelatedKey> sync(const R& rows, bool detach = true) {
    return syncEntries(entriesOf(rows), true, detach);
  }
  SyncResult<RelatedKey> sync(std::initializer_list<Entry> rows, bool detach = true) { return syncEntries(entriesOf(rows), true, detach); }

  /// sync() that detaches nothing.
  template <class R>
  SyncResult<RelatedKey> syncWithoutDetaching(const R& rows) {
    return sync(rows, false);
  }
  SyncResult<RelatedKey> syncWithoutDetaching(std::initializer_list<RelatedKey> ids) { return sync(ids, false); }
  SyncResult<RelatedKey> syncWithoutDetaching(std::initializer_list<Entry> rows) { return sync(rows, false); }

  /// Detaches those of these keys that are attached, attaches the others (with default pivot
  /// values, or the ones given). Returns what it attached and detached.
  template <ValueRange R>
  requires std::convertible_to<std::ranges::range_value_t<const R&>, RelatedKey> SyncResult<RelatedKey> toggle(const R& ids) {
    return toggleEntries(entriesOf(ids));
  }
  SyncResult<RelatedKey> toggle(std::initializer_list<RelatedKey> ids) { return toggleEntries(entriesOf(ids)); }
  template <ValueRange R>
  requires std::convertible_to<std::ranges::range_value_t<const R&>, Entry> SyncResult<RelatedKey> toggle(const R& rows) {
    return toggleEntries(entriesOf(rows));
  }
  SyncResult<RelatedKey> toggle(std::initializer_list<Entry> rows) { return toggleEntries(entriesOf(rows)); }

  /// Sets pivot columns of one attached related row: `updatePivot(3, kith::set<&SkillUser::proficiency>(5))`.
  /// Returns the number of pivot rows changed (0 when the row is not attached).
  template <auto... Members>
  std::int64_t updatePivot(const RelatedKey& id, const Assignment<Members>&... assignments) {
    static_assert(sizeof...(Members) > 0, "kith: updatePivot() needs at least one kith::set<&Pivot::column>(value)");
    constexpr bool ofPivot = (std::is_same_v<typename MemberPointer<std::remove_cv_t<decltype(Members)>>::Class, Pivot> && ...);
    static_assert(ofPivot,
                  "kith: updatePivot() sets columns of the relation's pivot columns struct; the related model's columns are saved "
                  "through the model");
    std::int64_t n = 0;
    if constexpr (ofPivot) n = writePivot(id, assignments...);
    return n;
  }

  /// Inserts a related model and attaches it with these pivot values; the parent is saved first
  /// when it is new or changed. Returns it persisted.
  Related create(Related values, Pivot pivotValues = {}) {
    std::vector<Related> one;
    one.push_back(std::move(values));
    std::vector<Pivot> pivots;
    pivots.push_back(std::move(pivotValues));
    return std::move(createMany(std::move(one), std::move(pivots)).front());
  }

  /// Inserts the related models (multi-row INSERTs) and attaches them (one multi-row INSERT per
  /// chunk), in one transaction; `pivots` is empty (default values) or one per row.
  std::vector<Related> createMany(std::vector<Related> rows, std::vector<Pivot> pivots = {}) {
    checkPivots(rows.size(), pivots.size(), "createMany");
    if (rows.empty()) return rows;
    std::vector<Related*> all;
    for (auto& row : rows) all.push_back(&row);
    saveAll(all, pivots, true);
    return rows;
  }

  /// Saves a related model (insert or update) and attaches it when it is not attached yet; with
  /// pivot values, they are written whether it was attached or not.
  void save(Related& related, std::optional<Pivot> pivotValues = std::nullopt) {
    std::vector<Pivot> pivots;
    if (pivotValues) pivots.push_back(std::move(*pivotValues));
    Related* one = &related;
    saveAll(std::span<Related*>(&one, 1), pivots, bool(pivotValues));
  }

  /// save() for each model of a range, in place; `pivots` is empty (keep the values of rows
  /// already attached) or one per model.
  template <ValueRange R>
  requires std::is_same_v<std::remove_cvref_t<decltype(*std::begin(std::declval<R&>()))>, Related>
  void saveMany(R&& related, std::vector<Pivot> pivots = {}) {
    std::vector<Related*> all;
    for (auto& r : related) all.push_back(&r);
    checkPivots(all.size(), pivots.size(), "saveMany");
    if (all.empty()) return;
    const bool withValues = !pivots.empty();
    saveAll(all, pivots, withValues);
  }

 private:
  using PivotMeta = Meta<Pivot>;
  using Clock = std::chrono::system_clock;

  static void checkPivots(std::size_t rows, std::size_t pivots, std::string_view method) {
    if (pivots != 0 && pivots != rows)
      throw UsageError(
          detail::format("kith: {}() got {} rows and {} pivot values; give one pivot value per row, or none", method, rows, pivots));
  }

  template <auto... Members>
  std::int64_t writePivot(const RelatedKey& id, const Assignment<Members>&... assignments) {
    std::int64_t n = 0;
    if constexpr ((requireColumn<Pivot, Members>() && ...)) {
      const TableInfo& t = Info::pivotTable();
      std::string sql = "UPDATE " + t.table + " SET ";
      std::size_t k = 0;
      ((sql += (k++ ? ", " : "") + t.columns[2 + Meta<Pivot>::template indexOf<Members>()] + " = ?"), ...);
      // updatedAt stamped, unless the call sets it.
      constexpr bool stamp =
          Info::stampUpdated < PivotMeta::count && ((Meta<Pivot>::template indexOf<Members>() != Info::stampUpdated) && ...);
      if constexpr (stamp) sql += ", " + t.columns[2 + Info::stampUpdated] + " = ?";
      sql += " WHERE " + t.columns[0] + " = ? AND " + t.columns[1] + " = ?";
      write([&](Transaction& trx, const Key& key) {
        Run run(trx.backend(), sql);
        int index = 0;
        (run.bindValue(++index, assignments.value), ...);
        if constexpr (stamp) run.bind(++index, stampAs<ColumnType<nthMember<Pivot, Info::stampUpdated>()>>(stampNow()));
        run.bind(++index, key);
        run.bind(++index, id);
        run.finish();
        n = trx.backend().changes();
      });
    }
    return n;
  }

  /// The entries of a list of keys or (key, pivot values) pairs, each key once: at its first
  /// place, with its last values.
  template <class R>
  static std::vector<Entry> entriesOf(const R& input) {
    std::vector<Entry> out;
    std::unordered_map<RelatedKey, std::size_t> at;
    for (const auto& item : input) {
      Entry e = [&] {
        if constexpr (std::is_convertible_v<decltype(item), RelatedKey>)
          return Entry{RelatedKey(item), Pivot{}};
        else
          return Entry(item);
      }();
      if (auto [it, added] = at.try_emplace(e.first, out.size()); added)
        out.push_back(std::move(e));
      else
        out[it->second].second = std::move(e.second);
    }
    return out;
  }

  /// Runs `body(trx, parentKey)` in one transaction, holding the parent's pivot lock (PostgreSQL;
  /// SQLite's write transaction already excludes other writers): kith's writes of one parent's
  /// pivot rows run one after the other, so that none inserts a pair another is inserting, and
  /// none waits for a row another holds while holding one it wants (a deadlock). The parent must
  /// be saved: its key is what the pivot rows hold.
  template <class Body>
  void write(Body&& body) {
    const Connection connection = connectionFor("persist");
    const Key key = Info::parentKey(parent_, "persist");
    connection.transaction([&](Transaction& trx) {
      lock(trx, key);
      body(trx, key);
    });
  }

  static void lock(Transaction& trx, const Key& key) {
    trx.backend().lockKey(createLockKey(Info::table, Info::foreignKey, Codec<Key>::toValue(key)));
  }

  std::int64_t attachEntries(const std::vector<Entry>& entries) {
    if (entries.empty()) return 0;
    std::int64_t n = 0;
    write(
        [&](Transaction& trx, const Key& key) { n = static_cast<std::int64_t>(syncIn(trx, key, entries, false, false).attached.size()); });
    return n;
  }

  /// Inserts the pivot rows of `entries` (those listed in `only`, when it is not empty) with
  /// multi-row INSERTs of a power of two rows each, stamped `now`, sent in `pipeline`.
  static void insertEntries(Transaction& trx, const Key& key, const std::vector<Entry>& entries, std::span<const std::size_t> only,
                            [[maybe_unused]] Clock::time_point now, Pipeline& pipeline) {
    const TableInfo& t = Info::pivotTable();
    auto& b = trx.backend();
    const std::size_t total = only.empty() ? entries.size() : only.size();
    const std::size_t perRow = t.columns.size();
    const std::size_t limit = static_cast<std::size_t>(std::max(1, b.variableLimit()));
    // Chunks as a model's createMany has them (rowsPerInsert): a statement of many rows is parsed
    // for longer than it runs, so few distinct ones are parsed.
    const std::size_t maxRows = floorPow2(std::max<std::size_t>(1, std::min(rowsPerInsert(total), limit / perRow)));
    for (std::size_t at = 0; at < total;) {
      const std::size_t chunk = floorPow2(std::min(maxRows, total - at));
      Run run(b, pivotInsertSql(t, chunk));
      int index = 0;
      for (std::size_t r = at; r < at + chunk; ++r) {
        const Entry& e = entries[only.empty() ? r : only[r]];
        run.bind(++index, key);
        run.bind(++index, e.first);
        PivotMeta::forEach([&]<std::size_t I, auto Member>() {
          if constexpr (Info::stamped(I))
            run.bind(++index, stampAs<ColumnType<Member>>(now));
          else
            run.bind(++index, e.second.*Member);
        });
      }
      run.send();
      pipeline.counted(b);
      at += chunk;
    }
  }

  /// Deletes this parent's pivot rows for `keys` (IN lists, or one array on PostgreSQL), sent in
  /// `pipeline`, which counts them.
  static void deleteKeys(Transaction& trx, const Key& key, std::vector<Value>& keys, Pipeline& pipeline) {
    const TableInfo& t = Info::pivotTable();
    auto& b = trx.backend();
    loadByKeys(b, 1, Info::name, t.columns[1], keys, [&](std::string condition, std::vector<Value> values) {
      Run run(b, "DELETE FROM " + t.table + " WHERE " + t.columns[0] + " = ? AND " + condition);
      run.bind(1, key);
      int index = 1;
      for (const auto& v : values) run.bindValue(++index, v);
      run.send();
      pipeline.counted(b);
    });
  }

  /// This parent's pivot rows: each related key and its pivot values, in the order read.
  static std::vector<Entry> attached(Transaction& trx, const Key& key) {
    const TableInfo& t = Info::pivotTable();
    std::string sql = "SELECT " + t.columns[1];
    for (std::size_t i = 2; i < t.columns.size(); ++i) sql += ", " + t.columns[i];
    sql += " FROM " + t.table + " WHERE " + t.columns[0] + " = ?";
    Run run(trx.backend(), sql);
    run.bind(1, key);
    std::vector<Entry> out;
    while (run.step()) {
      Entry& e = out.emplace_back();
      Codec<RelatedKey>::read(run.statement(), 0, e.first);
      PivotMeta::forEach([&]<std::size_t I, auto Member>() {
        Info::template readPivotColumn<I, Member>(run.statement(), static_cast<int>(1 + I), e.second);
      });
    }
    return out;
  }

  static bool samePivot(const Pivot& a, const Pivot& b) {
    bool same = true;
    PivotMeta::forEach([&]<std::size_t I, auto Member>() {
      if constexpr (!Info::stamped(I)) same = same && a.*Member == b.*Member;
    });
    return same;
  }

  /// Sets the pivot values of `entries[only...]` with one UPDATE per chunk: `SET c = CASE <related
  /// key> WHEN ? THEN ? ... END` for each pivot column.
  static void updateEntries(Transaction& trx, const Key& key, const std::vector<Entry>& entries, std::span<const std::size_t> only,
                            [[maybe_unused]] Clock::time_point now, Pipeline& pipeline) {
    if constexpr (PivotMeta::count > 0) {
      const TableInfo& t = Info::pivotTable();
      auto& b = trx.backend();
      const std::size_t perRow = 2 * PivotMeta::count + 1;  // at most: a stamped column takes one parameter per statement
      const std::size_t limit = static_cast<std::size_t>(std::max(1, b.variableLimit()));
      const std::size_t maxRows = floorPow2(std::max<std::size_t>(1, std::min(rowsPerInsert(only.size()), (limit - 1) / perRow)));
      std::string typed[PivotMeta::count];
      PivotMeta::forEach([&]<std::size_t I, auto Member>() { typed[I] = b.typedParameter(columnKind<ColumnType<Member>>()); });
      for (std::size_t at = 0; at < only.size();) {
        const std::size_t chunk = floorPow2(std::min(maxRows, only.size() - at));
        std::string sql = "UPDATE " + t.table + " SET ";
        bool first = true;
        for (std::size_t c = 0; c < PivotMeta::count; ++c) {
          if (c == Info::stampCreated) continue;  // set once, on insert
          sql += (first ? "" : ", ") + t.columns[2 + c];
          first = false;
          if (c == Info::stampUpdated) {
            sql += " = ?";
            continue;
          }
          sql += " = CASE " + t.columns[1];
          for (std::size_t r = 0; r < chunk; ++r) sql += " WHEN ? THEN " + typed[c];
          sql += " END";
        }
        sql += " WHERE " + t.columns[0] + " = ? AND " + t.columns[1] + " IN (";
        for (std::size_t r = 0; r < chunk; ++r) sql += r ? ", ?" : "?";
        sql += ")";
        Run run(b, sql);
        int index = 0;
        PivotMeta::forEach([&]<std::size_t I, auto Member>() {
          if constexpr (I == Info::stampUpdated) {
            run.bind(++index, stampAs<ColumnType<Member>>(now));
          } else if constexpr (I != Info::stampCreated) {
            for (std::size_t r = at; r < at + chunk; ++r) {
              run.bind(++index, entries[only[r]].first);
              run.bind(++index, entries[only[r]].second.*Member);
            }
          }
        });
        run.bind(++index, key);
        for (std::size_t r = at; r < at + chunk; ++r) run.bind(++index, entries[only[r]].first);
        run.send();
        pipeline.counted(b);
        at += chunk;
      }
    }
  }

  SyncResult<RelatedKey> syncEntries(const std::vector<Entry>& entries, bool withValues, bool detach) {
    SyncResult<RelatedKey> result;
    write([&](Transaction& trx, const Key& key) { result = syncIn(trx, key, entries, withValues, detach); });
    return result;
  }

  /// sync's work inside the caller's transaction, the lock held. `stored`, when given, receives
  /// each entry's pivot values as the table holds them afterwards.
  static SyncResult<RelatedKey> syncIn(Transaction& trx, const Key& key, const std::vector<Entry>& entries, bool withValues, bool detach,
                                       std::vector<Pivot>* stored = nullptr) {
    SyncResult<RelatedKey> result;
    const auto now = stampNow();  // one time for every stamp of this call
    const std::vector<Entry> existing = attached(trx, key);
    std::unordered_map<RelatedKey, std::size_t> at;
    for (std::size_t i = 0; i < existing.size(); ++i) at.try_emplace(existing[i].first, i);
    std::vector<std::size_t> toInsert, toUpdate;
    std::unordered_map<RelatedKey, bool> wanted;
    if (stored) stored->resize(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      wanted.emplace(entries[i].first, true);
      const auto it = at.find(entries[i].first);
      const Pivot* before = it == at.end() ? nullptr : &existing[it->second].second;
      if (!before) {
        toInsert.push_back(i);
        result.attached.push_back(entries[i].first);
        if (stored) (*stored)[i] = Info::stampedPivot(entries[i].second, now, nullptr);
      } else if (withValues && !samePivot(*before, entries[i].second)) {
        toUpdate.push_back(i);
        result.updated.push_back(entries[i].first);
        if (stored) (*stored)[i] = Info::stampedPivot(entries[i].second, now, before);
      } else if (stored) {
        (*stored)[i] = *before;
      }
    }
    std::vector<Value> gone;
    if (detach)
      for (const auto& e : existing)
        if (!wanted.contains(e.first) && wanted.emplace(e.first, false).second) {
          result.detached.push_back(e.first);
          gone.push_back(Codec<RelatedKey>::toValue(e.first));
        }
    // The writes need no answer before the next: one pipeline where the adapter has them.
    Pipeline pipeline(trx.backend(), toInsert.size() + toUpdate.size() + gone.size() > 1);
    if (!toInsert.empty()) insertEntries(trx, key, entries, toInsert, now, pipeline);
    if (!toUpdate.empty()) updateEntries(trx, key, entries, toUpdate, now, pipeline);
    if (!gone.empty()) deleteKeys(trx, key, gone, pipeline);
    pipeline.finishWithCommit();  // no count needed: their answers come with the COMMIT
    return result;
  }

  SyncResult<RelatedKey> toggleEntries(const std::vector<Entry>& entries) {
    SyncResult<RelatedKey> result;
    if (entries.empty()) return result;
    write([&](Transaction& trx, const Key& key) {
      std::unordered_map<RelatedKey, bool> stored;
      for (auto& e : attached(trx, key)) stored.emplace(std::move(e.first), true);
      std::vector<std::size_t> toInsert;
      std::vector<Value> gone;
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (stored.contains(entries[i].first)) {
          result.detached.push_back(entries[i].first);
          gone.push_back(Codec<RelatedKey>::toValue(entries[i].first));
        } else {
          result.attached.push_back(entries[i].first);
          toInsert.push_back(i);
        }
      }
      Pipeline pipeline(trx.backend(), toInsert.size() + gone.size() > 1);
      if (!gone.empty()) deleteKeys(trx, key, gone, pipeline);
      if (!toInsert.empty()) insertEntries(trx, key, entries, toInsert, stampNow(), pipeline);
      pipeline.finishWithCommit();
    });
    return result;
  }

  /// create/createMany/save/saveMany: the parent saved when new or changed, the related models
  /// inserted or updated, then attached (createMany: inserted; save: sync without detaching, the
  /// values written only when given), all in one transaction. On failure every object is as it was.
  /// Each model then carries its pivot row as the table holds it (kith::pivotOf), and so does a
  /// loaded list of the parent.
  void saveAll(std::span<Related*> all, const std::vector<Pivot>& pivots, bool withValues) {
    const Connection connection = connectionFor("persist");
    auto parentBefore = Persist<Parent>::take(parent_);
    std::vector<typename Persist<Related>::Snapshot> before;
    for (Related* r : all) before.push_back(Persist<Related>::take(*r));
    std::vector<Related*> fresh;
    std::vector<std::int64_t> generated;
    std::shared_ptr<TxState> tx;
    std::vector<Entry> entries;  // one per model; its pivot values as stored, once written
    std::optional<Key> parentKey;
    try {
      connection.transaction([&](Transaction& trx) {
        if (!parent_.isPersisted() || parent_.isDirty()) Persist<Parent>::save(parent_, trx);
        const Key& key = parentKey.emplace(Info::parentKey(parent_, "persist"));
        std::vector<Related*> persisted;
        for (Related* r : all) (r->isPersisted() ? persisted : fresh).push_back(r);
        Persist<Related>::updateMany(persisted, trx);
        for (Related* r : fresh) Persist<Related>::forgetUndoneKey(*r);
        generated = Persist<Related>::insertMany(fresh, trx);
        tx = trx.transactionState();
        // The related keys: a generated one from the insert, else the model's own.
        entries.reserve(all.size());
        for (std::size_t i = 0, f = 0; i < all.size(); ++i) {
          Related& r = *all[i];
          const bool isFresh = f < fresh.size() && fresh[f] == &r;
          RelatedKey id = keyOf(r, isFresh && Persist<Related>::generatesKey(r) ? &generated[f] : nullptr);
          if (isFresh) ++f;
          entries.emplace_back(std::move(id), pivots.empty() ? Pivot{} : pivots[i]);
        }
        lock(trx, key);
        const std::vector<Entry> unique = entriesOf(entries);
        std::vector<Pivot> stored;
        if (fresh.size() == all.size() && unique.size() == all.size()) {
          const auto now = stampNow();
          Pipeline pipeline(trx.backend(), unique.size() > 1);
          insertEntries(trx, key, unique, {}, now, pipeline);  // new rows with keys of their own: none is attached yet
          pipeline.finish();
          for (auto& e : entries) e.second = Info::stampedPivot(std::move(e.second), now, nullptr);
        } else {
          syncIn(trx, key, unique, withValues, false, &stored);
          std::unordered_map<RelatedKey, std::size_t> at;  // a model given twice has its key's last values
          for (std::size_t i = 0; i < unique.size(); ++i) at.emplace(unique[i].first, i);
          for (auto& e : entries) e.second = stored[at.at(e.first)];
        }
      });
    } catch (...) {
      Persist<Parent>::restore(parent_, std::move(parentBefore));
      for (std::size_t i = 0; i < all.size(); ++i) Persist<Related>::restore(*all[i], std::move(before[i]));
      throw;
    }
    Persist<Related>::markManyInserted(fresh, generated, connection, tx);
    for (std::size_t i = 0; i < all.size(); ++i) Info::carryPivot(*all[i], *parentKey, entries[i].first, entries[i].second);
    appendLoaded(all, entries);
  }

  /// The related key of `r`; `generated` is the key the database just gave it, when it did.
  static RelatedKey keyOf(const Related& r, const std::int64_t* generated) {
    if constexpr (Info::relatedIndex == Meta<Related>::primaryKey && generatedKey<Related>) {
      if (generated) return static_cast<RelatedKey>(*generated);
    }
    const auto& value = r.*Info::relatedMember;
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(value)>, RelatedKey>) {
      return value;
    } else {
      if (!value)
        throw UsageError(detail::format("kith: cannot attach a {} whose {} is NULL through \"{}\"", typeName<Related>,
                                        memberName<Info::relatedMember>, Info::name));
      return *value;
    }
  }

  /// Keeps a loaded relation in step: each saved model replaces the loaded one with the same
  /// related key, with its pivot values as stored, or is appended. Linear in both (a hash of the
  /// keys), as HasMany's.
  void appendLoaded(std::span<Related*> all, const std::vector<Entry>& stored) {
    auto& relation = parent_.*Relation;
    if (!relation.isLoaded()) return;
    auto& value = RelationAccess::value(relation);
    std::unordered_map<RelatedKey, std::size_t> at;
    at.reserve(value.rows.size() + all.size());
    for (std::size_t i = 0; i < value.rows.size(); ++i) at.try_emplace(keyOf(value.rows[i], nullptr), i);
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (auto [it, added] = at.try_emplace(stored[i].first, value.rows.size()); added) {
        value.rows.push_back(*all[i]);
        value.pivots.push_back(stored[i].second);
      } else {
        value.rows[it->second] = *all[i];
        value.pivots[it->second] = stored[i].second;
      }
    }
  }
};

template <class R, pivot K, class P, auto Q>
struct RelationTraits<ManyToMany<R, K, P, Q>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : ManyToManyInfo<Relation> {};
  template <class Parent, auto Relation>
  using Client = PivotClient<Parent, Relation>;
};

template <class T>
inline constexpr bool isManyToMany = false;
template <class R, pivot K, class P, auto Q>
inline constexpr bool isManyToMany<ManyToMany<R, K, P, Q>> = true;

template <auto Relation>
constexpr bool isManyToManyMember() {
  if constexpr (MemberPointer<std::remove_cv_t<decltype(Relation)>>::valid)
    return isManyToMany<RelationField<Relation>>;
  else
    return false;
}

}  // namespace detail

/// The pivot values a related model carries for the parent it was read or written through, typed:
/// `kith::pivotOf<&User::skills>(skill).proficiency`. Rows read by `user.related<&User::skills>().query()`
/// carry them, and so do the models its create, createMany, save and saveMany wrote (the values as
/// stored: kept, updated or stamped); a loaded `user.skills` gives them as `user.skills.pivot(i)`.
/// They are the row's extras `pivot_<column>` (Lucid's names). kith::UsageError when the row
/// carries none.
template <auto Relation, class M>
auto pivotOf(const M& row) {
  constexpr bool manyToMany = detail::isManyToManyMember<Relation>();
  static_assert(manyToMany, "kith::pivotOf<&Parent::relation>(row) needs a kith::ManyToMany member, like &User::skills");
  if constexpr (manyToMany) {
    using Info = detail::ManyToManyInfo<Relation>;
    constexpr bool related = std::is_same_v<M, typename Info::Related>;
    static_assert(related, "kith::pivotOf<&Parent::relation>(row): row must be a model of the relation's related type");
    if constexpr (related)
      return Info::carriedPivot(row);
    else
      return typename Info::Pivot{};  // the assertion is the one error
  }
}

}  // namespace kith
