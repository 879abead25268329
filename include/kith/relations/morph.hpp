// Polymorphic relations, typed: kith::MorphMany and kith::MorphOne on each owner (Post, Video), and
// kith::MorphTo<Post, Video> on the child (Comment), whose owner types are listed in its type. The
// child's rows name their owner by two columns: a type column holding the owner's morph name (its
// table's name, or the `morphName` it declares) and an id column holding its key. Lucid refuses
// these relations because they "always require a string based join"; here the string never reaches
// the user: a loaded MorphTo is a typed handle (is<Post>(), get<Post>(), visit()), and each owner
// type's rows are read by a query of that type.
#pragma once

#include <kith/relations/children.hpp>
#include <kith/relations/core.hpp>
#include <kith/relations/has_one.hpp>
#include <kith/relations/preload.hpp>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace kith {

/// The two columns of a polymorphic relation, as property names of the child model:
/// `kith::morph{.name = "commentable"}` names `commentableType` (the owner's morph name) and
/// `commentableId` (the owner's key); `.typeKey` and `.idKey` name either column outright.
/// `.localKey` (MorphMany, MorphOne): the owner's column the id column holds, by default its
/// primary key. A MorphTo's name defaults to its member's (`commentable`).
struct morph {
  char name[40]{};
  char typeKey[48]{};
  char idKey[48]{};
  char localKey[48]{};
};

namespace detail {

/// A model's morph name: what a polymorphic relation's type column holds for its rows. Its table's
/// name unless it declares one (`static constexpr std::string_view morphName = "post";`), so that
/// renaming the C++ class — which keeps its rows only by declaring its table — keeps it too.
template <class M>
constexpr std::string_view morphNameOf() {
  if constexpr (requires { M::morphName; })
    return std::string_view(M::morphName);
  else
    return Meta<M>::table;
}

/// A morph column's property name: the one given, else `base` + `suffix` ("commentable" + "Type").
constexpr NameBuffer<47> morphColumn(const char* given, std::string_view base, std::string_view suffix) {
  NameBuffer<47> out;
  if (const std::string_view g(given); !g.empty()) {
    out.append(g.substr(0, 47));
    return out;
  }
  out.append(base.substr(0, 47 - suffix.size()));
  out.append(suffix);
  return out;
}

/// The keys of MorphMany and MorphOne as HasMany's: the foreign key is the id column.
constexpr keys morphOwnerKeys(const morph& m) {
  keys out{};
  const auto id = morphColumn(m.idKey, std::string_view(m.name), "Id");
  for (std::size_t i = 0; i < id.size; ++i) out.foreignKey[i] = id.chars[i];
  for (std::size_t i = 0; i < sizeof m.localKey; ++i) out.localKey[i] = m.localKey[i];
  return out;
}

template <class... T>
struct TypeList {};

/// The checks on a MorphMany's or MorphOne's columns; the compiler prints the arguments.
template <class Parent, auto Relation, class Related, KeyName TypeKey, KeyName IdKey, bool TypeFound, bool TypeIsText, bool IdFound,
          bool LocalFound, bool SameTypes>
struct CheckMorphKeys {
  static_assert(TypeFound,
                "kith: the polymorphic relation's type column is not a declared column of the related model; declare it in its `columns` "
                "(by default it is the morph's name + Type, like commentableType), or name another with kith::morph{.typeKey = \"...\"}");
  static_assert(!TypeFound || TypeIsText,
                "kith: a polymorphic relation's type column holds the owner's morph name; declare it std::string (or "
                "std::optional<std::string>)");
  static_assert(IdFound,
                "kith: the polymorphic relation's id column is not a declared column of the related model; declare it in its `columns` "
                "(by default it is the morph's name + Id, like commentableId), or name another with kith::morph{.idKey = \"...\"}");
  static_assert(LocalFound,
                "kith: the polymorphic relation's local key is not a declared column of the owner; declare it in the owner's `columns`, "
                "or name another with kith::morph{.localKey = \"...\"}");
  static_assert(!(IdFound && LocalFound) || SameTypes,
                "kith: the polymorphic relation's id column and the owner's key have different types; declare them with the same type "
                "(the id column may be a std::optional of it)");
  static constexpr bool ok = TypeFound && TypeIsText && IdFound && LocalFound && SameTypes;
};

/// MorphMany's and MorphOne's facts: HasMany's (the id column is the foreign key) and the type
/// column, which every query the relation builds compares with the owner's morph name and every
/// write sets.
template <auto Relation>
struct MorphOwnerInfo : KeyPairInfo<Relation, true> {
  using Base = KeyPairInfo<Relation, true>;
  using typename Base::Field;
  using typename Base::KeyType;
  using typename Base::Parent;
  using typename Base::Related;
  using RelatedMeta = Meta<Related>;

  static constexpr morph morphKeys = Field::morphKeys;
  static constexpr auto typeKeyName = morphColumn(morphKeys.typeKey, std::string_view(morphKeys.name), "Type");
  static constexpr std::string_view typeKey = typeKeyName.view();
  static constexpr std::size_t typeFound = RelatedMeta::indexOfProperty(typeKey);
  static constexpr std::size_t typeIndex = typeFound < RelatedMeta::count ? typeFound : RelatedMeta::primaryKey;
  static constexpr auto typeMember = nthMember<Related, typeIndex>();
  using TypeType = ColumnType<typeMember>;
  static constexpr bool typeIsText = std::is_same_v<typename Unwrap<TypeType>::type, std::string>;
  static constexpr std::string_view morphName = morphNameOf<Parent>();

  using Check =
      CheckMorphKeys<Parent, Relation, Related, keyName(typeKey), keyName(Base::foreignKey), (typeFound < RelatedMeta::count), typeIsText,
                     (Base::foreignFound < RelatedMeta::count), (Base::ownerFound < Meta<Parent>::count), Base::sameTypes>;
  static constexpr bool ok = Base::ok && typeFound < RelatedMeta::count && typeIsText;

  /// The owner's type, then the relation's onQuery: every query the relation builds starts here.
  static void constrain(Query<Related>& q) {
    QueryAccess::scope(q, QueryAccess::column(q, typeIndex) + " = ?", {Value{std::string(morphName)}});
    applyOnQuery<Field>(q, Base::name);
  }
  static void scopeTo(Query<Related>& q, const KeyType& key) {
    constrain(q);
    QueryAccess::scope(q, QueryAccess::column(q, Base::relatedIndex) + " = ?", {Codec<KeyType>::toValue(key)});
  }

  static void setForeignKey(Related& row, const KeyType& key) {
    Base::setForeignKey(row, key);
    row.*typeMember = std::string(morphName);
  }
  static void markForeignKey(Related& row) {
    Base::markForeignKey(row);
    markSetByRelation<typeMember>(row);
  }
  using ForeignValues = std::pair<typename Base::ForeignType, TypeType>;
  static ForeignValues takeForeign(const Related& row) { return {row.*Base::foreignMember, row.*typeMember}; }
  static void putForeign(Related& row, ForeignValues values) {
    row.*Base::foreignMember = std::move(values.first);
    row.*typeMember = std::move(values.second);
  }
  static constexpr bool isKeyColumn(std::size_t i) { return i == Base::foreignIndex || i == typeIndex; }

  /// The index createTables adds: on (type, id), which every query of the relation filters by.
  static void schemaSql(const Backend&, std::vector<std::string>& out) {
    out.push_back(columnPairIndexSql(Sql<Related>::info(), typeIndex, Base::foreignIndex));
  }
};

}  // namespace detail

/// The rows of a child model that point at this owner through a polymorphic pair of columns:
/// `kith::MorphMany<Comment, kith::morph{.name = "commentable"}> comments;` in Post and in Video,
/// with `commentableType` and `commentableId` on Comment. Everything HasMany does (its client:
/// create, createMany, save, saveMany, the *OrCreate lookups; preload, load, has, whereHas,
/// withCount, withAggregate, loadCount), each query also comparing the type column with the
/// owner's morph name and each write setting it. OnQuery as HasMany's.
template <class Related, morph Morph, auto OnQuery = detail::NoConstraint{}>
class MorphMany : public detail::ManyMember<Related, MorphMany<Related, Morph, OnQuery>> {
  static_assert(Morph.name[0] || (Morph.typeKey[0] && Morph.idKey[0]),
                "kith: a MorphMany names its columns: kith::MorphMany<Comment, kith::morph{.name = \"commentable\"}> for commentableType "
                "and commentableId, or .typeKey and .idKey");

 public:
  static constexpr std::string_view kindName = "MorphMany";
  using related_type = Related;
  static constexpr morph morphKeys = Morph;
  static constexpr keys relationKeys = detail::morphOwnerKeys(Morph);
  static constexpr auto onQuery = OnQuery;
};

/// MorphMany's one-valued twin (HasOne's semantics): `kith::MorphOne<Image, kith::morph{.name =
/// "imageable"}> image;`.
template <class Related, morph Morph, auto OnQuery = detail::NoConstraint{}>
class MorphOne : public detail::OneMember<Related, detail::Box<Related>, MorphOne<Related, Morph, OnQuery>> {
  static_assert(Morph.name[0] || (Morph.typeKey[0] && Morph.idKey[0]),
                "kith: a MorphOne names its columns: kith::MorphOne<Image, kith::morph{.name = \"imageable\"}> for imageableType and "
                "imageableId, or .typeKey and .idKey");

 public:
  static constexpr std::string_view kindName = "MorphOne";
  using related_type = Related;
  static constexpr morph morphKeys = Morph;
  static constexpr keys relationKeys = detail::morphOwnerKeys(Morph);
  static constexpr auto onQuery = OnQuery;
};

namespace detail {

template <class T, class... Owners>
inline constexpr bool isListedOwner = (std::is_same_v<T, Owners> || ...);

/// The loaded MorphTo: none, or one of its owner types, shared with the other children a preload
/// gave the same owner (as BelongsTo's). Reading it before anything loaded it is a
/// kith::UsageError, as for every relation.
template <class Kind, class... Owners>
class MorphToMember {
 public:
  using Storage = std::variant<std::monostate, std::shared_ptr<Owners>...>;

  bool isLoaded() const noexcept { return loaded_; }
  /// True when loaded and there is an owner.
  explicit operator bool() const { return loaded().index() != 0; }

  /// Whether the owner is a T (one of the listed owner types).
  template <class T>
  bool is() const {
    static_assert(isListedOwner<T, Owners...>, "kith: is<T>() of a MorphTo names one of the owner types its type lists");
    if constexpr (isListedOwner<T, Owners...>)
      return std::holds_alternative<std::shared_ptr<T>>(loaded());
    else
      return false;
  }
  /// The owner as a T, or nullptr when it is none or another type.
  template <class T>
  T* getIf() const {
    static_assert(isListedOwner<T, Owners...>, "kith: getIf<T>() of a MorphTo names one of the owner types its type lists");
    if constexpr (isListedOwner<T, Owners...>) {
      const auto* p = std::get_if<std::shared_ptr<T>>(&loaded());
      return p ? p->get() : nullptr;
    } else {
      return nullptr;
    }
  }
  /// The owner as a T; kith::UsageError naming what it holds when it is none or another type.
  template <class T>
  T& get() const {
    if (T* owner = getIf<T>()) return *owner;
    throw UsageError(format("kith: this {} holds {}, not a {}; ask is<{}>() first, or read it with visit()", Kind::kindName, holding(),
                            typeName<T>, typeName<T>));
  }
  /// The owner as a T, shared with the other children that point at it.
  template <class T>
  std::shared_ptr<T> shared() const {
    static_assert(isListedOwner<T, Owners...>, "kith: shared<T>() of a MorphTo names one of the owner types its type lists");
    if constexpr (isListedOwner<T, Owners...>) {
      const auto* p = std::get_if<std::shared_ptr<T>>(&loaded());
      return p ? *p : nullptr;
    } else {
      return nullptr;
    }
  }
  /// `f(owner)` with the owner as its own type: `comment.commentable.visit([](auto& owner) { return
  /// owner.title; })`. Every owner type's call must return the same type. kith::UsageError when
  /// there is no owner: test it first (`if (comment.commentable)`).
  template <class F>
  decltype(auto) visit(F&& f) const {
    using First = std::tuple_element_t<0, std::tuple<Owners...>>;
    using R = std::invoke_result_t<F&, First&>;
    return std::visit(
        [&](const auto& p) -> R {
          if constexpr (std::is_same_v<std::remove_cvref_t<decltype(p)>, std::monostate>)
            throw UsageError(format("kith: visit() of a {} that holds no owner (a NULL type or id); test it first", Kind::kindName));
          else
            return f(*p);
        },
        loaded());
  }
  /// The owner's morph name (what the type column holds for it); empty when there is none.
  std::string_view morphName() const {
    static constexpr std::array<std::string_view, sizeof...(Owners)> names = {morphNameOf<Owners>()...};
    const std::size_t i = loaded().index();
    return i == 0 ? std::string_view() : names[i - 1];
  }

 protected:
  friend struct RelationAccess;
  Storage value_;
  bool loaded_ = false;

  const Storage& loaded() const {
    if (!loaded_) [[unlikely]] {
      std::string owners;
      ((owners += (owners.empty() ? "" : ", ") + std::string(typeName<Owners>)), ...);
      throwNotLoaded(Kind::kindName, owners, &typeKey<Kind>);
    }
    return value_;
  }

 private:
  std::string holding() const {
    static constexpr std::array<std::string_view, sizeof...(Owners)> names = {typeName<Owners>...};
    const std::size_t i = value_.index();
    return i == 0 ? std::string("no owner") : "a " + std::string(names[i - 1]);
  }
};

}  // namespace detail

/// The owner of this model's row, one of the listed types: `kith::MorphTo<Post, Video>
/// commentable;` in Comment, read from its columns `commentableType` (the owner's morph name) and
/// `commentableId`. Once loaded it is a typed handle: `if (c.commentable.is<Post>())
/// use(c.commentable.get<Post>().title);`, or `c.commentable.visit([](auto& owner) { ... })`.
/// Preload reads each owner type present with one statement, none for an absent type; children
/// of one owner share one object. Other columns: kith::MorphToWith<kith::morph{.typeKey = "...",
/// .idKey = "..."}, Post, Video>.
template <morph Morph, class... Owners>
class MorphToWith : public detail::MorphToMember<MorphToWith<Morph, Owners...>, Owners...> {
  static_assert(sizeof...(Owners) > 0, "kith: a MorphTo lists its owner types: kith::MorphTo<Post, Video>");
  static_assert(!Morph.localKey[0], "kith: a MorphTo finds its owners by their primary keys; .localKey is for MorphMany and MorphOne");

 public:
  static constexpr std::string_view kindName = "MorphTo";
  static constexpr morph morphKeys = Morph;
  using owner_types = detail::TypeList<Owners...>;
};

template <class... Owners>
using MorphTo = MorphToWith<morph{}, Owners...>;

namespace detail {

/// The checks on a MorphTo; the compiler prints the arguments.
template <class Child, auto Relation, KeyName TypeKey, KeyName IdKey, bool TypeFound, bool TypeIsText, bool IdFound, bool KeysMatch,
          bool NamesDistinct>
struct CheckMorphTo {
  static_assert(TypeFound,
                "kith: the MorphTo's type column is not a declared column of its model; declare it in `columns` (by default it is the "
                "member's name + Type, like commentableType), or name another with kith::MorphToWith<kith::morph{.typeKey = \"...\"}, "
                "...>");
  static_assert(!TypeFound || TypeIsText,
                "kith: a MorphTo's type column holds its owner's morph name; declare it std::string (or std::optional<std::string>)");
  static_assert(IdFound,
                "kith: the MorphTo's id column is not a declared column of its model; declare it in `columns` (by default it is the "
                "member's name + Id, like commentableId), or name another with kith::MorphToWith<kith::morph{.idKey = \"...\"}, ...>");
  static_assert(!IdFound || KeysMatch,
                "kith: every owner type of a MorphTo needs a primary key of the id column's type (the id column may be a std::optional "
                "of it)");
  static_assert(NamesDistinct,
                "kith: two owner types of this MorphTo have the same morph name (their table's name, or the morphName they declare); "
                "give one `static constexpr std::string_view morphName = \"...\";`");
  static constexpr bool ok = TypeFound && TypeIsText && IdFound && KeysMatch && NamesDistinct;
};

template <auto Relation, class Owners>
struct MorphToInfoOf;
template <auto Relation, class... Owners>
struct MorphToInfoOf<Relation, TypeList<Owners...>> {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Relation)>>;
  using Parent = typename Pointer::Class;
  using Field = std::remove_cv_t<typename Pointer::Type>;
  using ParentMeta = Meta<Parent>;
  static constexpr bool morphTo = true;
  static constexpr std::size_t ownerCount = sizeof...(Owners);
  template <class T>
  static constexpr bool lists = isListedOwner<T, Owners...>;
  static constexpr std::string_view name = memberName<Relation>;
  static constexpr Cardinality cardinality = Cardinality::SharedOne;

  static constexpr morph morphKeys = Field::morphKeys;
  static constexpr std::string_view base = morphKeys.name[0] ? std::string_view(morphKeys.name) : name;
  static constexpr auto typeKeyName = morphColumn(morphKeys.typeKey, base, "Type");
  static constexpr auto idKeyName = morphColumn(morphKeys.idKey, base, "Id");
  static constexpr std::size_t typeFound = ParentMeta::indexOfProperty(typeKeyName.view());
  static constexpr std::size_t idFound = ParentMeta::indexOfProperty(idKeyName.view());
  static constexpr std::size_t typeIndex = typeFound < ParentMeta::count ? typeFound : ParentMeta::primaryKey;
  static constexpr std::size_t idIndex = idFound < ParentMeta::count ? idFound : ParentMeta::primaryKey;
  static constexpr auto typeMember = nthMember<Parent, typeIndex>();
  static constexpr auto idMember = nthMember<Parent, idIndex>();
  using TypeType = ColumnType<typeMember>;
  using IdType = ColumnType<idMember>;
  using KeyType = typename Unwrap<IdType>::type;
  static constexpr bool typeIsText = std::is_same_v<typename Unwrap<TypeType>::type, std::string>;
  static constexpr bool keysMatch = (std::is_same_v<PrimaryKeyType<Owners>, KeyType> && ...);
  static constexpr std::array<std::string_view, ownerCount> morphNames = {morphNameOf<Owners>()...};
  static constexpr bool namesDistinct = [] {
    for (std::size_t i = 0; i < ownerCount; ++i)
      for (std::size_t j = i + 1; j < ownerCount; ++j)
        if (morphNames[i] == morphNames[j]) return false;
    return true;
  }();
  using Check = CheckMorphTo<Parent, Relation, keyName(typeKeyName.view()), keyName(idKeyName.view()), (typeFound < ParentMeta::count),
                             typeIsText, (idFound < ParentMeta::count), keysMatch, namesDistinct>;
  static constexpr bool ok = typeFound < ParentMeta::count && typeIsText && idFound < ParentMeta::count && keysMatch && namesDistinct;

  static std::string countAlias() { return std::string(name) + "_count"; }
  static const std::string& typeColumn() { return Sql<Parent>::column(typeIndex); }
  static const std::string& idColumn() { return Sql<Parent>::column(idIndex); }

  /// Calls `f.template operator()<Owner, I>()` for each owner type, in the order listed.
  template <class F>
  static void forEachOwner(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) { (f.template operator()<Owners, I>(), ...); }
    (std::index_sequence_for<Owners...>{});
  }

  /// The owner type a morph name stands for (its index), or ownerCount for none listed.
  static std::size_t ownerOf(std::string_view morphName) {
    for (std::size_t i = 0; i < ownerCount; ++i)
      if (morphNames[i] == morphName) return i;
    return ownerCount;
  }

  static std::string listed() {
    std::string out;
    forEachOwner([&]<class Owner, std::size_t I>() {
      out += (I ? ", " : "") + std::string(morphNames[I]) + " (" + std::string(typeName<Owner>) + ")";
    });
    return out;
  }

  static void schemaSql(const Backend&, std::vector<std::string>& out) {
    out.push_back(columnPairIndexSql(Sql<Parent>::info(), typeIndex, idIndex));
  }
};

template <auto Relation>
struct MorphToInfo : MorphToInfoOf<Relation, typename RelationField<Relation>::owner_types> {};

/// A relation whose Info is a MorphTo's (its owner is one of several types).
template <auto Relation>
concept MorphToRelation = requires {
  RelationInfo<Relation>::morphTo;
};

/// The preload of a MorphTo: the children grouped by owner type and key, then one query per owner
/// type present (chunked as any preload's keys), each owner shared by its children.
template <auto Relation, class M, class F>
class MorphToPreload final : public PendingPreload {
  using Info = RelationInfo<Relation>;
  using Key = typename Info::KeyType;
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  template <class Owner>
  struct Part {
    std::unordered_map<Key, std::size_t> groupOf;
    std::vector<Value> distinct;
    std::vector<std::shared_ptr<Owner>> found;
  };
  template <class List>
  struct Parts;
  template <class... Owners>
  struct Parts<TypeList<Owners...>> {
    using type = std::tuple<Part<Owners>...>;
  };
  using Storage = typename RelationField<Relation>::Storage;

 public:
  MorphToPreload(std::span<M> parents, const Connection& connection, const F& constraint)
      : parents_(parents), connection_(connection), constraint_(constraint), slots_(parents.size(), {none, none}) {
    for (std::size_t i = 0; i < parents.size(); ++i) {
      const auto undefinedId = [] { return UsageError(undefinedKey("preload", Info::name, typeName<M>, memberName<Info::idMember>)); };
      const std::string_view type = typeOf(parents[i]);
      std::optional<Key> id = keyIn<Key, M, Info::idIndex>(parents[i], undefinedId);
      if (type.empty() || !id) continue;  // no owner
      const std::size_t owner = Info::ownerOf(type);
      if (owner == Info::ownerCount)
        throw Error(
            format("kith: cannot preload \"{}\": a {} holds \"{}\" in {}, which is not the morph name of any owner type its "
                   "MorphTo lists ({}); list that model in its kith::MorphTo<...>, or correct the row",
                   Info::name, typeName<M>, type, Info::typeColumn(), Info::listed()));
      Info::forEachOwner([&]<class Owner, std::size_t I>() {
        if (I != owner) return;
        auto& part = std::get<I>(parts_);
        auto [it, inserted] = part.groupOf.try_emplace(*id, part.distinct.size());
        if (inserted) part.distinct.push_back(Codec<Key>::toValue(it->first));
        slots_[i] = {I, it->second};
      });
    }
    untracked_ = !parents.empty();
    for (const M& parent : parents) untracked_ = untracked_ && Persist<M>::untracked(parent);
  }

  bool sendAhead() override { return false; }

  /// The type column of `parent` without a copy (empty for NULL); the error when select<>() left it out.
  static std::string_view typeOf(const M& parent) {
    const auto* state = Persist<M>::stateIf(parent);
    if (state && state->persisted && !state->light && !Persist<M>::columns(*state).loaded[Info::typeIndex])
      throw UsageError(undefinedKey("preload", Info::name, typeName<M>, memberName<Info::typeMember>));
    const auto& value = parent.*Info::typeMember;
    if constexpr (IsOptional<typename Info::TypeType>::value)
      return value ? std::string_view(*value) : std::string_view();
    else
      return value;
  }

  /// One query per owner type present.
  void read() override {
    Info::forEachOwner([&]<class Owner, std::size_t I>() {
      auto& part = std::get<I>(parts_);
      part.found.resize(part.distinct.size());
      if (part.distinct.empty()) return;
      Query<Owner> q(connection_);
      if (untracked_) q.untracked();
      const std::string keyColumn = QueryAccess::column(q, Meta<Owner>::primaryKey);
      QueryAccess::preloading(q, Info::name, keyColumn);
      constraint_(q);
      if (QueryAccess::isGroupLimited(q))
        throw UsageError(format("kith: cannot apply groupLimit or groupOrderBy to \"{}\": it holds at most one owner", Info::name));
      QueryAccess::selectColumn(q, Meta<Owner>::primaryKey);
      std::vector<Owner> rows;
      loadByKeys(connection_.backend(), QueryAccess::boundValues(q), Info::name, keyColumn, part.distinct,
                 [&](std::string condition, std::vector<Value> values) {
                   Query<Owner> chunk = q;
                   QueryAccess::scope(chunk, std::move(condition), std::move(values));
                   QueryAccess::forEachRow(chunk, [&](Owner&& row) { rows.push_back(std::move(row)); });
                 });
      if (QueryAccess::hasPreloads(q)) QueryAccess::runPreloads(q, std::span<Owner>(rows));
      for (Owner& row : rows) {
        auto it = part.groupOf.find(row.*primaryKeyMember<Owner>);
        if (it != part.groupOf.end() && !part.found[it->second]) part.found[it->second] = std::make_shared<Owner>(std::move(row));
      }
    });
  }

  void complete() override {
    for (std::size_t i = 0; i < parents_.size(); ++i) {
      Storage value;
      const std::size_t owner = slots_[i].first, group = slots_[i].second;  // not a structured binding: Clang 14 cannot capture one
      if (owner != none)
        Info::forEachOwner([&]<class Owner, std::size_t I>() {
          if (I == owner && std::get<I>(parts_).found[group]) value = std::get<I>(parts_).found[group];
        });
      RelationAccess::setLoaded(parents_[i].*Relation, std::move(value));
    }
  }

 private:
  std::span<M> parents_;
  Connection connection_;
  F constraint_;
  std::vector<std::pair<std::size_t, std::size_t>> slots_;  // each parent's (owner type, group), or none
  typename Parts<typename RelationField<Relation>::owner_types>::type parts_;
  bool untracked_ = false;
};

/// `comment.related<&Comment::commentable>()`: associate and dissociate.
template <class Parent, auto Relation>
class MorphToClient {
  using Info = RelationInfo<Relation>;
  static_assert(std::is_same_v<typename Info::Parent, Parent>, "kith: related<...>() names a relation of another model");
  static_assert(Info::ok || sizeof(typename Info::Check) == 0, "kith: this MorphTo's columns are wrong; see the first error above");

 public:
  MorphToClient(Parent& parent, const Connection* connection) : parent_(parent) {
    if (connection) connection_ = *connection;
  }

  /// Makes `owner` (one of the listed types) this model's owner, in one transaction: saves
  /// `owner` first when it is new or dirty, sets the type and id columns, saves this model.
  /// Afterwards the relation holds `owner` (a copy). When anything fails, neither row is written
  /// and both objects are as they were.
  template <class Owner>
  void associate(Owner& owner) {
    static_assert(!std::is_const_v<Owner>, "kith: associate() saves the owner first when it is new or dirty: pass it non-const");
    static_assert(Info::template lists<std::remove_const_t<Owner>>,
                  "kith: associate() takes a model of one of the owner types this MorphTo lists");
    if constexpr (!std::is_const_v<Owner> && Info::template lists<Owner>) associateOwner(owner);
  }

 private:
  template <class Owner>
  void associateOwner(Owner& owner) {
    const Connection connection = clientConnection(parent_, connection_, "associate", Info::name);
    auto parentBefore = Persist<Parent>::take(parent_);
    auto ownerBefore = Persist<Owner>::take(owner);
    auto typeBefore = parent_.*Info::typeMember;
    auto idBefore = parent_.*Info::idMember;
    try {
      connection.transaction([&](Transaction& trx) {
        if (!owner.isPersisted() || owner.isDirty()) Persist<Owner>::save(owner, trx);
        const auto undefined = [] {
          return UsageError(undefinedKey("associate", Info::name, typeName<Owner>, memberName<primaryKeyMember<Owner>>));
        };
        auto key = keyIn<typename Info::KeyType, Owner, Meta<Owner>::primaryKey>(owner, undefined);
        if (!key) throw undefined();
        parent_.*Info::typeMember = std::string(morphNameOf<Owner>());
        parent_.*Info::idMember = std::move(*key);
        markColumns();
        Persist<Parent>::save(parent_, trx);
      });
    } catch (...) {
      Persist<Owner>::restore(owner, std::move(ownerBefore));
      Persist<Parent>::restore(parent_, std::move(parentBefore));
      parent_.*Info::typeMember = std::move(typeBefore);
      parent_.*Info::idMember = std::move(idBefore);
      throw;
    }
    RelationAccess::setLoaded(parent_.*Relation, typename RelationField<Relation>::Storage(std::make_shared<Owner>(owner)));
  }

 public:
  /// Clears both columns (NULL) and saves this model; afterwards the relation is loaded and holds
  /// no owner. A compile error when either column cannot hold NULL.
  void dissociate() {
    constexpr bool nullable = Codec<typename Info::TypeType>::nullable && Codec<typename Info::IdType>::nullable;
    static_assert(nullable,
                  "kith: dissociate() sets the MorphTo's type and id columns to NULL; declare both std::optional<...> to allow a model "
                  "without an owner, or point it at another owner with associate()");
    if constexpr (nullable) {
      const Connection connection = clientConnection(parent_, connection_, "dissociate", Info::name);
      auto before = Persist<Parent>::take(parent_);
      auto typeBefore = parent_.*Info::typeMember;
      auto idBefore = parent_.*Info::idMember;
      try {
        parent_.*Info::typeMember = std::nullopt;
        parent_.*Info::idMember = std::nullopt;
        markColumns();
        Persist<Parent>::save(parent_, connection);
      } catch (...) {
        Persist<Parent>::restore(parent_, std::move(before));
        parent_.*Info::typeMember = std::move(typeBefore);
        parent_.*Info::idMember = std::move(idBefore);
        throw;
      }
      RelationAccess::setLoaded(parent_.*Relation, typename RelationField<Relation>::Storage());
    }
  }

 private:
  /// The relation sets both columns: the next save writes them even where select<>() left them out.
  void markColumns() {
    markSetByRelation<Info::typeMember>(parent_);
    markSetByRelation<Info::idMember>(parent_);
  }

  Parent& parent_;
  Connection connection_;
};

template <class R, morph K, auto Q>
struct RelationTraits<MorphMany<R, K, Q>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : MorphOwnerInfo<Relation> {
    static constexpr Cardinality cardinality = Cardinality::Many;
  };
  template <class Parent, auto Relation>
  using Client = ChildrenClient<Parent, Relation>;
};

template <class R, morph K, auto Q>
struct RelationTraits<MorphOne<R, K, Q>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : MorphOwnerInfo<Relation> {
    static constexpr Cardinality cardinality = Cardinality::One;
  };
  template <class Parent, auto Relation>
  using Client = HasOneClient<Parent, Relation>;
};

template <morph K, class... Owners>
struct RelationTraits<MorphToWith<K, Owners...>> {
  static constexpr bool isRelation = true;
  template <auto Relation>
  struct Info : MorphToInfo<Relation> {};
  template <class Parent, auto Relation>
  using Client = MorphToClient<Parent, Relation>;
};

}  // namespace detail
}  // namespace kith
