// kith::HasMany: a one-to-many relationship, `kith::HasMany<Post> posts;` in User.
#pragma once

#include <kith/relations/children.hpp>
#include <kith/relations/core.hpp>
#include <kith/relations/preload.hpp>

#include <cstddef>
#include <vector>

namespace kith {

/// A one-to-many relationship: `kith::HasMany<Post> posts;` in User. `Related` may be incomplete
/// where the member is declared. It is a range of the related models once loaded (by preload, load
/// or writes through related<...>()); never loaded is not the same as loaded and empty.
///
/// Keys: `kith::keys{.foreignKey = "authorId", .localKey = "uuid"}` (see kith::keys).
/// `OnQuery` constrains every query the relation builds (related query, preload, load, has,
/// whereHas, withCount, the lookups of the *OrCreate methods) with conditions of its own, kept in
/// their own AND group: `kith::HasMany<Post, kith::keys{}, [](auto& q) { q.template where<&Post::published>(true); }>`.
template <class Related, keys Keys = keys{}, auto OnQuery = detail::NoConstraint{}>
class HasMany : public detail::ManyMember<Related, HasMany<Related, Keys, OnQuery>> {
  static_assert(!Keys.ownerKey[0], "kith: a HasMany names its keys with .foreignKey and .localKey; .ownerKey is for a BelongsTo");

 public:
  static constexpr std::string_view kindName = "HasMany";
  using related_type = Related;
  static constexpr keys relationKeys = Keys;
  static constexpr auto onQuery = OnQuery;
};

namespace detail {

template <class R, keys K, auto Q>
struct RelationTraits<HasMany<R, K, Q>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : KeyPairInfo<Relation, true> {
    static constexpr Cardinality cardinality = Cardinality::Many;
  };
  template <class Parent, auto Relation>
  using Client = ChildrenClient<Parent, Relation>;
};

}  // namespace detail
}  // namespace kith
