// kith::BaseModel: the base of every model, with persistence (save, destroy, refresh) and the
// static entry points (query, find, create, createMany).
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/persist.hpp>
#include <kith/error.hpp>
#include <kith/query.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kith {

namespace detail {
/// BaseModel::loadCount (defined in kith/relations/preload.hpp).
template <auto Relation, auto Target, class M, class F>
void countRelated(M& parent, std::string alias, const F& constraint);
}  // namespace detail

/// The base of a model: `struct User : kith::BaseModel<User> { ... }`. It keeps the persistence
/// state (persisted or not, what is dirty, the connection or transaction it belongs to) behind one
/// pointer, so models stay aggregates: `User{.email = "a@b.c"}`. The states of the models one
/// query reads or one createMany writes share a few allocations (kith/detail/state.hpp).
template <class Self>
class BaseModel {
 public:
  BaseModel() = default;
  BaseModel(const BaseModel&) = default;  // the copy gets a state of its own
  BaseModel(BaseModel&&) noexcept = default;
  BaseModel& operator=(const BaseModel&) = default;
  BaseModel& operator=(BaseModel&&) noexcept = default;
  ~BaseModel() = default;

  /// True once the row exists: after a save, or when loaded. False again after destroy(), or
  /// when the transaction that inserted it was rolled back.
  bool isPersisted() const noexcept { return state_ && state_->exists(); }

  /// True when save() would write something: a new model, or a column changed since it was read or saved.
  bool isDirty() const { return detail::Persist<Self>::dirtyColumns(self()).any(); }

  /// Property names of the columns save() would write.
  std::vector<std::string_view> dirty() const {
    const auto columns = detail::Persist<Self>::dirtyColumns(self());
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i]) out.push_back(detail::Meta<Self>::properties[i]);
    return out;
  }

  bool isDeleted() const noexcept { return state_ && state_->isDeleted(); }

  /// The next save() writes these columns whatever they hold: for a column that select<>() left
  /// out, whose value kith cannot tell from one you assigned (save() refuses such a model until
  /// each left-out column is marked or assigned a different value).
  template <auto... Members>
  requires(sizeof...(Members) > 0) void markDirty() {
    if constexpr ((detail::requireColumn<Self, Members>() && ...)) detail::Persist<Self>::template markDirty<Members...>(self());
  }

  /// INSERT when new (the generated id is written back), else UPDATE of the dirty columns only;
  /// no SQL when nothing changed. The model then remembers `connection` (or the transaction).
  void save(const Connection& connection) { detail::Persist<Self>::save(self(), connection); }

  /// save() through the connection or transaction the model came from.
  void save() { detail::Persist<Self>::save(self(), detail::Persist<Self>::connectionOf(self(), "save")); }

  /// save() without the model's hooks (Lucid's saveQuietly); timestamps are still stamped.
  void saveQuietly(const Connection& connection) { detail::Persist<Self>::template save<false>(self(), connection); }
  void saveQuietly() { detail::Persist<Self>::template save<false>(self(), detail::Persist<Self>::connectionOf(self(), "save")); }

  /// DELETE of this row; the model is no longer persisted and cannot be saved again. A model with
  /// soft deletes is trashed instead: its soft-delete column (and updatedAt) set to now in its
  /// row, which reads leave out from then on; the model stays persisted (trashed() is true).
  void destroy() { detail::Persist<Self>::destroy(self()); }
  /// destroy() without the model's hooks.
  void destroyQuietly() { detail::Persist<Self>::template destroy<false>(self()); }

  /// Of a model with soft deletes: whether it is trashed (its soft-delete column holds a time).
  template <class S = Self>
  bool trashed() const {
    if constexpr (detail::requireSoftDeletes<S>()) return (self().*detail::SoftDeletes<S>::column).has_value();
    return false;
  }
  /// Of a model with soft deletes: brings back its trashed row (beforeRestore, the UPDATE of its
  /// soft-delete column to NULL and of updatedAt, afterRestore). kith::UsageError when it is not
  /// trashed, kith::NotFound when its row is gone.
  template <class S = Self>
  void restore() {
    if constexpr (detail::requireSoftDeletes<S>()) detail::Persist<S>::restoreTrashed(self());
  }
  /// Of a model with soft deletes: DELETE of its row, trashed or not (beforeForceDelete,
  /// beforeDelete, the DELETE, afterDelete, afterForceDelete); as destroy() of a model without.
  template <class S = Self>
  void forceDelete() {
    if constexpr (detail::requireSoftDeletes<S>()) detail::Persist<S>::template destroy<true, true>(self());
  }

  /// Reads the row again, replacing every column; kith::NotFound when it was deleted.
  void refresh() { detail::Persist<Self>::refresh(self()); }

  /// Binds the model to a connection or transaction for later calls that take none.
  void useConnection(const Connection& connection) { detail::Persist<Self>::useConnection(self(), connection); }

  /// The connection or transaction the model uses; kith::UsageError when it has none.
  Connection connection() const { return detail::Persist<Self>::connectionOf(self(), "use"); }

  /// The client of one relation of this model: `user.related<&User::posts>().createMany({...})`.
  /// Writes go through the model's own connection or transaction, or through `connection`.
  template <auto Relation>
  auto related() & {
    return makeRelated<Relation>(nullptr);
  }
  template <auto Relation>
  auto related(const Connection& connection) & {
    return makeRelated<Relation>(&connection);
  }
  // The client refers to this model (it saves it, reads its key, appends to its lists): a
  // temporary would be gone before the client is used.
  template <auto Relation>
  auto related() && = delete;
  template <auto Relation>
  auto related(const Connection&) && = delete;

  /// Loads a relation of this one model with one query, optionally constrained like preload.
  template <auto Relation, class F = detail::NoConstraint>
  void load(F constraint = {}) {
    if (!isPersisted()) throw UsageError("kith: cannot lazy load relationship for an unpersisted model instance; save it first");
    detail::preloadRelation<Relation>(std::span<Self>(&self(), 1), connection(), constraint);
  }

  /// Counts the related rows of this one model with one statement. The count lands in `Target`,
  /// a member that is not a column, when one is named (`loadCount<&User::posts, &User::postsCount>()`),
  /// else in the extras under "<relation>_count". The callback's conditions restrict what is counted.
  template <auto Relation, auto Target = nullptr, class F = detail::NoConstraint>
  requires(!std::convertible_to<F, std::string_view>) void loadCount(F constraint = {}) {
    detail::countRelated<Relation, Target>(self(), {}, constraint);
  }
  /// loadCount() into the extras under `alias`.
  template <auto Relation, class F = detail::NoConstraint>
  void loadCount(std::string alias, F constraint = {}) {
    if (alias.empty()) throw UsageError("kith: loadCount() needs a non-empty alias");
    detail::countRelated<Relation, nullptr>(self(), std::move(alias), constraint);
  }

  /// A value a query computed for this row beyond its columns (withCount, withAggregate,
  /// loadCount), by alias, read as T: `user.extra<std::int64_t>("posts_count")`. kith::UsageError
  /// when there is none, or when it is NULL and T is not a std::optional.
  template <class T>
  T extra(std::string_view name) const {
    const Value* value = state_ ? state_->extra(name) : nullptr;
    if (!value)
      throw UsageError(detail::format("kith: this {} has no extra \"{}\"; compute it with withCount, withAggregate or loadCount",
                                      detail::typeName<Self>, name));
    return detail::readExtra<T>(*value, name);
  }
  bool hasExtra(std::string_view name) const noexcept { return state_ && state_->extra(name); }
  /// Every extra, as stored.
  std::span<const std::pair<std::string, Value>> extras() const noexcept {
    if (!state_ || !state_->rare) return {};
    return state_->rare->extras;
  }

  static Query<Self> query(const Connection& connection) { return Query<Self>(connection); }

  // S defers the key type until Self is complete (it is not while BaseModel<Self> is its base).
  template <class S = Self>
  static std::optional<S> find(const Connection& connection, const detail::PrimaryKeyType<S>& id) {
    return detail::Persist<S>::find(connection, id);
  }

  /// find(), read untracked (as Query::untracked() reads): `User::find(db, id, kith::untracked)`.
  template <class S = Self>
  static std::optional<S> find(const Connection& connection, const detail::PrimaryKeyType<S>& id, Untracked) {
    return detail::Persist<S>::template find<false>(connection, id);
  }

  /// find() of a model with soft deletes that finds a trashed row too: `Post::find(db, id, kith::withTrashed)`.
  template <class S = Self>
  static std::optional<S> find(const Connection& connection, const detail::PrimaryKeyType<S>& id, WithTrashed) {
    if constexpr (detail::requireSoftDeletes<S>()) return detail::Persist<S>::template find<true, true>(connection, id);
    return std::nullopt;
  }

  /// find(), or kith::NotFound.
  template <class S = Self>
  static S findOrFail(const Connection& connection, const detail::PrimaryKeyType<S>& id) {
    if (auto found = find<S>(connection, id)) return std::move(*found);
    throw NotFound(detail::Persist<S>::notFound(id));
  }
  /// findOrFail(), read untracked.
  template <class S = Self>
  static S findOrFail(const Connection& connection, const detail::PrimaryKeyType<S>& id, Untracked) {
    if (auto found = find<S>(connection, id, untracked)) return std::move(*found);
    throw NotFound(detail::Persist<S>::notFound(id));
  }

  /// Inserts `values` and returns it persisted.
  static Self create(const Connection& connection, Self values) {
    values.save(connection);
    return values;
  }

  /// Inserts every row with multi-row INSERTs in one transaction (a savepoint inside one already
  /// open) and returns them persisted, in input order, with their ids. When any row fails, no row
  /// is written and none is marked persisted.
  static std::vector<Self> createMany(const Connection& connection, std::vector<Self> rows) {
    std::vector<Self*> pointers;
    pointers.reserve(rows.size());
    for (auto& row : rows) pointers.push_back(&row);
    insertMany(connection, pointers);
    return rows;
  }

 protected:
  template <class>
  friend struct detail::Persist;

  /// The batched insert behind createMany (and the relation clients' createMany and saveMany).
  static void insertMany(const Connection& connection, std::span<Self* const> rows) {
    if (rows.empty()) return;
    std::vector<std::int64_t> keys;
    std::shared_ptr<detail::TxState> tx;
    connection.transaction([&](Transaction& trx) {
      for (Self* row : rows) detail::Persist<Self>::forgetUndoneKey(*row);
      keys = detail::Persist<Self>::insertMany(rows, trx);
      tx = trx.transactionState();
    });
    detail::Persist<Self>::markManyInserted(rows, keys, connection.live(), tx);
  }

 private:
  // Checks the member before the client type is named, so that a wrong member gives one error;
  // the relation's kind names its client.
  template <auto Relation>
  auto makeRelated(const Connection* connection) {
    [[maybe_unused]] detail::CheckModel<Self> modelChecked;  // the message when the model's declaration is wrong
    static_assert(detail::isRelationMember<Relation>(), KITH_NOT_A_RELATION);
    if constexpr (detail::isRelationMember<Relation>()) {
      (void)detail::RelationName<Relation>::registered;
      return typename detail::RelationTraits<detail::RelationField<Relation>>::template Client<Self, Relation>(self(), connection);
    }
  }

  Self& self() noexcept { return static_cast<Self&>(*this); }
  const Self& self() const noexcept { return static_cast<const Self&>(*this); }

  detail::StateRef state_;
};

}  // namespace kith

#include <kith/relations.hpp>  // every relation kind, and what load and loadCount call
