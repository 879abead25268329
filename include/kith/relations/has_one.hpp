// kith::HasOne: a one-to-one relationship from the side the foreign key points at,
// `kith::HasOne<Profile> profile;` in User.
#pragma once

#include <kith/relations/children.hpp>
#include <kith/relations/core.hpp>
#include <kith/relations/preload.hpp>

namespace kith {

/// A one-to-one relationship whose foreign key is on the related model: `kith::HasOne<Profile>
/// profile;` in User, with `userId` on Profile. Keys and OnQuery as HasMany's. Once loaded it holds
/// at most one model: `if (user.profile) use(user.profile->bio);` — `isLoaded()` tells a relation
/// never loaded from one loaded and empty. Copying the parent copies the related model.
///
/// Nothing in the database stops a parent from having several related rows; give the foreign key
/// a unique index. When it has several, preload and firstOrCreate take the one with the lowest
/// primary key (or, in a preload whose callback orders the rows, the first in that order).
template <class Related, keys Keys = keys{}, auto OnQuery = detail::NoConstraint{}>
class HasOne : public detail::OneMember<Related, detail::Box<Related>, HasOne<Related, Keys, OnQuery>> {
  static_assert(!Keys.ownerKey[0], "kith: a HasOne names its keys with .foreignKey and .localKey; .ownerKey is for a BelongsTo");

 public:
  static constexpr std::string_view kindName = "HasOne";
  using related_type = Related;
  static constexpr keys relationKeys = Keys;
  static constexpr auto onQuery = OnQuery;
};

namespace detail {

/// `user.related<&User::profile>()`: HasMany's client without its many-row methods.
template <class Parent, auto Relation>
class HasOneClient : private ChildrenClient<Parent, Relation> {
  using Base = ChildrenClient<Parent, Relation>;

 public:
  using Base::Base;
  using typename Base::Related;
  /// A query on the related table constrained to this parent, in its own AND group.
  using Base::query;
  /// Inserts the related row (foreign key set from the parent, the parent saved first).
  using Base::create;
  /// Inserts (new) or updates (persisted: moving it to this parent) the related model, in place.
  /// It does not touch a related row the parent had already: give the foreign key a unique index.
  using Base::save;
  /// The parent's related row that matches `payload` on the `Search` columns, untouched; or
  /// `payload` inserted when there is none. With no columns (`firstOrCreate<>(payload)`): the
  /// parent's related row, created from `payload` when it has none.
  using Base::firstOrCreate;
  /// As firstOrCreate, but a match gets the payload's other columns and is saved.
  using Base::updateOrCreate;
};

template <class R, keys K, auto Q>
struct RelationTraits<HasOne<R, K, Q>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : KeyPairInfo<Relation, true> {
    static constexpr Cardinality cardinality = Cardinality::One;
  };
  template <class Parent, auto Relation>
  using Client = HasOneClient<Parent, Relation>;
};

}  // namespace detail
}  // namespace kith
