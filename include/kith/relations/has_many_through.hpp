// kith::HasManyThrough: the related rows of the rows a parent has, `kith::HasManyThrough<Post, User>
// posts;` in Country (a country's posts through its users). Read only.
#pragma once

#include <kith/relations/core.hpp>
#include <kith/relations/preload.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kith {

/// The keys of a HasManyThrough<Related, Through> declared in Parent (Lucid's names): the
/// parent's `localKey` (default its primary key) equals Through's `foreignKey` (default
/// camelCase(parent type name + primary key), like countryId), and Through's `throughLocalKey`
/// (default its primary key) equals Related's `throughForeignKey` (default camelCase(Through type
/// name + primary key), like userId).
struct through {
  char localKey[48]{};
  char foreignKey[48]{};
  char throughLocalKey[48]{};
  char throughForeignKey[48]{};
};

/// The related models reached through an intermediate one: `kith::HasManyThrough<Post, User>
/// posts;` in Country reads `SELECT "posts".* FROM "posts" INNER JOIN "users" ON "users"."id" =
/// "posts"."user_id" WHERE "users"."country_id" = ?`. A range once loaded, like HasMany. Read only:
/// write the rows through the relations of the intermediate model (user.related<&User::posts>()).
/// `OnQuery` constrains every query the relation builds, as HasMany's does.
template <class Related, class Through, through Keys = through{}, auto OnQuery = detail::NoConstraint{}>
class HasManyThrough : public detail::ManyMember<Related, HasManyThrough<Related, Through, Keys, OnQuery>> {
 public:
  static constexpr std::string_view kindName = "HasManyThrough";
  using related_type = Related;
  using through_type = Through;
  static constexpr through relationKeys = Keys;
  static constexpr auto onQuery = OnQuery;
};

namespace detail {

/// The checks on the four keys of a HasManyThrough. The compiler prints this template's arguments
/// with the failure: the parent, the relation, the related and intermediate models, the key names.
template <class Parent, auto Relation, class Related, class Through, KeyName LocalKey, KeyName ForeignKey, KeyName ThroughLocalKey,
          KeyName ThroughForeignKey, bool LocalFound, bool ForeignFound, bool ThroughLocalFound, bool ThroughForeignFound,
          bool FirstTypesMatch, bool SecondTypesMatch>
struct CheckThroughKeys {
  static_assert(LocalFound,
                "kith: the HasManyThrough's local key is not a declared column of the parent model; declare it in the parent's "
                "`columns`, or name another with kith::through{.localKey = \"...\"}");
  static_assert(ForeignFound,
                "kith: the HasManyThrough's foreign key is not a declared column of the intermediate model; declare it there (by default "
                "it is camelCase(parent type name + primary key), like countryId), or name another with kith::through{.foreignKey = "
                "\"...\"}");
  static_assert(ThroughLocalFound,
                "kith: the HasManyThrough's through local key is not a declared column of the intermediate model; declare it there, or "
                "name another with kith::through{.throughLocalKey = \"...\"}");
  static_assert(ThroughForeignFound,
                "kith: the HasManyThrough's through foreign key is not a declared column of the related model; declare it there (by "
                "default it is camelCase(intermediate type name + primary key), like userId), or name another with "
                "kith::through{.throughForeignKey = \"...\"}");
  static_assert(!(LocalFound && ForeignFound) || FirstTypesMatch,
                "kith: the HasManyThrough's local key and foreign key have different types; declare them with the same type (either may "
                "be a std::optional of it)");
  static_assert(!(ThroughLocalFound && ThroughForeignFound) || SecondTypesMatch,
                "kith: the HasManyThrough's through local key and through foreign key have different types; declare them with the same "
                "type (either may be a std::optional of it)");
};

template <auto Relation>
struct ThroughInfo {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Relation)>>;
  using Parent = typename Pointer::Class;
  using Field = std::remove_cv_t<typename Pointer::Type>;
  using Related = typename Field::related_type;
  using Through = typename Field::through_type;
  static_assert(!std::is_same_v<Through, Parent> && !std::is_same_v<Through, Related>,
                "kith: a HasManyThrough's intermediate model must differ from the parent and the related model (a table joined with "
                "itself would need an alias)");
  using ParentMeta = Meta<Parent>;
  using ThroughMeta = Meta<Through>;
  using RelatedMeta = Meta<Related>;
  static constexpr through relationKeys = Field::relationKeys;
  static constexpr Cardinality cardinality = Cardinality::Many;

  static constexpr std::string_view name = memberName<Relation>;
  static std::string countAlias() { return std::string(name) + "_count"; }

  static constexpr auto defaultForeignKey = foreignKeyFor<64>(typeName<Parent>, ParentMeta::properties[ParentMeta::primaryKey]);
  static constexpr auto defaultThroughForeignKey = foreignKeyFor<64>(typeName<Through>, ThroughMeta::properties[ThroughMeta::primaryKey]);
  static constexpr std::string_view given(const char* key, std::string_view fallback) { return key[0] ? std::string_view(key) : fallback; }
  static constexpr std::string_view localKey = given(relationKeys.localKey, ParentMeta::properties[ParentMeta::primaryKey]);
  static constexpr std::string_view foreignKey = given(relationKeys.foreignKey, defaultForeignKey.view());
  static constexpr std::string_view throughLocalKey = given(relationKeys.throughLocalKey, ThroughMeta::properties[ThroughMeta::primaryKey]);
  static constexpr std::string_view throughForeignKey = given(relationKeys.throughForeignKey, defaultThroughForeignKey.view());

  static constexpr std::size_t localFound = ParentMeta::indexOfProperty(localKey);
  static constexpr std::size_t foreignFound = ThroughMeta::indexOfProperty(foreignKey);
  static constexpr std::size_t throughLocalFound = ThroughMeta::indexOfProperty(throughLocalKey);
  static constexpr std::size_t throughForeignFound = RelatedMeta::indexOfProperty(throughForeignKey);
  // The primary keys stand in for a missing key, so that only the check complains.
  static constexpr std::size_t parentIndex = localFound < ParentMeta::count ? localFound : ParentMeta::primaryKey;
  static constexpr std::size_t foreignIndex = foreignFound < ThroughMeta::count ? foreignFound : ThroughMeta::primaryKey;
  static constexpr std::size_t throughLocalIndex = throughLocalFound < ThroughMeta::count ? throughLocalFound : ThroughMeta::primaryKey;
  static constexpr std::size_t throughForeignIndex =
      throughForeignFound < RelatedMeta::count ? throughForeignFound : RelatedMeta::primaryKey;
  static constexpr auto parentMember = nthMember<Parent, parentIndex>();
  static constexpr auto foreignMember = nthMember<Through, foreignIndex>();
  static constexpr auto throughLocalMember = nthMember<Through, throughLocalIndex>();
  static constexpr auto throughForeignMember = nthMember<Related, throughForeignIndex>();
  using KeyType = typename Unwrap<ColumnType<parentMember>>::type;
  static constexpr bool firstTypesMatch = std::is_same_v<KeyType, typename Unwrap<ColumnType<foreignMember>>::type>;
  static constexpr bool secondTypesMatch =
      std::is_same_v<typename Unwrap<ColumnType<throughLocalMember>>::type, typename Unwrap<ColumnType<throughForeignMember>>::type>;

  using Check = CheckThroughKeys<Parent, Relation, Related, Through, keyName(localKey), keyName(foreignKey), keyName(throughLocalKey),
                                 keyName(throughForeignKey), (localFound < ParentMeta::count), (foreignFound < ThroughMeta::count),
                                 (throughLocalFound < ThroughMeta::count), (throughForeignFound < RelatedMeta::count), firstTypesMatch,
                                 secondTypesMatch>;
  static constexpr bool ok = localFound < ParentMeta::count && foreignFound < ThroughMeta::count &&
                             throughLocalFound < ThroughMeta::count && throughForeignFound < RelatedMeta::count && firstTypesMatch &&
                             secondTypesMatch;

  /// The intermediate model's foreign key, which a related row's parent key is read from.
  static std::string foreignColumn() { return Sql<Through>::table() + "." + Sql<Through>::column(foreignIndex); }
  static const std::string& parentColumn() { return Sql<Parent>::column(parentIndex); }

  /// The condition that ties a subquery's related rows (joined to the intermediate table by
  /// constrain()) to the outer query's row.
  static std::string correlate(std::string_view, std::string_view parentRef) {
    return foreignColumn() + " = " + std::string(parentRef) + "." + parentColumn();
  }

  /// The index createTables adds: on the intermediate model's foreign key, which every query of
  /// the relation filters by.
  static void schemaSql(const Backend&, std::vector<std::string>& out) {
    out.push_back(columnIndexSql(Sql<Through>::info(), foreignIndex));
  }

  /// The parent's key; empty for a NULL one (no related rows: Lucid raises there, kith does not).
  static std::optional<KeyType> matchKey(const Parent& parent, std::string_view action) {
    const auto undefined = [&] { return UsageError(undefinedKey(action, name, typeName<Parent>, memberName<parentMember>)); };
    return keyIn<KeyType, Parent, parentIndex>(parent, undefined);
  }

  /// Preload reads a related row's parent key from the joined intermediate table, beside the row
  /// (an extra column named like Lucid's, "through_<foreign key column>", kept in the Side).
  static std::string keyColumn(const Query<Related>&) { return foreignColumn(); }
  struct Side {
    std::optional<KeyType> key;
  };
  static void selectKey(Query<Related>& q, std::vector<Side>& sides) {
    static const std::string extra = "through_" + std::string(ThroughMeta::columns[foreignIndex]);
    QueryAccess::addExtra(q, ExtraColumn{foreignColumn(), {}, extra, {}, readKey, &sides});
  }
  static void readKey(Statement& st, int column, void*, const ExtraColumn& self) {
    auto& side = static_cast<std::vector<Side>*>(self.context)->emplace_back();
    if (!st.isNull(column)) Codec<KeyType>::read(st, column, side.key.emplace());
  }

  /// Joins the intermediate table and adds the relation's onQuery conditions: every query the
  /// relation builds starts here.
  /// A trashed intermediate row (of a Through with soft deletes) links nothing.
  static void constrain(Query<Related>& q) {
    q.template join<throughForeignMember, throughLocalMember>();
    if constexpr (SoftDeletes<Through>::enabled)
      QueryAccess::scope(q, Sql<Through>::table() + "." + Sql<Through>::column(SoftDeletes<Through>::index) + " IS NULL", {});
    applyOnQuery<Field>(q, name);
  }

  /// Constrains `q` to the related rows of a parent whose key is `key`.
  static void scopeTo(Query<Related>& q, const KeyType& key) {
    constrain(q);
    QueryAccess::scope(q, foreignColumn() + " = ?", {Codec<KeyType>::toValue(key)});
  }
};

/// related<&Country::posts>(): a query of the related rows; nothing is written through it.
template <class Parent, auto Relation>
class ThroughClient : public ClientBase<Parent, Relation> {
  using Base = ClientBase<Parent, Relation>;
  using Info = typename Base::Info;

 public:
  using Base::Base;
  using typename Base::Related;

  /// The related rows of this parent, the relation's condition in its own AND group; none for a
  /// NULL local key. update() and remove() on it act on those rows of the related table.
  Query<Related> query() const { return this->keyedQuery(); }
};

template <class R, class T, through K, auto Q>
struct RelationTraits<HasManyThrough<R, T, K, Q>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : ThroughInfo<Relation> {};
  template <class Parent, auto Relation>
  using Client = ThroughClient<Parent, Relation>;
};

}  // namespace detail
}  // namespace kith
