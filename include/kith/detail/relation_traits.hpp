// The vocabulary through which Query, BaseModel and createTables reach relations, whatever their
// kind: each kind (kith/relations/*.hpp) specialises RelationTraits for its member type.
#pragma once

#include <kith/detail/meta.hpp>

#include <type_traits>

namespace kith::detail {

/// What a relation member's type is. Each kind specialises it with `isRelation = true`,
/// `Info<Relation>` (its compile-time facts: keys, checks, correlation, how preload matches) and
/// `Client<Parent, Relation>` (the type related<...>() returns).
template <class Field>
struct RelationTraits {
  static constexpr bool isRelation = false;
};

template <auto Relation>
using RelationField = std::remove_cv_t<typename MemberPointer<std::remove_cv_t<decltype(Relation)>>::Type>;

template <auto Relation>
constexpr bool isRelationMember() {
  if constexpr (MemberPointer<std::remove_cv_t<decltype(Relation)>>::valid)
    return RelationTraits<RelationField<Relation>>::isRelation;
  else
    return false;
}

/// Everything kith knows about one relation member at compile time (its kind's Info).
template <auto Relation>
struct RelationInfo : RelationTraits<RelationField<Relation>>::template Info<Relation> {};

}  // namespace kith::detail

#define KITH_NOT_A_RELATION                                                                                                          \
  "kith: related<...>(), preload<...>() and load<...>() need a relation member, like a kith::HasMany<Post>, kith::HasOne<Profile>, " \
  "kith::BelongsTo<User>, kith::HasManyThrough<Post, User> or kith::ManyToMany<Skill>; this member is not one"
