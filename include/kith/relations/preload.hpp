// Preloading and counting, for every relation kind: parent keys de-duplicated, related rows
// fetched in one statement per chunk of keys, matched back to their parents by the kind's
// Cardinality.
#pragma once

#include <kith/detail/function_ref.hpp>
#include <kith/detail/std.hpp>
#include <kith/relations/core.hpp>

#include <bit>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kith::detail {

/// Runs `load(condition, values)` for the related rows whose `column` holds one of `keys`: one
/// array parameter where the database takes one (`= ANY(?)`: one statement, one cached plan);
/// else IN lists padded to a power of two (repeating the last key, so that few distinct
/// statements reach the cache), chunked under the host-parameter limit less the `used` ones.
/// The keys as one array parameter, where the database takes one.
inline std::optional<std::vector<Value>> keysArray(Backend& backend, std::span<const Value> keys) {
  if (!backend.takesArrays()) return std::nullopt;
  auto array = backend.arrayOf(keys);
  if (!array) return std::nullopt;
  std::vector<Value> one;
  one.push_back(std::move(*array));
  return one;
}

inline void loadByKeys(Backend& backend, std::size_t used, std::string_view relation, const std::string& column, std::vector<Value>& keys,
                       FunctionRef<void(std::string, std::vector<Value>)> load) {
  if (auto one = keysArray(backend, keys)) {
    load(column + " = ANY(?)", std::move(*one));
    return;
  }
  const auto limit = static_cast<std::size_t>(std::max(1, backend.variableLimit()));
  if (used >= limit) throw UsageError("kith: the preload constraint of \"" + std::string(relation) + "\" uses every host parameter");
  const std::size_t maxChunk = floorPow2(limit - used);
  for (std::size_t at = 0; at < keys.size();) {
    const std::size_t n = std::min(maxChunk, keys.size() - at);
    const std::size_t padded = std::min(maxChunk, std::bit_ceil(n));
    std::string in = column + " IN (";
    std::vector<Value> values;
    values.reserve(padded);
    for (std::size_t k = 0; k < padded; ++k) {
      in += k ? ", ?" : "?";
      values.push_back(keys[at + std::min(k, n - 1)]);
    }
    load(in + ")", std::move(values));
    at += n;
  }
}

/// What a relation reads with each related row besides the row itself, when its match key lives
/// in a joined table (HasManyThrough, ManyToMany): `Info::Side`, filled by the extra columns
/// `Info::selectKey(q, sides)` adds, one per row in row order. Other kinds read the key from the
/// row (`Info::relatedKeyOf(row)`) and have none.
template <class Info>
concept ReadsSide = requires {
  typename Info::Side;
};

struct NoSide {};

template <class Info>
struct SideOf {
  using type = NoSide;
};
template <ReadsSide Info>
struct SideOf<Info> {
  using type = typename Info::Side;
};

/// Adds one preloaded row to a parent's list: a plain list ignores the side; a kind with more to
/// keep (a ManyToMany's pivot values) overloads it for its list type.
template <class Related, class Side>
void appendRow(std::vector<Related>& list, Related&& row, Side&&) {
  list.push_back(std::move(row));
}

/// The preload of relation `Relation` for `parents`: parents grouped by key (de-duplicated, in
/// parent order), the related query built, then run in one statement per chunk of keys (one on
/// PostgreSQL) and each row placed with its parent's group; the parents' members set last.
template <auto Relation, class M, class F>
class RelationPreload final : public PendingPreload {
  using Info = RelationInfo<Relation>;
  using Related = typename Info::Related;
  using Key = typename Info::KeyType;
  static constexpr Cardinality cardinality = Info::cardinality;
  // What the member holds (a list, a Box, a shared_ptr): one per distinct parent key.
  using Found = std::remove_reference_t<decltype(RelationAccess::value(std::declval<typename Info::Field&>()))>;
  using Side = typename SideOf<Info>::type;
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

 public:
  RelationPreload(std::span<M> parents, const Connection& connection, const F& constraint)
      : parents_(parents), connection_(connection), parentGroup_(parents.size()), base_(connection) {
    // A parent without a key (a NULL foreign key of a BelongsTo) has no related row.
    for (std::size_t i = 0; i < parents.size(); ++i) {
      auto key = Info::matchKey(parents[i], "preload");
      if (!key) {
        parentGroup_[i] = none;
        continue;
      }
      auto [it, inserted] = groupOf_.try_emplace(std::move(*key), distinct_.size());
      if (inserted) distinct_.push_back(Codec<Key>::toValue(it->first));
      parentGroup_[i] = it->second;
    }
    grouped_.resize(distinct_.size());
    if (distinct_.empty()) return;
    // Parents read untracked get their related rows untracked too: the read stays one kind.
    bool untrackedParents = true;
    for (const M& parent : parents) untrackedParents = untrackedParents && Persist<M>::untracked(parent);
    if (untrackedParents) base_.untracked();
    keyColumn_ = Info::keyColumn(base_);
    QueryAccess::preloading(base_, Info::name, keyColumn_);
    Info::constrain(base_);
    constraint(base_);
    if constexpr (cardinality != Cardinality::Many) {
      if (QueryAccess::isGroupLimited(base_))
        throw UsageError(detail::format("kith: cannot apply groupLimit or groupOrderBy to \"{}\": it holds at most one {}", Info::name,
                                        typeName<Related>));
    }
    if constexpr (ReadsSide<Info>)
      Info::selectKey(base_, sides_);
    else
      Info::selectKey(base_);
    // HasOne: without an orderBy in the callback, the related row with the lowest primary key
    // wins when the database holds several for one parent; with one, the first in that order.
    ordered_ = QueryAccess::isOrdered(base_);
    // Rows go straight to their parent's group, in row order. With nested preloads they are
    // collected first, so that each nested relation is loaded for all of them in one query.
    nested_ = QueryAccess::hasPreloads(base_);
  }
  RelationPreload(const RelationPreload&) = delete;
  RelationPreload& operator=(const RelationPreload&) = delete;

  /// Sends the query for every key at once where the keys go as one array (PostgreSQL).
  bool sendAhead() override {
    if (distinct_.empty()) return false;
    auto one = keysArray(connection_.backend(), distinct_);
    if (!one) return false;
    ahead_.emplace(base_);
    QueryAccess::scope(*ahead_, keyColumn_ + " = ANY(?)", std::move(*one));
    if (QueryAccess::sendAhead(*ahead_, run_)) return true;
    run_.reset();
    ahead_.reset();
    return false;
  }

  void read() override {
    if (run_) {
      consume(*ahead_, &*run_);
      run_.reset();
      ahead_.reset();
      return;
    }
    if (distinct_.empty()) return;
    loadByKeys(connection_.backend(), QueryAccess::boundValues(base_), Info::name, keyColumn_, distinct_,
               [&](std::string condition, std::vector<Value> values) {
                 Query<Related> chunk = base_;
                 QueryAccess::scope(chunk, std::move(condition), std::move(values));
                 consume(chunk, nullptr);
               });
  }

  void complete() override {
    if (nested_ && !distinct_.empty()) {
      QueryAccess::runPreloads(base_, std::span<Related>(rows_));
      for (std::size_t i = 0; i < rows_.size(); ++i) {
        if constexpr (ReadsSide<Info>)
          place(std::move(rows_[i]), std::move(sides_[i]));
        else
          place(std::move(rows_[i]), Side{});
      }
    }
    if constexpr (cardinality == Cardinality::SharedOne) {
      for (std::size_t i = 0; i < parents_.size(); ++i)
        RelationAccess::setLoaded(parents_[i].*Relation, parentGroup_[i] == none ? nullptr : grouped_[parentGroup_[i]]);
    } else {
      // The last parent of a group takes the rows; parents sharing a key before it get a copy.
      std::vector<std::size_t> parentsLeft(distinct_.size(), 0);
      for (std::size_t g : parentGroup_)
        if (g != none) ++parentsLeft[g];
      for (std::size_t i = 0; i < parents_.size(); ++i) {
        const std::size_t g = parentGroup_[i];
        auto& relation = parents_[i].*Relation;
        if (g == none)
          RelationAccess::setLoaded(relation, Found{});
        else if (--parentsLeft[g] == 0)
          RelationAccess::setLoaded(relation, std::move(grouped_[g]));
        else
          RelationAccess::setLoaded(relation, grouped_[g]);
      }
    }
  }

 private:
  /// The rows of one chunk's query (`run`: the statement sent ahead for it, if any).
  void consume(const Query<Related>& chunk, Run* run) {
    if (!nested_) {
      QueryAccess::forEachRow(
          chunk,
          [&](Related&& row) {
            if constexpr (ReadsSide<Info>) {
              place(std::move(row), std::move(sides_.back()));
              sides_.clear();
            } else {
              place(std::move(row), Side{});
            }
          },
          run);
    } else if (auto more = QueryAccess::fetch(chunk, run); rows_.empty()) {
      rows_ = std::move(more);
    } else {
      rows_.insert(rows_.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
    }
  }

  void place(Related&& row, Side&& side) {
    std::optional<Key> key;
    if constexpr (ReadsSide<Info>)
      key = std::move(side.key);
    else
      key = Info::relatedKeyOf(row);
    if (!key) return;
    auto it = groupOf_.find(*key);
    if (it == groupOf_.end()) return;
    auto& slot = grouped_[it->second];
    if constexpr (cardinality == Cardinality::Many) {
      appendRow(slot, std::move(row), std::move(side));
    } else if constexpr (cardinality == Cardinality::One) {
      constexpr auto pk = primaryKeyMember<Related>;
      if (!slot || (!ordered_ && row.*pk < (*slot).*pk)) slot = std::move(row);
    } else if (!slot) {  // owner keys are unique; a duplicate one keeps the first row
      slot = std::make_shared<Related>(std::move(row));
    }
  }

  std::span<M> parents_;
  Connection connection_;
  std::unordered_map<Key, std::size_t> groupOf_;
  std::vector<Value> distinct_;
  std::vector<std::size_t> parentGroup_;
  std::vector<Found> grouped_;
  std::vector<Side> sides_;  // what the side's extra columns read, one per row (before base_: it points here)
  Query<Related> base_;
  std::string keyColumn_;
  bool ordered_ = false;
  bool nested_ = false;
  std::vector<Related> rows_;            // with nested preloads: every row, before they are placed
  std::optional<Query<Related>> ahead_;  // the query sent ahead, and its statement
  std::optional<Run> run_;
};

/// A MorphTo's preload (kith/relations/morph.hpp).
template <auto Relation, class M, class F>
class MorphToPreload;

template <auto Relation, class M, class F>
void preloadRelation(std::span<M> parents, const Connection& connection, const F& constraint, PreloadBatch* batch) {
  static_assert(isRelationMember<Relation>(), KITH_NOT_A_RELATION);
  if constexpr (isRelationMember<Relation>()) {
    using Info = RelationInfo<Relation>;
    static_assert(std::is_same_v<typename Info::Parent, M>, "kith: preload<...>() names a relation of another model");
    [[maybe_unused]] typename Info::Check keysChecked;  // the message when the keys are wrong
    if constexpr (Info::ok && std::is_same_v<typename Info::Parent, M>) {
      (void)RelationName<Relation>::registered;
      if (parents.empty()) return;  // no parents: no query, and the callback is never called
      using Load = std::conditional_t < requires { Info::morphTo; }
      , MorphToPreload<Relation, M, F>, RelationPreload < Relation, M, F >> ;
      if (batch) {
        batch->pending.push_back(std::make_unique<Load>(parents, connection, constraint));
        return;
      }
      Load load(parents, connection, constraint);
      load.read();
      load.complete();
    }
  }
}

template <auto Relation, auto Target, class M, class F>
void countRelated(M& parent, std::string alias, const F& constraint) {
  static_assert(isRelationMember<Relation>(), KITH_NOT_A_RELATION);
  if constexpr (isRelationMember<Relation>()) {
    using Info = RelationInfo<Relation>;
    static_assert(std::is_same_v<typename Info::Parent, M>, "kith: loadCount<...>() names a relation of another model");
    constexpr bool morphTo = requires { Info::morphTo; };
    static_assert(!morphTo, "kith: loadCount<...>() of a MorphTo would count 0 or 1: test the loaded relation instead");
    [[maybe_unused]] typename Info::Check keysChecked;
    if constexpr (!morphTo && Info::ok && std::is_same_v<typename Info::Parent, M> && checkExtraTarget<M, Target>()) {
      if (!parent.isPersisted()) throw UsageError("kith: cannot count the related rows of an unpersisted model instance; save it first");
      Query<typename Info::Related> q(parent.connection());
      // The relation's scope (and joins) first, so that the callback may name a joined table's columns.
      const auto key = Info::matchKey(parent, "count");
      if (key) Info::scopeTo(q, *key);
      const std::size_t joins = QueryAccess::joinCount(q);
      constraint(q);
      QueryAccess::requireOnlyConditions(q, "the callback of loadCount<...>()", joins);
      Value n{std::int64_t{0}};
      if (key) n = q.count();  // no key (a NULL foreign key): nothing to count
      if constexpr (std::is_same_v<decltype(Target), std::nullptr_t>)
        Persist<M>::state(parent).setExtra(alias.empty() ? Info::countAlias() : alias, n);
      else
        parent.*Target = readExtra<ColumnType<Target>>(n, memberName<Target>);
    }
  }
}

}  // namespace kith::detail
