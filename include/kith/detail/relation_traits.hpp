// The vocabulary through which Query, BaseModel and createTables reach relations, whatever their
// kind: each kind (kith/relations/*.hpp) specialises RelationTraits for its member type.
#pragma once

#include <kith/detail/meta.hpp>

#include <string_view>
#include <type_traits>
#include <vector>

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

/// One address per type, without RTTI: what tells member types apart.
template <class T>
inline constexpr char typeKey = 0;

/// A relation member kith has met, by its member type: what the message about reading a relation
/// nothing loaded names, since a member's type does not know the member's name.
struct NamedRelation {
  const void* field;  // &typeKey<member type>
  std::string_view parent;
  std::string_view member;
};
inline std::vector<NamedRelation>& namedRelations() {
  static std::vector<NamedRelation> names;
  return names;
}

/// Registers `Relation` at the program's start (before main: the initialisation of a static
/// member); instantiated by related<...>(), preload<...>() and load<...>() of it.
template <auto Relation>
struct RelationName {
  static inline const bool registered = [] {
    using Parent = typename MemberPointer<std::remove_cv_t<decltype(Relation)>>::Class;
    namedRelations().push_back({&typeKey<RelationField<Relation>>, typeName<Parent>, memberName<Relation>});
    return true;
  }();
};

}  // namespace kith::detail

#define KITH_NOT_A_RELATION                                                                                                          \
  "kith: related<...>(), preload<...>() and load<...>() need a relation member, like a kith::HasMany<Post>, kith::HasOne<Profile>, " \
  "kith::BelongsTo<User>, kith::HasManyThrough<Post, User>, kith::ManyToMany<Skill>, kith::MorphMany<Comment, ...>, "                \
  "kith::MorphOne<Image, ...> or kith::MorphTo<Post, Video>; this member is not one"
