// The relation layer: what every relation kind shares. A kind (relations/has_many.hpp,
// belongs_to.hpp, has_one.hpp) declares its member type and specialises RelationTraits with its
// Info (keys, checks, correlation, how preload matches) and its Client; Query, BaseModel and
// createTables reach relations only through RelationInfo and isRelationMember.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/format.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/persist.hpp>
#include <kith/detail/relation_traits.hpp>
#include <kith/error.hpp>
#include <kith/query.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kith {

/// The keys of a relation, as property names. Empty means the default.
/// - HasMany, HasOne: `kith::keys{.foreignKey = "authorId", .localKey = "uuid"}`: the foreign key on
///   the related model (default camelCase(parent type name + primary key)), the local key on the
///   declaring model (default its primary key).
/// - BelongsTo: `kith::keys{.foreignKey = "authorId", .ownerKey = "uuid"}`: the foreign key on the
///   declaring model (default camelCase(related type name + primary key)), the owner key on the
///   related model (default its primary key).
struct keys {
  char foreignKey[48]{};
  char localKey[48]{};
  char ownerKey[48]{};
};

namespace detail {

/// How a kind's member holds what preload finds for one parent.
enum class Cardinality {
  Many,       // a list (HasMany)
  One,        // at most one row, the parent's own copy (HasOne)
  SharedOne,  // at most one row, shared by every parent that points at it (BelongsTo)
};

using KeyName = NameBuffer<63>;
constexpr KeyName keyName(std::string_view s) {
  KeyName out;
  out.append(s.substr(0, 63));
  return out;
}

/// The door through which the relation layer reaches Query's internals.
struct QueryAccess {
  template <class M>
  static std::vector<M> fetch(const Query<M>& q, Run* ahead = nullptr) {
    return q.fetch(ahead);
  }
  template <class M, class Sink>
  static void forEachRow(const Query<M>& q, Sink&& sink, Run* ahead = nullptr) {
    q.forEachRow(std::forward<Sink>(sink), ahead);
  }
  template <class M>
  static bool sendAhead(const Query<M>& q, std::optional<Run>& run) {
    return q.sendAhead(run);
  }
  template <class M>
  static void runPreloads(const Query<M>& q, std::span<M> rows) {
    q.runPreloads(rows);
  }
  template <class M>
  static bool hasPreloads(const Query<M>& q) {
    return !q.preloads_.empty();
  }
  template <class M>
  static bool isOrdered(const Query<M>& q) {
    return !q.order_.empty();
  }
  template <class M>
  static bool isGroupLimited(const Query<M>& q) {
    return q.groupLimit_.has_value() || !q.groupOrder_.empty();
  }
  template <class M>
  static std::vector<std::size_t>& selected(Query<M>& q) {
    return q.selected_;
  }
  /// Makes `q` read column `i` (a key preload matches by) when its select<>() left it out.
  template <class M>
  static void selectColumn(Query<M>& q, std::size_t i) {
    auto& selected = q.selected_;
    if (!selected.empty() && std::find(selected.begin(), selected.end(), i) == selected.end()) selected.push_back(i);
  }
  template <class M>
  static std::size_t boundValues(const Query<M>& q) {
    return q.bindings().size();
  }
  template <class M>
  static void requireOnlyConditions(const Query<M>& q, std::string_view what, std::size_t joinsBefore = 0) {
    q.requireOnlyConditions(what, joinsBefore);
  }
  template <class M>
  static std::size_t joinCount(const Query<M>& q) {
    return q.joins_.size();
  }
  template <auto OnQuery, class M>
  static void constrain(Query<M>& q, std::string_view relation) {
    q.template constrainBy<OnQuery>(relation);
  }
  /// Marks `q` as the query that preloads `relation`, partitioned by `keyColumn` for groupLimit.
  template <class M>
  static void preloading(Query<M>& q, std::string_view relation, const std::string& keyColumn) {
    q.preloading_ = relation;
    q.partition_ = keyColumn;
  }
  template <class M>
  static void addExtra(Query<M>& q, ExtraColumn e) {
    q.addExtra(std::move(e));
  }
  /// Joins the table of `joined` (a column compared equal to `present`, of a table `q` has).
  template <class M>
  static void join(Query<M>& q, ColumnRef joined, ColumnRef present) {
    q.addJoin(false, joined, present);
  }
  /// Makes update() and remove() on `q` write the rows of `pivot` it selects (a ManyToMany's query).
  template <class M>
  static void writesPivot(Query<M>& q, const TableInfo& pivot) {
    q.pivot_ = &pivot;
  }
  /// `q`'s own column `i` as its conditions name it (qualified when it joins another table).
  template <class M>
  static std::string column(const Query<M>& q, std::size_t i) {
    return q.own(i);
  }
  /// Query::scope for SQL kith assembled, which may name `q`'s own columns (column()).
  template <class M>
  static void scope(Query<M>& q, std::string sql, std::vector<Value> values) {
    q.addScope(std::move(sql), std::move(values), true);
  }
};

/// The checks on the keys of a relation whose foreign key is on the related model (HasMany,
/// HasOne). The compiler prints this template's arguments with the failure: the parent, the
/// relation member, the related model and the key names.
template <class Parent, auto Relation, class Related, KeyName ForeignKey, KeyName LocalKey, bool ForeignFound, bool LocalFound,
          bool SameTypes>
struct CheckRelationKeys {
  static_assert(ForeignFound,
                "kith: the relation's foreign key is not a declared column of the related model; declare it in the related model's "
                "`columns` (by default it is camelCase(parent type name + primary key), like userId), or name another with "
                "kith::keys{.foreignKey = \"...\"}");
  static_assert(LocalFound,
                "kith: the relation's local key is not a declared column of the parent model; declare it in the parent's `columns`, or "
                "name another with kith::keys{.localKey = \"...\"}");
  static_assert(!(ForeignFound && LocalFound) || SameTypes,
                "kith: the relation's foreign key and local key have different types; declare them with the same type (the foreign key "
                "may be a std::optional of it)");
  static constexpr bool ok = ForeignFound && LocalFound && SameTypes;
};

/// The same for a BelongsTo, whose foreign key is on the declaring model.
template <class Parent, auto Relation, class Owner, KeyName ForeignKey, KeyName OwnerKey, bool ForeignFound, bool OwnerFound,
          bool SameTypes>
struct CheckBelongsToKeys {
  static_assert(ForeignFound,
                "kith: the BelongsTo's foreign key is not a declared column of the model that declares the relation; declare it in "
                "that model's `columns` (by default it is camelCase(related type name + primary key), like userId), or name another "
                "with kith::keys{.foreignKey = \"...\"}");
  static_assert(OwnerFound,
                "kith: the BelongsTo's owner key is not a declared column of the related model; declare it in the related model's "
                "`columns`, or name another with kith::keys{.ownerKey = \"...\"}");
  static_assert(!(ForeignFound && OwnerFound) || SameTypes,
                "kith: the BelongsTo's foreign key and owner key have different types; declare them with the same type (the foreign "
                "key may be a std::optional of it)");
  static constexpr bool ok = ForeignFound && OwnerFound && SameTypes;
};

/// Adds relation `Field`'s onQuery conditions, when it declares any, to a query the relation builds.
template <class Field, class M>
void applyOnQuery(Query<M>& q, std::string_view relation) {
  if constexpr (!std::is_same_v<std::remove_cv_t<decltype(Field::onQuery)>, NoConstraint>)
    QueryAccess::constrain<Field::onQuery>(q, relation);
}

/// Lucid's error text for a model that cannot give a relation its key:
/// `kith: cannot preload "posts", value of "User.id" is undefined`.
inline std::string undefinedKey(std::string_view action, std::string_view relation, std::string_view model, std::string_view member) {
  return detail::format("kith: cannot {} \"{}\", value of \"{}.{}\" is undefined", action, relation, model, member);
}

/// The index createTables adds for a relation: on column `i` of `table`, named `<table>_<column>_index`.
inline std::string columnIndexSql(const TableInfo& table, std::size_t i) {
  const std::string index = std::string(table.rawTable) + "_" + std::string(table.rawColumns[i]) + "_index";
  return "CREATE INDEX IF NOT EXISTS " + quote(index) + " ON " + table.table + " (" + table.columns[i] + ")";
}

/// The index of a polymorphic relation: on its type and id columns, `<table>_<type>_<id>_index`.
inline std::string columnPairIndexSql(const TableInfo& table, std::size_t first, std::size_t second) {
  const std::string index =
      std::string(table.rawTable) + "_" + std::string(table.rawColumns[first]) + "_" + std::string(table.rawColumns[second]) + "_index";
  return "CREATE INDEX IF NOT EXISTS " + quote(index) + " ON " + table.table + " (" + table.columns[first] + ", " + table.columns[second] +
         ")";
}

/// Key column `I` of `model` (of type KeyType, or an optional of it), empty when it holds NULL;
/// `undefined()` is thrown when the model cannot give one: select<>() left the column out, or it
/// is a key the database has not generated yet.
template <class KeyType, class Model, std::size_t I, class Undefined>
std::optional<KeyType> keyIn(const Model& model, const Undefined& undefined) {
  const auto* state = Persist<Model>::stateIf(model);
  if (state && state->persisted && !state->light && !Persist<Model>::columns(*state).loaded[I]) throw undefined();
  const auto& value = model.*nthMember<Model, I>();
  if constexpr (!std::is_same_v<std::remove_cvref_t<decltype(value)>, KeyType>) {
    if (!value) return std::nullopt;
    return *value;
  } else {
    if constexpr (I == Meta<Model>::primaryKey && generatedKey<Model>) {
      if (!model.isPersisted()) throw undefined();
    }
    return value;
  }
}

/// A column a relation sets (a foreign key, a polymorphic type): the next save of `m` writes it
/// even where select<>() left it out.
template <auto Member, class M>
void markSetByRelation(M& m) {
  if (const auto* columns = Persist<M>::columnsIf(m); columns && !columns->loaded[Meta<M>::template indexOf<Member>()])
    Persist<M>::template markDirty<Member>(m);
}

/// The facts of a relation that joins one column of the parent to one column of the related
/// model: HasMany and HasOne (the foreign key on the related model, `ForeignOnRelated`) and
/// BelongsTo (the foreign key on the parent). Its "parent side" and "related side" are the two
/// columns a preload and a correlated subquery match: `related.<relatedColumn> = parent.<parentColumn>`.
template <auto Relation, bool ForeignOnRelated>
struct KeyPairInfo {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Relation)>>;
  using Parent = typename Pointer::Class;
  using Field = std::remove_cv_t<typename Pointer::Type>;
  using Related = typename Field::related_type;
  /// The model the key points at, and the model that holds the foreign key column.
  using Owner = std::conditional_t<ForeignOnRelated, Parent, Related>;
  using Holder = std::conditional_t<ForeignOnRelated, Related, Parent>;
  using OwnerMeta = Meta<Owner>;
  using HolderMeta = Meta<Holder>;
  static constexpr keys relationKeys = Field::relationKeys;

  static constexpr std::string_view name = memberName<Relation>;
  /// Where withCount and loadCount put a count without an alias: Lucid's "<relation>_count".
  static std::string countAlias() { return std::string(name) + "_count"; }
  static constexpr auto defaultForeignKey = foreignKeyFor<64>(typeName<Owner>, OwnerMeta::properties[OwnerMeta::primaryKey]);
  static constexpr std::string_view foreignKey =
      relationKeys.foreignKey[0] ? std::string_view(relationKeys.foreignKey) : defaultForeignKey.view();
  static constexpr const char* ownerKeyGiven = ForeignOnRelated ? relationKeys.localKey : relationKeys.ownerKey;
  static constexpr std::string_view ownerKey =
      ownerKeyGiven[0] ? std::string_view(ownerKeyGiven) : OwnerMeta::properties[OwnerMeta::primaryKey];
  static constexpr std::size_t foreignFound = HolderMeta::indexOfProperty(foreignKey);
  static constexpr std::size_t ownerFound = OwnerMeta::indexOfProperty(ownerKey);
  // Fall back to the primary keys when a key is missing, so that only the check complains.
  static constexpr std::size_t foreignIndex = foreignFound < HolderMeta::count ? foreignFound : HolderMeta::primaryKey;
  static constexpr std::size_t ownerIndex = ownerFound < OwnerMeta::count ? ownerFound : OwnerMeta::primaryKey;
  static constexpr auto foreignMember = nthMember<Holder, foreignIndex>();
  static constexpr auto ownerMember = nthMember<Owner, ownerIndex>();
  using ForeignType = ColumnType<foreignMember>;
  using OwnerType = ColumnType<ownerMember>;
  using KeyType = typename Unwrap<OwnerType>::type;
  static constexpr bool sameTypes = std::is_same_v<KeyType, typename Unwrap<ForeignType>::type>;

  /// The checks' class: instantiating it (`[[maybe_unused]] typename Info::Check keysChecked;`
  /// where a relation is used) prints what is wrong. `ok` does not read from it, so that a failed
  /// check is one error rather than one more at every use of `ok`.
  using Check = std::conditional_t<ForeignOnRelated,
                                   CheckRelationKeys<Parent, Relation, Related, keyName(foreignKey), keyName(ownerKey),
                                                     (foreignFound < HolderMeta::count), (ownerFound < OwnerMeta::count), sameTypes>,
                                   CheckBelongsToKeys<Parent, Relation, Related, keyName(foreignKey), keyName(ownerKey),
                                                      (foreignFound < HolderMeta::count), (ownerFound < OwnerMeta::count), sameTypes>>;
  static constexpr bool ok = foreignFound < HolderMeta::count && ownerFound < OwnerMeta::count && sameTypes;

  /// The columns a preload and a subquery match.
  static constexpr std::size_t parentIndex = ForeignOnRelated ? ownerIndex : foreignIndex;
  static constexpr std::size_t relatedIndex = ForeignOnRelated ? foreignIndex : ownerIndex;
  static constexpr auto parentMember = nthMember<Parent, parentIndex>();
  static constexpr auto relatedMember = nthMember<Related, relatedIndex>();
  static const std::string& parentColumn() { return Sql<Parent>::column(parentIndex); }
  static const std::string& relatedColumn() { return Sql<Related>::column(relatedIndex); }
  /// The foreign key column (on the holder).
  static const std::string& foreignColumn() { return Sql<Holder>::column(foreignIndex); }

  /// The condition that ties a subquery's related rows to the outer query's row.
  static std::string correlate(std::string_view relatedRef, std::string_view parentRef) {
    std::string out;
    out.append(relatedRef).append(".").append(relatedColumn()).append(" = ").append(parentRef).append(".").append(parentColumn());
    return out;
  }

  /// The index createTables adds: on the foreign key column.
  static void schemaSql(const Backend&, std::vector<std::string>& out) { out.push_back(columnIndexSql(Sql<Holder>::info(), foreignIndex)); }

  static std::string undefinedKey(std::string_view action) {
    return detail::undefinedKey(action, name, typeName<Parent>, memberName<parentMember>);
  }

  /// The parent's key to match related rows with; Lucid's error when it has none (not selected,
  /// or a key the database has not generated yet). A NULL local key is an error too; a NULL
  /// foreign key on a BelongsTo is "no owner": an empty result.
  static std::optional<KeyType> matchKey(const Parent& parent, std::string_view action) {
    const auto undefined = [&] { return UsageError(undefinedKey(action)); };
    auto key = keyIn<KeyType, Parent, parentIndex>(parent, undefined);
    if constexpr (ForeignOnRelated) {
      if (!key) throw undefined();
    }
    return key;
  }

  /// matchKey(), or the error when the parent has no key to give a related row.
  static KeyType parentKey(const Parent& parent, std::string_view action) {
    auto key = matchKey(parent, action);
    if (!key) throw UsageError(undefinedKey(action));
    return std::move(*key);
  }

  static void setForeignKey(Holder& holder, const KeyType& key) { holder.*foreignMember = key; }

  /// The columns setForeignKey() writes, to put back when a write fails (a polymorphic relation
  /// writes its type column too); and whether column `i` is one of them.
  using ForeignValues = ForeignType;
  static ForeignValues takeForeign(const Holder& holder) { return holder.*foreignMember; }
  static void putForeign(Holder& holder, ForeignValues values) { holder.*foreignMember = std::move(values); }
  static constexpr bool isKeyColumn(std::size_t i) { return i == foreignIndex; }

  /// The relation sets the foreign key: the next save writes it even where select<>() left it out.
  static void markForeignKey(Holder& holder) { markSetByRelation<foreignMember>(holder); }

  /// The related row's key on its matching side; empty when it is NULL.
  static std::optional<KeyType> relatedKeyOf(const Related& row) { return row.*relatedMember; }
  /// The column preload matches related rows by, in `q`.
  static std::string keyColumn(const Query<Related>& q) { return QueryAccess::column(q, relatedIndex); }
  /// Makes preload's query read that key: a select<>() that left the column out gets it back.
  static void selectKey(Query<Related>& q) { QueryAccess::selectColumn(q, relatedIndex); }

  /// Adds the relation's onQuery conditions to a query it builds.
  static void constrain(Query<Related>& q) { applyOnQuery<Field>(q, name); }

  /// Constrains `q` to the related rows of a parent whose key is `key`: onQuery, then the key.
  static void scopeTo(Query<Related>& q, const KeyType& key) {
    constrain(q);
    QueryAccess::scope(q, QueryAccess::column(q, relatedIndex) + " = ?", {Codec<KeyType>::toValue(key)});
  }
};

/// At most one model, owned, copied with its owner: HasOne's storage. Unlike std::optional it
/// allows `Related` to be incomplete where the relation member is declared.
template <class Related>
class Box {
 public:
  Box() noexcept = default;
  Box(std::nullptr_t) noexcept {}
  Box(const Box& other) : ptr_(other.ptr_ ? new Related(*other.ptr_) : nullptr) {}
  Box(Box&& other) noexcept : ptr_(std::exchange(other.ptr_, nullptr)) {}
  Box& operator=(Box other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }
  Box& operator=(Related&& value) {
    if (ptr_)
      *ptr_ = std::move(value);
    else
      ptr_ = new Related(std::move(value));
    return *this;
  }
  Box& operator=(const Related& value) { return *this = Related(value); }
  ~Box() { delete ptr_; }
  explicit operator bool() const noexcept { return ptr_ != nullptr; }
  Related& operator*() const noexcept { return *ptr_; }
  Related* get() const noexcept { return ptr_; }

 private:
  Related* ptr_ = nullptr;
};

/// Reading a relation member that nothing loaded (no preload, load() or write through it) is an
/// error, not an empty relation: an API that forgot a preload would otherwise answer "none".
/// It names the member when kith knows which one has this member type (RelationName): one, or the
/// few the program declares alike.
[[noreturn]] inline void throwNotLoaded(std::string_view kind, std::string_view related, const void* field) {
  std::vector<std::string> names;
  for (const NamedRelation& r : namedRelations()) {
    if (r.field != field) continue;
    std::string name = std::string(r.parent) + "::" + std::string(r.member);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  }
  std::string what = format("a {}<{}>", kind, related);
  std::string relation = "Model::relation";
  if (names.size() == 1) {
    what = names[0] + ", " + what + ",";
    relation = names[0];
  } else if (!names.empty()) {
    what += " (";
    for (std::size_t i = 0; i < names.size(); ++i) what += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    what += ")";
  }
  throw UsageError(
      format("kith: {} was read before anything loaded it (it is not an empty relation): load it with the query that "
             "reads its model (.preload<&{}>()) or on the model (model.load<&{}>()); isLoaded() tells whether it was",
             what, relation, relation));
}

/// The member of a many-valued relation (HasMany, HasManyThrough): a range of the related models
/// once loaded; reading it before is a kith::UsageError (throwNotLoaded).
template <class Related, class Kind>
class ManyMember {
 public:
  bool isLoaded() const noexcept { return loaded_; }
  auto begin() { return loaded().begin(); }
  auto end() { return loaded().end(); }
  auto begin() const { return loaded().begin(); }
  auto end() const { return loaded().end(); }
  std::size_t size() const { return loaded().size(); }
  bool empty() const { return loaded().empty(); }
  Related& operator[](std::size_t i) { return loaded()[i]; }
  const Related& operator[](std::size_t i) const { return loaded()[i]; }
  const std::vector<Related>& items() const { return loaded(); }

 protected:
  friend struct RelationAccess;
  std::vector<Related> value_;
  bool loaded_ = false;

 private:
  std::vector<Related>& loaded() {
    if (!loaded_) [[unlikely]]
      throwNotLoaded(Kind::kindName, typeName<Related>, &typeKey<Kind>);
    return value_;
  }
  const std::vector<Related>& loaded() const { return const_cast<ManyMember*>(this)->loaded(); }
};

/// The member of a one-valued relation (HasOne, BelongsTo): at most one model once loaded, held
/// in `Storage` (an owned Box, or a shared_ptr shared by the models that point at one owner);
/// reading it before is a kith::UsageError (throwNotLoaded).
template <class Related, class Storage, class Kind>
class OneMember {
 public:
  bool isLoaded() const noexcept { return loaded_; }
  /// True when loaded and there is a related model.
  explicit operator bool() const { return bool(loaded()); }
  Related* get() const { return loaded().get(); }
  Related& operator*() const { return *loaded(); }
  Related* operator->() const { return loaded().get(); }

 protected:
  friend struct RelationAccess;
  Storage value_;
  bool loaded_ = false;

  const Storage& loaded() const {
    if (!loaded_) [[unlikely]]
      throwNotLoaded(Kind::kindName, typeName<Related>, &typeKey<Kind>);
    return value_;
  }
};

/// Reads and writes the storage of a relation member (`value_`, `loaded_` in each kind).
struct RelationAccess {
  template <class Field>
  static auto& value(Field& relation) noexcept {
    return relation.value_;
  }
  template <class Field, class V>
  static void setLoaded(Field& relation, V&& value) {
    relation.value_ = std::forward<V>(value);
    relation.loaded_ = true;
  }
};

/// Bytes that identify a combination of column values exactly, for matching rows in memory.
inline void appendSignature(std::string& out, const Value& v) {
  out.push_back(static_cast<char>('0' + v.index()));
  switch (v.index()) {
    case 0:
      break;
    case 1:
      out.append(reinterpret_cast<const char*>(&std::get<1>(v)), sizeof(std::int64_t));
      break;
    case 2:
      out.append(reinterpret_cast<const char*>(&std::get<2>(v)), sizeof(double));
      break;
    case 3: {
      const auto& s = std::get<3>(v);
      const auto n = s.size();
      out.append(reinterpret_cast<const char*>(&n), sizeof n).append(s);
      break;
    }
    default: {
      const auto& b = std::get<4>(v);
      const auto n = b.size();
      out.append(reinterpret_cast<const char*>(&n), sizeof n).append(reinterpret_cast<const char*>(b.data()), b.size());
    }
  }
}

/// The key of the lock that serializes find-or-create calls on one parent's related rows
/// (Backend::lockKey): a 64-bit FNV-1a hash of the related table, the foreign key column and the
/// parent's key. A collision only makes unrelated calls wait for each other.
inline std::int64_t createLockKey(std::string_view table, std::string_view column, const Value& parentKey) {
  std::string bytes(table);
  bytes.push_back('\0');
  bytes.append(column).push_back('\0');
  appendSignature(bytes, parentKey);
  std::uint64_t hash = 14695981039346656037ull;
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return static_cast<std::int64_t>(hash);
}

/// The connection a relation client writes through: the one given to related<...>(db), else the
/// parent's own (its transaction while that is open).
template <class Parent>
Connection clientConnection(const Parent& parent, const Connection& given, std::string_view action, std::string_view relation) {
  if (given.hasBackend()) return given;
  const auto* state = Persist<Parent>::stateIf(parent);
  if (!state || !state->connection().hasBackend())
    throw UsageError(detail::format("kith: cannot {} \"{}\": this {} has no connection; save it first, or pass one: related<...>(db)",
                                    action, relation, typeName<Parent>));
  return state->connection().live();
}

/// What every relation client holds: the parent, the connection it was given, the checks that
/// make a wrong relation one readable error.
template <class Parent, auto Relation>
class ClientBase {
  static_assert(isRelationMember<Relation>(), KITH_NOT_A_RELATION);

 protected:
  using Info = RelationInfo<Relation>;
  static_assert(std::is_same_v<typename Info::Parent, Parent>, "kith: related<...>() names a relation of another model");
  // Names the check's class when the keys are wrong, so that its message comes first.
  static_assert(Info::ok || sizeof(typename Info::Check) == 0, "kith: this relation's keys are wrong; see the first error above");

 public:
  using Related = typename Info::Related;
  using Key = typename Info::KeyType;

  ClientBase(Parent& parent, const Connection* connection) : parent_(parent) {
    if (connection) connection_ = *connection;
  }

 protected:
  Connection connectionFor(std::string_view action) const { return clientConnection(parent_, connection_, action, Info::name); }

  /// The related rows of this parent, for kinds that join another table (HasManyThrough,
  /// ManyToMany): the relation's scope, or no rows when the parent's key is NULL.
  Query<Related> keyedQuery() const {
    Query<Related> q(connectionFor("select"));
    if (const auto key = Info::matchKey(parent_, "select")) {
      Info::scopeTo(q, *key);
    } else {
      Info::constrain(q);
      QueryAccess::scope(q, "1 = 0", {});
    }
    return q;
  }

  Parent& parent_;
  Connection connection_;
};

}  // namespace detail
}  // namespace kith
