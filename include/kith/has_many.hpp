// kith::HasMany: a one-to-many relationship as a typed member, its client (related<...>()) and
// preloading.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/format.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/persist.hpp>
#include <kith/error.hpp>
#include <kith/model.hpp>
#include <kith/query.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kith {

/// The keys of a relation, as property names: `kith::keys{.foreignKey = "authorId", .localKey = "uuid"}`.
/// Empty means the default: foreign key camelCase(parent type name + primary key), local key the
/// parent's primary key.
struct keys {
  char foreignKey[48]{};
  char localKey[48]{};
};

namespace detail {
struct RelationAccess;
}

/// A one-to-many relationship: `kith::HasMany<Post> posts;` in User. `Related` may be incomplete
/// where the member is declared. It is a range of the related models once loaded (by preload, load
/// or writes through related<...>()); never loaded is not the same as loaded and empty.
///
/// `OnQuery` constrains every query the relation builds (related query, preload, load, has,
/// whereHas, withCount, the lookups of the *OrCreate methods) with conditions of its own, kept in
/// their own AND group: `kith::HasMany<Post, kith::keys{}, [](auto& q) { q.template where<&Post::published>(true); }>`.
template <class Related, keys Keys = keys{}, auto OnQuery = detail::NoConstraint{}>
class HasMany {
 public:
  using related_type = Related;
  static constexpr keys relationKeys = Keys;
  static constexpr auto onQuery = OnQuery;

  bool isLoaded() const noexcept { return loaded_; }
  auto begin() noexcept { return items_.begin(); }
  auto end() noexcept { return items_.end(); }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  Related& operator[](std::size_t i) { return items_[i]; }
  const Related& operator[](std::size_t i) const { return items_[i]; }
  const std::vector<Related>& items() const noexcept { return items_; }

 private:
  friend struct detail::RelationAccess;
  std::vector<Related> items_;
  bool loaded_ = false;
};

namespace detail {

template <class T>
inline constexpr bool isHasMany = false;
template <class R, keys K, auto Q>
inline constexpr bool isHasMany<HasMany<R, K, Q>> = true;

template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
};

using KeyName = NameBuffer<63>;
constexpr KeyName keyName(std::string_view s) {
  KeyName out;
  out.append(s.substr(0, 63));
  return out;
}

/// The checks on a relation's keys. The compiler prints this template's arguments with the
/// failure: the parent, the relation member, the related model and the key names.
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

template <auto Relation>
constexpr bool isRelationMember() {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Relation)>>;
  if constexpr (Pointer::valid)
    return isHasMany<typename Pointer::Type>;
  else
    return false;
}

#define KITH_NOT_A_RELATION \
  "kith: related<...>(), preload<...>() and load<...>() need a relation member, like a kith::HasMany<Post>; this member is not one"

struct QueryAccess {
  template <class M>
  static std::vector<M> fetch(const Query<M>& q) {
    return q.fetch();
  }
  template <class M, class Sink>
  static void forEachRow(const Query<M>& q, Sink&& sink) {
    q.forEachRow(std::forward<Sink>(sink));
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
  static std::vector<std::size_t>& selected(Query<M>& q) {
    return q.selected_;
  }
  template <class M>
  static std::size_t boundValues(const Query<M>& q) {
    return q.bindings().size();
  }
  template <class M>
  static void requireOnlyConditions(const Query<M>& q, std::string_view what) {
    q.requireOnlyConditions(what);
  }
  template <auto OnQuery, class M>
  static void constrain(Query<M>& q, std::string_view relation) {
    q.template constrainBy<OnQuery>(relation);
  }
  /// Marks `q` as the query that preloads `relation`, partitioned by `foreignColumn` for groupLimit.
  template <class M>
  static void preloading(Query<M>& q, std::string_view relation, const std::string& foreignColumn) {
    q.preloading_ = relation;
    q.partition_ = foreignColumn;
  }
};

/// Everything kith knows about one HasMany member at compile time.
template <auto Relation>
struct HasManyInfo {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Relation)>>;
  using Parent = typename Pointer::Class;
  using Field = typename Pointer::Type;
  using Related = typename Field::related_type;
  using ParentMeta = Meta<Parent>;
  using RelatedMeta = Meta<Related>;
  static constexpr keys relationKeys = Field::relationKeys;

  static constexpr std::string_view name = memberName<Relation>;
  /// Where withCount and loadCount put a count without an alias: Lucid's "<relation>_count".
  static std::string countAlias() { return std::string(name) + "_count"; }
  static constexpr auto defaultForeignKey = foreignKeyFor<64>(typeName<Parent>, ParentMeta::properties[ParentMeta::primaryKey]);
  static constexpr std::string_view foreignKey =
      relationKeys.foreignKey[0] ? std::string_view(relationKeys.foreignKey) : defaultForeignKey.view();
  static constexpr std::string_view localKey =
      relationKeys.localKey[0] ? std::string_view(relationKeys.localKey) : ParentMeta::properties[ParentMeta::primaryKey];
  static constexpr std::size_t foreignFound = RelatedMeta::indexOfProperty(foreignKey);
  static constexpr std::size_t localFound = ParentMeta::indexOfProperty(localKey);
  // Fall back to the primary keys when a key is missing, so that only the check below complains.
  static constexpr std::size_t foreignIndex = foreignFound < RelatedMeta::count ? foreignFound : RelatedMeta::primaryKey;
  static constexpr std::size_t localIndex = localFound < ParentMeta::count ? localFound : ParentMeta::primaryKey;
  static constexpr auto foreignMember = nthMember<Related, foreignIndex>();
  static constexpr auto localMember = nthMember<Parent, localIndex>();
  using ForeignType = ColumnType<foreignMember>;
  using LocalType = ColumnType<localMember>;
  using KeyType = typename Unwrap<LocalType>::type;

  static constexpr bool ok =
      CheckRelationKeys<Parent, Relation, Related, keyName(foreignKey), keyName(localKey), (foreignFound < RelatedMeta::count),
                        (localFound < ParentMeta::count), std::is_same_v<KeyType, typename Unwrap<ForeignType>::type>>::ok;

  static std::string undefinedKey(std::string_view action) {
    return detail::format("kith: cannot {} \"{}\", value of \"{}.{}\" is undefined", action, name, typeName<Parent>, localKey);
  }

  /// The parent's local key, or Lucid's error when it has none: not selected, NULL, or a key the
  /// database has not generated yet.
  static KeyType parentKey(const Parent& parent, std::string_view action) {
    const auto* state = Persist<Parent>::stateIf(parent);
    if (state && state->persisted && !state->loaded[localIndex]) throw UsageError(undefinedKey(action));
    const LocalType& value = parent.*localMember;
    if constexpr (!std::is_same_v<LocalType, KeyType>) {
      if (!value) throw UsageError(undefinedKey(action));
      return *value;
    } else {
      if constexpr (localIndex == ParentMeta::primaryKey && generatedKey<Parent>) {
        if (!parent.isPersisted()) throw UsageError(undefinedKey(action));
      }
      return value;
    }
  }

  static void setForeignKey(Related& child, const KeyType& key) { child.*foreignMember = key; }
  /// The child's foreign key; empty when it is an empty std::optional.
  static std::optional<KeyType> foreignKeyOf(const Related& child) { return child.*foreignMember; }

  static const std::string& foreignColumn() { return Sql<Related>::column(foreignIndex); }

  /// Adds the relation's onQuery conditions to a query it builds.
  static void constrain(Query<Related>& q) {
    if constexpr (!std::is_same_v<std::remove_cv_t<decltype(Field::onQuery)>, NoConstraint>)
      QueryAccess::constrain<Field::onQuery>(q, name);
  }
};

struct RelationAccess {
  template <class R, keys K, auto Q>
  static std::vector<R>& items(HasMany<R, K, Q>& relation) noexcept {
    return relation.items_;
  }
  template <class R, keys K, auto Q>
  static void setLoaded(HasMany<R, K, Q>& relation, std::vector<R> items) {
    relation.items_ = std::move(items);
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

template <auto Relation, class M, class F>
void preloadRelation(std::span<M> parents, const Connection& connection, const F& constraint) {
  static_assert(isRelationMember<Relation>(), KITH_NOT_A_RELATION);
  if constexpr (isRelationMember<Relation>()) {
    using Info = HasManyInfo<Relation>;
    static_assert(std::is_same_v<typename Info::Parent, M>, "kith: preload<...>() names a relation of another model");
    if constexpr (Info::ok && std::is_same_v<typename Info::Parent, M>) {
      using Related = typename Info::Related;
      using Key = typename Info::KeyType;
      if (parents.empty()) return;  // no parents: no query, and the callback is never called

      // Parents by key, de-duplicated in parent order.
      std::unordered_map<Key, std::size_t> groupOf;
      std::vector<Key> distinct;
      std::vector<std::size_t> parentGroup(parents.size());
      for (std::size_t i = 0; i < parents.size(); ++i) {
        auto key = Info::parentKey(parents[i], "preload");
        auto [it, inserted] = groupOf.try_emplace(key, distinct.size());
        if (inserted) distinct.push_back(std::move(key));
        parentGroup[i] = it->second;
      }

      Query<Related> base(connection);
      QueryAccess::preloading(base, Info::name, Info::foreignColumn());
      Info::constrain(base);
      constraint(base);
      auto& selected = QueryAccess::selected(base);
      if (!selected.empty() && std::find(selected.begin(), selected.end(), Info::foreignIndex) == selected.end())
        selected.push_back(Info::foreignIndex);

      // Children go straight to their parent's list, in row order. With nested preloads they are
      // collected first, so that each nested relation is loaded for all of them in one query.
      std::vector<std::vector<Related>> grouped(distinct.size());
      const auto place = [&](Related&& child) {
        if (const auto key = Info::foreignKeyOf(child))
          if (auto it = groupOf.find(*key); it != groupOf.end()) grouped[it->second].push_back(std::move(child));
      };
      const bool nested = QueryAccess::hasPreloads(base);
      std::vector<Related> children;
      const auto load = [&](std::string condition, std::vector<Value> values) {
        Query<Related> chunk = base;
        chunk.scope(std::move(condition), std::move(values));
        if (!nested) {
          QueryAccess::forEachRow(chunk, place);
        } else if (auto rows = QueryAccess::fetch(chunk); children.empty()) {
          children = std::move(rows);
        } else {
          children.insert(children.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
        }
      };
      auto& backend = connection.backend();
      std::optional<Value> array;
      if (backend.takesArrays()) {  // every key in one array parameter: one statement, one cached plan
        std::vector<Value> keys;
        keys.reserve(distinct.size());
        for (const auto& key : distinct) keys.push_back(Codec<Key>::toValue(key));
        array = backend.arrayOf(keys);
      }
      if (array) {
        load(Info::foreignColumn() + " = ANY(?)", {std::move(*array)});
      } else {
        // IN lists padded to a power of two (repeating the last key), so that few distinct statements
        // reach the cache, and chunked under the host-parameter limit.
        const auto limit = static_cast<std::size_t>(std::max(1, backend.variableLimit()));
        const std::size_t used = QueryAccess::boundValues(base);
        if (used >= limit)
          throw UsageError("kith: the preload constraint of \"" + std::string(Info::name) + "\" uses every host parameter");
        const std::size_t maxChunk = floorPow2(limit - used);
        for (std::size_t at = 0; at < distinct.size();) {
          const std::size_t n = std::min(maxChunk, distinct.size() - at);
          const std::size_t padded = std::min(maxChunk, std::bit_ceil(n));
          std::string in = Info::foreignColumn() + " IN (";
          std::vector<Value> values;
          values.reserve(padded);
          for (std::size_t k = 0; k < padded; ++k) {
            in += k ? ", ?" : "?";
            values.push_back(Codec<Key>::toValue(distinct[at + std::min(k, n - 1)]));
          }
          load(in + ")", std::move(values));
          at += n;
        }
      }
      if (nested) {
        QueryAccess::runPreloads(base, std::span<Related>(children));
        for (auto& child : children) place(std::move(child));
      }
      std::vector<std::size_t> parentsLeft(distinct.size(), 0);
      for (std::size_t g : parentGroup) ++parentsLeft[g];
      for (std::size_t i = 0; i < parents.size(); ++i) {
        const std::size_t g = parentGroup[i];
        auto& relation = parents[i].*Relation;
        if (--parentsLeft[g] == 0)
          RelationAccess::setLoaded(relation, std::move(grouped[g]));
        else
          RelationAccess::setLoaded(relation, grouped[g]);  // parents sharing a key each get a copy
      }
    }
  }
}

/// `user.related<&User::posts>()`: reads and writes of one parent's related rows. Every write runs
/// in one transaction (a savepoint inside the parent's or the given transaction), saves the parent
/// first when it is new or dirty, forces the foreign key from the parent, and on failure leaves no
/// row behind and every object as it was.
template <class Parent, auto Relation>
class RelatedClient {
  static_assert(isRelationMember<Relation>(), KITH_NOT_A_RELATION);
  using Info = HasManyInfo<Relation>;
  static_assert(std::is_same_v<typename Info::Parent, Parent>, "kith: related<...>() names a relation of another model");
  static_assert(Info::ok, "kith: this relation's keys are wrong; see the first error above");

 public:
  using Related = typename Info::Related;
  using Key = typename Info::KeyType;

  RelatedClient(Parent& parent, const Connection* connection) : parent_(parent) {
    if (connection) connection_ = *connection;
  }

  /// A query on the related table constrained to this parent, in its own AND group.
  Query<Related> query() const {
    Connection connection = connectionFor("select");  // first: the more basic of the two errors
    return scoped(std::move(connection), Info::parentKey(parent_, "select"));
  }

  /// Inserts one related row and returns it persisted.
  Related create(Related values) {
    std::vector<Related> one;
    one.push_back(std::move(values));
    return std::move(createMany(std::move(one)).front());
  }

  /// Inserts the rows with multi-row INSERTs; returns them persisted, in input order, with ids.
  std::vector<Related> createMany(std::vector<Related> rows) {
    if (rows.empty()) return rows;
    std::vector<Related*> pointers;
    for (auto& row : rows) pointers.push_back(&row);
    insertAll(pointers, [&](Transaction&, const Key& key) {
      for (Related* row : pointers) Info::setForeignKey(*row, key);
    });
    appendLoaded(rows);
    return rows;
  }

  /// Inserts (new) or updates (persisted: moving it to this parent) one related model, in place.
  void save(Related& child) { saveMany(std::span<Related>(&child, 1)); }

  /// save() for each model of a range, in place: new ones with multi-row INSERTs, persisted ones
  /// with an UPDATE of what changed.
  template <std::ranges::range R>
  requires std::is_same_v<std::remove_cvref_t<std::ranges::range_reference_t<R>>, Related>
  void saveMany(R&& children) {
    std::vector<Related*> all;
    for (auto& child : children) all.push_back(&child);
    if (all.empty()) return;
    std::vector<typename Persist<Related>::Snapshot> before;
    std::vector<typename Info::ForeignType> foreignBefore;
    for (Related* child : all) {
      before.push_back(Persist<Related>::take(*child));
      foreignBefore.push_back((*child).*Info::foreignMember);
    }
    std::vector<Related*> fresh;
    try {
      insertAll(fresh, [&](Transaction& trx, const Key& key) {
        for (Related* child : all) {
          Info::setForeignKey(*child, key);
          if (child->isPersisted()) {
            // The relation sets the foreign key: write it even where select<>() left it out.
            if (const auto* st = Persist<Related>::stateIf(*child); st && !st->loaded[Info::foreignIndex])
              Persist<Related>::template markDirty<Info::foreignMember>(*child);
            Persist<Related>::save(*child, trx);
          } else {
            fresh.push_back(child);
          }
        }
      });
    } catch (...) {
      for (std::size_t i = 0; i < all.size(); ++i) {
        Persist<Related>::restore(*all[i], std::move(before[i]));
        (*all[i]).*Info::foreignMember = foreignBefore[i];
      }
      throw;
    }
    if (auto& relation = parent_.*Relation; relation.isLoaded()) mergeLoaded(RelationAccess::items(relation), all);
  }

  /// The related row matching `payload` on the `Search` columns (and the foreign key), untouched;
  /// or `payload` inserted when there is none.
  template <auto... Search>
  Related firstOrCreate(Related payload) {
    return findOrWrite<false, Search...>(std::move(payload));
  }

  /// As firstOrCreate, but a match gets the payload's other columns and is saved (dirty columns only).
  template <auto... Search>
  Related updateOrCreate(Related payload) {
    return findOrWrite<true, Search...>(std::move(payload));
  }

  /// For each row, the related row matching it on the `Search` columns (and the foreign key), or the
  /// row inserted; one SELECT for all of them, then multi-row INSERTs. Results in payload order;
  /// rows repeated in the payload map to the same row.
  template <auto... Search>
  std::vector<Related> fetchOrCreateMany(std::vector<Related> rows) {
    return retryingRace([&](std::size_t& matched) { return manyOrCreate<false, Search...>(rows, matched, "fetchOrCreateMany"); });
  }

  /// As fetchOrCreateMany, but matches get the row's other columns and are saved.
  template <auto... Search>
  std::vector<Related> updateOrCreateMany(std::vector<Related> rows) {
    return retryingRace([&](std::size_t& matched) { return manyOrCreate<true, Search...>(rows, matched, "updateOrCreateMany"); });
  }

 private:
  Connection connectionFor(std::string_view action) const {
    if (connection_.hasBackend()) return connection_;
    const auto* state = Persist<Parent>::stateIf(parent_);
    if (!state || !state->connection.hasBackend())
      throw UsageError(detail::format("kith: cannot {} \"{}\": this {} has no connection; save it first, or pass one: related<...>(db)",
                                      action, Info::name, typeName<Parent>));
    return state->connection.live();
  }

  static Query<Related> scoped(Connection connection, const Key& key) {
    Query<Related> q(std::move(connection));
    Info::constrain(q);
    q.scope(Info::foreignColumn() + " = ?", {Codec<Key>::toValue(key)});
    return q;
  }

  /// Runs `body(trx, parentKey)` in one transaction after saving the parent; puts the parent back as
  /// it was when anything fails. Returns the connection the write went through.
  template <class Body>
  Connection write(Body&& body) {
    const Connection connection = connectionFor("persist");
    auto before = Persist<Parent>::take(parent_);
    try {
      connection.transaction([&](Transaction& trx) {
        if (!parent_.isPersisted() || parent_.isDirty()) Persist<Parent>::save(parent_, trx);
        body(trx, Info::parentKey(parent_, "persist"));
      });
    } catch (...) {
      Persist<Parent>::restore(parent_, std::move(before));
      throw;
    }
    return connection;
  }

  /// write() that runs `prepare(trx, parentKey)`, which sets the foreign key of the rows in `fresh`
  /// (and may add rows to it), then inserts `fresh` with multi-row INSERTs, marking the rows
  /// persisted only once the transaction has committed.
  template <class Prepare>
  void insertAll(std::vector<Related*>& fresh, Prepare&& prepare) {
    std::vector<std::int64_t> generated;
    std::shared_ptr<TxState> tx;
    const Connection connection = write([&](Transaction& trx, const Key& key) {
      prepare(trx, key);
      for (Related* row : fresh) Persist<Related>::forgetUndoneKey(*row);
      generated = Persist<Related>::insertMany(fresh, trx);
      tx = trx.transactionState();
    });
    Persist<Related>::markManyInserted(fresh, generated, connection, tx);
  }

  /// Puts saved children into an already loaded list: over the item with the same key, or at the
  /// end. Linear in the list and the children (a hash of the keys), not their product.
  static void mergeLoaded(std::vector<Related>& items, const std::vector<Related*>& children) {
    using RowKey = PrimaryKeyType<Related>;
    constexpr auto key = Persist<Related>::key;
    if constexpr (requires(const RowKey& k) { std::hash<RowKey>{}(k); }) {
      std::unordered_map<RowKey, std::size_t> at;
      at.reserve(items.size() + children.size());
      for (std::size_t i = 0; i < items.size(); ++i) at.try_emplace(items[i].*key, i);
      for (Related* child : children) {
        if (auto [it, added] = at.try_emplace((*child).*key, items.size()); added)
          items.push_back(*child);
        else
          items[it->second] = *child;
      }
    } else {
      for (Related* child : children) {
        const auto sameRow = [&](const Related& item) { return item.*key == (*child).*key; };
        if (auto it = std::find_if(items.begin(), items.end(), sameRow); it != items.end())
          *it = *child;
        else
          items.push_back(*child);
      }
    }
  }

  void appendLoaded(const std::vector<Related>& rows) {
    if (auto& relation = parent_.*Relation; relation.isLoaded()) {
      auto& items = RelationAccess::items(relation);
      items.insert(items.end(), rows.begin(), rows.end());
    }
  }

  template <auto... Search>
  static constexpr bool checkSearch() {
    static_assert(sizeof...(Search) > 0, "kith: name the columns that identify a row: firstOrCreate<&Post::title>(...)");
    return (requireColumn<Related, Search>() && ...);
  }

  template <auto... Search>
  static std::string signature(const Related& row) {
    std::string out;
    (appendSignature(out, Codec<ColumnType<Search>>::toValue(row.*Search)), ...);
    return out;
  }

  static void copyValues(Related& target, const Related& source) {
    Meta<Related>::forEach([&]<std::size_t I, auto Member>() {
      if constexpr (I != Meta<Related>::primaryKey && I != Info::foreignIndex) target.*Member = source.*Member;
    });
  }

  /// Serializes this call with every other find-or-create on this parent's related rows, until the
  /// transaction ends (PostgreSQL; SQLite's write transaction already does).
  static void lockForCreate(Transaction& trx, const Key& key) {
    trx.backend().lockKey(createLockKey(Meta<Related>::table, Info::foreignColumn(), Codec<Key>::toValue(key)));
  }

  /// Runs a find-or-create, `attempt(matched)`, which sets `matched` to the number of rows its
  /// lookup found. When its INSERT meets a unique violation on a database whose writers do not
  /// exclude each other, a writer that does not take kith's lock (a plain create, another program)
  /// may have inserted a row after the lookup: the write was rolled back, and the next attempt
  /// finds that row. Attempts go on while each finds more rows than the one before; a violation
  /// that does not come from such a race reaches the caller after one more attempt.
  template <class Attempt>
  auto retryingRace(Attempt&& attempt) {
    std::size_t matched = 0, before = 0;
    for (bool retried = false;; retried = true) {
      try {
        return attempt(matched);
      } catch (const UniqueViolation&) {
        const auto* backend = connectionFor("persist").usableBackend();
        if (!backend || backend->writersExclusive() || (retried && matched <= before)) throw;
        before = matched;
      }
    }
  }

  template <bool Update, auto... Search>
  Related findOrWrite(Related payload) {
    return retryingRace([&](std::size_t& matched) { return findOrWriteOnce<Update, Search...>(payload, matched); });
  }

  template <bool Update, auto... Search>
  Related findOrWriteOnce(Related& payload, std::size_t& matched) {
    static_assert(checkSearch<Search...>());
    std::optional<Related> found;
    write([&](Transaction& trx, const Key& key) {
      lockForCreate(trx, key);
      auto q = scoped(trx, key);
      (q.template where<Search>(payload.*Search), ...);
      found = q.first();
      matched = found ? 1 : 0;
      if (found) {
        if constexpr (Update) {
          copyValues(*found, payload);
          Persist<Related>::save(*found, trx);
        }
      } else {
        Info::setForeignKey(payload, key);
        Persist<Related>::forgetUndoneKey(payload);
        Persist<Related>::insert(payload, trx);
      }
    });
    if (found) return std::move(*found);
    std::vector<Related> created{payload};
    appendLoaded(created);
    return std::move(payload);
  }

  template <bool Update, auto... Search>
  std::vector<Related> manyOrCreate(std::vector<Related>& rows, std::size_t& matched, std::string_view method) {
    static_assert(checkSearch<Search...>());
    if (rows.empty()) return {};
    for (const auto& row : rows) {
      const auto missing = [&]<auto Member>() {
        if constexpr (Codec<ColumnType<Member>>::nullable) {
          if (!(row.*Member))
            throw UsageError(
                detail::format("kith: value for the \"{}\" is null or undefined inside \"{}\" payload", memberName<Member>, method));
        }
      };
      (missing.template operator()<Search>(), ...);
    }
    std::vector<Related> result(rows.size());
    std::vector<std::size_t> sourceOf(rows.size());  // for repeated payload rows: the first one
    std::vector<Related*> fresh;
    std::vector<std::size_t> freshIndex;
    insertAll(fresh, [&](Transaction& trx, const Key& key) {
      lockForCreate(trx, key);
      std::unordered_map<std::string, std::size_t> existing;
      std::vector<Related> found;
      // One SELECT for the whole payload, chunked only past the host-parameter limit.
      const auto limit = static_cast<std::size_t>(std::max(1, trx.backend().variableLimit()));
      const std::size_t perChunk = std::max<std::size_t>(1, (limit - 1) / sizeof...(Search));
      for (std::size_t at = 0; at < rows.size(); at += perChunk) {
        auto q = scoped(trx, key);
        const std::size_t end = std::min(rows.size(), at + perChunk);
        const auto addIn = [&]<auto Member>() {
          std::vector<ColumnType<Member>> values;
          for (std::size_t i = at; i < end; ++i) values.push_back(rows[i].*Member);
          q.template whereIn<Member>(values);
        };
        (addIn.template operator()<Search>(), ...);
        for (auto& row : q.all()) {
          auto sig = signature<Search...>(row);
          if (existing.try_emplace(std::move(sig), found.size()).second) found.push_back(std::move(row));
        }
      }
      matched = found.size();
      // Payload rows that repeat a key apply in order, the last one winning, whether the row
      // existed (one UPDATE with the final values) or is new (one INSERT with them): a second
      // identical call then changes nothing.
      std::unordered_map<std::string, std::size_t> firstInPayload;
      std::vector<std::pair<std::size_t, std::size_t>> pairs;  // (payload row, the found row it matches)
      std::vector<bool> touched(found.size(), false);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        auto sig = signature<Search...>(rows[i]);
        if (auto it = existing.find(sig); it != existing.end()) {
          if constexpr (Update) {
            copyValues(found[it->second], rows[i]);
            touched[it->second] = true;
          }
          pairs.emplace_back(i, it->second);
          sourceOf[i] = i;
        } else if (auto first = firstInPayload.find(sig); first != firstInPayload.end()) {
          sourceOf[i] = first->second;
          if constexpr (Update) copyValues(rows[first->second], rows[i]);
        } else {
          firstInPayload.emplace(std::move(sig), i);
          sourceOf[i] = i;
          Info::setForeignKey(rows[i], key);
          fresh.push_back(&rows[i]);
          freshIndex.push_back(i);
        }
      }
      if constexpr (Update) {
        for (std::size_t f = 0; f < found.size(); ++f)
          if (touched[f]) Persist<Related>::save(found[f], trx);
      }
      // Payload rows that repeat a match all get the row as saved.
      for (const auto& [row, match] : pairs) result[row] = found[match];
    });
    std::vector<Related> created;
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      result[freshIndex[k]] = std::move(*fresh[k]);
      created.push_back(result[freshIndex[k]]);
    }
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (sourceOf[i] != i) result[i] = result[sourceOf[i]];
    appendLoaded(created);
    return result;
  }

  Parent& parent_;
  Connection connection_;
};

template <auto Relation, auto Target, class M, class F>
void countRelated(M& parent, std::string alias, const F& constraint) {
  static_assert(isRelationMember<Relation>(), KITH_NOT_A_RELATION);
  if constexpr (isRelationMember<Relation>()) {
    using Info = HasManyInfo<Relation>;
    static_assert(std::is_same_v<typename Info::Parent, M>, "kith: loadCount<...>() names a relation of another model");
    if constexpr (Info::ok && std::is_same_v<typename Info::Parent, M> && checkExtraTarget<M, Target>()) {
      if (!parent.isPersisted()) throw UsageError("kith: cannot count the related rows of an unpersisted model instance; save it first");
      Query<typename Info::Related> q(parent.connection());
      constraint(q);
      QueryAccess::requireOnlyConditions(q, "the callback of loadCount<...>()");
      Info::constrain(q);
      q.scope(Info::foreignColumn() + " = ?", {Codec<typename Info::KeyType>::toValue(Info::parentKey(parent, "count"))});
      const Value n = q.count();
      if constexpr (std::is_same_v<decltype(Target), std::nullptr_t>)
        Persist<M>::state(parent).setExtra(alias.empty() ? Info::countAlias() : alias, n);
      else
        parent.*Target = readExtra<ColumnType<Target>>(n, memberName<Target>);
    }
  }
}

}  // namespace detail
}  // namespace kith

// The definition of BaseModel::makeRelated, which needs the checks above.
template <class Self>
template <auto Relation>
auto kith::BaseModel<Self>::makeRelated(const Connection* connection) {
  static_assert(detail::isRelationMember<Relation>(), KITH_NOT_A_RELATION);
  if constexpr (detail::isRelationMember<Relation>()) return detail::RelatedClient<Self, Relation>(self(), connection);
}

#undef KITH_NOT_A_RELATION
