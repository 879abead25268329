// kith::BelongsTo: the inverse of HasMany and HasOne, declared on the model that holds the foreign
// key: `kith::BelongsTo<User> author;` in Post.
#pragma once

#include <kith/relations/core.hpp>
#include <kith/relations/preload.hpp>

#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace kith {

/// The model this one points at through its foreign key: `kith::BelongsTo<User> author;` in Post,
/// with `userId` on Post. Keys: `kith::keys{.foreignKey = "authorId", .ownerKey = "uuid"}` (see
/// kith::keys); OnQuery as HasMany's. `Related` may be incomplete where the member is declared.
///
/// Once loaded it is a nullable handle to the owner: `if (post.author) use(post.author->email);`,
/// and `isLoaded()` tells "never loaded" from "loaded, no owner" (a NULL foreign key). A preload
/// gives every model that points at the same owner the same object, so 10,000 posts of 10 users
/// hold 10 users; a change made through one post's handle is seen through the others'.
template <class Related, keys Keys = keys{}, auto OnQuery = detail::NoConstraint{}>
class BelongsTo : public detail::OneMember<Related, std::shared_ptr<Related>, BelongsTo<Related, Keys, OnQuery>> {
  static_assert(!Keys.localKey[0], "kith: a BelongsTo names its keys with .foreignKey and .ownerKey; .localKey is for HasMany and HasOne");

 public:
  static constexpr std::string_view kindName = "BelongsTo";
  using related_type = Related;
  static constexpr keys relationKeys = Keys;
  static constexpr auto onQuery = OnQuery;

  /// The owner, shared with the other models a preload gave it to.
  const std::shared_ptr<Related>& shared() const { return this->loaded(); }
};

namespace detail {

/// `post.related<&Post::author>()`: the owner's query, associate and dissociate.
template <class Parent, auto Relation>
class BelongsToClient : public ClientBase<Parent, Relation> {
  using Base = ClientBase<Parent, Relation>;
  using Base::connectionFor;
  using Base::parent_;
  using typename Base::Info;

 public:
  using Base::Base;
  using typename Base::Key;
  using typename Base::Related;

  /// A query on the owner's table constrained to this model's owner (none when the foreign key is
  /// NULL); its update() and remove() act on the owner row.
  Query<Related> query() const {
    Query<Related> q(connectionFor("select"));
    if (const auto key = Info::matchKey(parent_, "select")) {
      Info::scopeTo(q, *key);
    } else {
      Info::constrain(q);
      q.scope("1 = 0", {});
    }
    return q;
  }

  /// Makes `owner` this model's owner, in one transaction: saves `owner` first when it is new or
  /// dirty, sets the foreign key, saves this model. Afterwards the relation holds `owner` (a copy
  /// of it). When anything fails, neither row is written and both objects are as they were.
  void associate(Related& owner) {
    const Connection connection = connectionFor("associate");
    auto parentBefore = Persist<Parent>::take(parent_);
    auto ownerBefore = Persist<Related>::take(owner);
    auto foreignBefore = parent_.*Info::foreignMember;
    try {
      connection.transaction([&](Transaction& trx) {
        if (!owner.isPersisted() || owner.isDirty()) Persist<Related>::save(owner, trx);
        parent_.*Info::foreignMember = ownerKey(owner);
        Info::markForeignKey(parent_);
        Persist<Parent>::save(parent_, trx);
      });
    } catch (...) {
      Persist<Related>::restore(owner, std::move(ownerBefore));
      Persist<Parent>::restore(parent_, std::move(parentBefore));
      parent_.*Info::foreignMember = std::move(foreignBefore);
      throw;
    }
    RelationAccess::setLoaded(parent_.*Relation, std::make_shared<Related>(owner));
  }

  /// Clears the foreign key (NULL) and saves this model (an INSERT when it is new); afterwards the
  /// relation is loaded and empty. A compile error when the foreign key column cannot hold NULL.
  void dissociate() {
    constexpr bool nullable = Codec<typename Info::ForeignType>::nullable;
    static_assert(nullable,
                  "kith: dissociate() sets the foreign key to NULL, but it is not a std::optional column; declare it "
                  "std::optional<...> to allow a model without an owner, or point it at another owner with associate()");
    if constexpr (nullable) {
      const Connection connection = connectionFor("dissociate");
      auto before = Persist<Parent>::take(parent_);
      auto foreignBefore = parent_.*Info::foreignMember;
      try {
        parent_.*Info::foreignMember = std::nullopt;
        Info::markForeignKey(parent_);
        Persist<Parent>::save(parent_, connection);
      } catch (...) {
        Persist<Parent>::restore(parent_, std::move(before));
        parent_.*Info::foreignMember = std::move(foreignBefore);
        throw;
      }
      RelationAccess::setLoaded(parent_.*Relation, nullptr);
    }
  }

 private:
  /// The owner's key, or Lucid's error naming it when it has none.
  static Key ownerKey(const Related& owner) {
    const auto undefined = [] {
      return UsageError(undefinedKey("associate", Info::name, typeName<Related>, memberName<Info::ownerMember>));
    };
    auto key = keyIn<Key, Related, Info::ownerIndex>(owner, undefined);
    if (!key) throw undefined();
    return std::move(*key);
  }
};

template <class R, keys K, auto Q>
struct RelationTraits<BelongsTo<R, K, Q>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : KeyPairInfo<Relation, false> {
    static constexpr Cardinality cardinality = Cardinality::SharedOne;
  };
  template <class Parent, auto Relation>
  using Client = BelongsToClient<Parent, Relation>;
};

}  // namespace detail
}  // namespace kith
