// What kith knows about a model at compile time: its columns, their names, its table and its
// primary key, with the checks that turn a wrong declaration into a readable error.
#pragma once

#include <kith/detail/names.hpp>
#include <kith/error.hpp>
#include <kith/types.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace kith {

/// One column-name override, for a model's `static constexpr kith::ColumnName columnNames[]`.
struct ColumnName {
  std::string_view property;
  std::string_view column;
};

/// One JSON name override, for a model's `static constexpr kith::JsonName jsonNames[]` (read by
/// kith/json.hpp): `{"userId", "authorId"}` renames a column or relation in JSON,
/// `{"passwordHash", kith::hidden}` leaves it out (and refuses it in merge unless allowed).
struct JsonName {
  std::string_view property;
  std::string_view name;
};
/// The JSON name of a property JSON leaves out.
inline constexpr std::string_view hidden{};

namespace detail {

template <auto... Members>
struct ColumnList {};

template <class T>
struct MemberPointer {
  static constexpr bool valid = false;
};
template <class C, class T>
struct MemberPointer<T C::*> {
  static constexpr bool valid = !std::is_function_v<T>;
  using Class = C;
  using Type = T;
};

template <auto A, auto B>
constexpr bool sameMember() {
  if constexpr (std::is_same_v<decltype(A), decltype(B)>)
    return A == B;
  else
    return false;
}

template <class M>
concept HasTableOverride = requires {
  { M::table } -> std::convertible_to<std::string_view>;
}
&&!std::is_member_object_pointer_v<decltype(&M::table)>;

template <class M>
concept HasColumnNameOverrides = requires {
  M::columnNames[0].property;
};

template <class M>
concept HasPrimaryKeyOverride = requires {
  M::primaryKey;
}
&&std::is_member_object_pointer_v<std::remove_cv_t<decltype(M::primaryKey)>>;

template <class M>
constexpr std::string_view columnNameOverride(std::string_view property) {
  if constexpr (HasColumnNameOverrides<M>) {
    for (const auto& entry : M::columnNames)
      if (entry.property == property) return entry.column;
  }
  return {};
}

/// What kith can tell about one entry of `columns`, without complaining: the complaint is
/// CheckColumn's, instantiated once for its message (CheckModel), so that nothing reading these
/// facts turns one mistake into a cascade of errors.
template <class M, auto Member>
struct ColumnFacts {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Member)>>;
  static constexpr bool isDataMember = Pointer::valid;
  static constexpr bool ownMember = [] {
    if constexpr (Pointer::valid)
      return std::is_same_v<typename Pointer::Class, M>;
    else
      return false;
  }();
  static constexpr bool supported = [] {
    if constexpr (Pointer::valid)
      return SupportedColumnType<typename Pointer::Type>;
    else
      return false;
  }();
  static constexpr bool ok = isDataMember && ownMember && supported;
};

/// The checks on one entry of `columns`; the compiler names the model and the member when one fails.
template <class M, std::size_t Index, auto Member, bool IsDataMember, bool OwnMember, bool Supported>
struct CheckColumn {
  static_assert(IsDataMember, "kith: every entry of `columns` must be a pointer to a data member, like &User::email");
  static_assert(!IsDataMember || OwnMember,
                "kith: a member in this model's `columns` belongs to another type; list only the model's own members (&Model::name)");
  static_assert(!IsDataMember || !OwnMember || Supported,
                "kith: this column's C++ type is not supported; use bool, an integer, float/double, std::string, kith::Blob, an "
                "enum, std::chrono::sys_time, std::optional of one of these, or specialize kith::column_traits<T>");
};

template <class M, auto Member>
struct ColumnNameOf {
  static constexpr std::string_view property = memberName<Member>;
  static constexpr auto snake = snakeCase<2 * property.size() + 1>(property);
  static constexpr std::string_view column = columnNameOverride<M>(property).empty() ? snake.view() : columnNameOverride<M>(property);
};

template <class M>
struct TableNameOf {
  static constexpr auto buffer = tableNameFor<2 * typeName<M>.size() + 4>(typeName<M>);
  static constexpr std::string_view value = [] {
    if constexpr (HasTableOverride<M>)
      return std::string_view{M::table};
    else
      return buffer.view();
  }();
};

/// A character kith's SQL assembly reserves (QueryCore's mark for a query's own columns): never
/// in an identifier or a raw SQL fragment.
inline constexpr char reservedMark = '\x1f';

inline void requireNoMark(std::string_view sql, std::string_view where) {
  if (sql.find(reservedMark) != std::string_view::npos)
    throw UsageError("kith: the SQL given to " + std::string(where) +
                     " holds the control character 0x1F, which kith reserves; bind such a value as a parameter instead");
}

inline std::string quote(std::string_view identifier) {
  requireNoMark(identifier, "an identifier");
  std::string out;
  out.reserve(identifier.size() + 2);
  out.push_back('"');
  for (char c : identifier) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

template <class M, class List = std::remove_cv_t<decltype(M::columns)>>
struct Meta;

/// The compile-time description of model M, from its `columns` declaration. It holds no
/// assertion (CheckModel does): an invalid model still gets a description (`valid`,
/// `noDuplicates` or `hasPrimaryKey` false), so that the code using it compiles quietly after the
/// one error that says what is wrong.
template <class M, auto... Members>
struct Meta<M, ColumnList<Members...>> {
  static constexpr std::size_t count = sizeof...(Members);
  static constexpr bool valid = (ColumnFacts<M, Members>::ok && ...);  // every column usable

  static constexpr std::array<std::string_view, count> properties{memberName<Members>...};
  static constexpr std::array<std::string_view, count> columns{ColumnNameOf<M, Members>::column...};
  static constexpr std::string_view table = TableNameOf<M>::value;

  template <auto Member>
  static constexpr std::size_t indexOf() {
    std::size_t index = 0, found = count;
    ((sameMember<Member, Members>() ? (found = index, ++index) : ++index), ...);
    return found;
  }

  template <auto Member>
  static constexpr bool has = indexOf<Member>() < count;

  static constexpr std::size_t indexOfProperty(std::string_view property) {
    for (std::size_t i = 0; i < count; ++i)
      if (properties[i] == property) return i;
    return count;
  }

  static constexpr bool noDuplicates = [] {
    for (std::size_t i = 0; i < count; ++i)
      for (std::size_t j = i + 1; j < count; ++j)
        if (properties[i] == properties[j] || columns[i] == columns[j]) return false;
    return true;
  }();

  static constexpr std::size_t primaryKeyFound = [] {
    if constexpr (HasPrimaryKeyOverride<M>)
      return indexOf<M::primaryKey>();
    else
      return indexOfProperty("id");
  }();
  static constexpr bool hasPrimaryKey = primaryKeyFound < count;
  static constexpr std::size_t primaryKey = hasPrimaryKey ? primaryKeyFound : 0;  // 0 stands in for a missing one

  /// Calls f.template operator()<Index, Member>() for each column, in declaration order.
  template <class F>
  static constexpr void forEach(F&& f) {
    if constexpr (valid)  // an invalid model has had its error; say nothing more about it
      [&]<std::size_t... I>(std::index_sequence<I...>) { (f.template operator()<I, Members>(), ...); }
    (std::make_index_sequence<sizeof...(Members)>{});
  }

  /// Calls f.template operator()<Index, Member>() for column `index` (a run-time value).
  template <class F>
  static void visit(std::size_t index, F&& f) {
    forEach([&]<std::size_t I, auto Member>() {
      if (I == index) f.template operator()<I, Member>();
    });
  }
};

/// The checks on a model's declaration, instantiated for their messages where a model is first
/// used (a query, a save, a find, createMany, createTables); nothing reads from it.
template <class M, class Indices, auto... Members>
struct CheckColumns;
template <class M, std::size_t... Index, auto... Members>
struct CheckColumns<M, std::index_sequence<Index...>, Members...>
    : CheckColumn<M, Index, Members, ColumnFacts<M, Members>::isDataMember, ColumnFacts<M, Members>::ownMember,
                  ColumnFacts<M, Members>::supported>... {};

template <class M, class List = std::remove_cv_t<decltype(M::columns)>>
struct CheckModel;
template <class M, auto... Members>
struct CheckModel<M, ColumnList<Members...>> : CheckColumns<M, std::make_index_sequence<sizeof...(Members)>, Members...> {
  static_assert(sizeof...(Members) > 0, "kith: a model must declare at least one column in `columns`");
  static_assert(!Meta<M>::valid || Meta<M>::noDuplicates,
                "kith: this model's `columns` lists a member twice, or two members map to the same column name");
  static_assert(!Meta<M>::valid || Meta<M>::hasPrimaryKey,
                "kith: this model has no primary key column; declare a member `id` in `columns`, or set "
                "`static constexpr auto primaryKey = &Model::member;` to one that is");
};

template <class M, std::size_t I>
constexpr auto nthMember() {
  return []<auto... Members>(ColumnList<Members...>) { return std::get<I>(std::tuple{Members...}); }
  (std::remove_cv_t<decltype(M::columns)>{});
}

template <class M>
inline constexpr auto primaryKeyMember = nthMember<M, Meta<M>::primaryKey>();

template <class M>
using PrimaryKeyType = typename MemberPointer<std::remove_cv_t<decltype(primaryKeyMember<M>)>>::Type;

/// An integer primary key is generated by the database when it is 0 on insert.
template <class M>
inline constexpr bool generatedKey = std::is_integral_v<PrimaryKeyType<M>> && !std::is_same_v<PrimaryKeyType<M>, bool>;

template <auto Member>
using ColumnType = typename MemberPointer<std::remove_cv_t<decltype(Member)>>::Type;

/// The check behind every `where<&M::col>`, `orderBy<...>`, `select<...>`: the compiler shows the
/// model and the member in the lines around this message.
template <class M, auto Member>
constexpr bool requireColumn() {
  constexpr bool isColumn = Meta<M>::template has<Member>;
  static_assert(isColumn,
                "kith: this member is not a declared column of the model; add it to the model's "
                "`static constexpr auto columns = kith::columns<...>` or name a column that is there");
  return isColumn;
}

/// A column's value type: T for T and for std::optional<T>.
template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
};

/// The check behind a condition or orderBy on a query of M: a column of M, or of another model
/// (which the query must join: checked when the condition is added).
template <class M, auto Member>
constexpr bool requireQueryColumn() {
  using Pointer = MemberPointer<std::remove_cv_t<decltype(Member)>>;
  if constexpr (!Pointer::valid || std::is_same_v<typename Pointer::Class, M>) {
    return requireColumn<M, Member>();
  } else {
    constexpr bool ofModel = requires { Pointer::Class::columns; };
    static_assert(ofModel,
                  "kith: this member belongs to a class that is not a kith model; name a column of the queried model or of a joined one");
    if constexpr (ofModel)
      return requireColumn<typename Pointer::Class, Member>();
    else
      return false;
  }
}

/// The checks on join<Left, Right>(): two columns of two different models, of one type (an
/// optional on either side is its value type).
template <auto Left, auto Right>
constexpr bool requireJoinColumns() {
  using L = MemberPointer<std::remove_cv_t<decltype(Left)>>;
  using R = MemberPointer<std::remove_cv_t<decltype(Right)>>;
  constexpr bool members = L::valid && R::valid;
  static_assert(members, "kith: join<&A::column, &B::column>() takes two data member pointers, like join<&Post::userId, &User::id>()");
  if constexpr (members) {
    constexpr bool leftModel = requires { L::Class::columns; };
    constexpr bool rightModel = requires { R::Class::columns; };
    constexpr bool models = leftModel && rightModel;
    static_assert(models, "kith: join<&A::column, &B::column>(): both members must belong to kith models");
    if constexpr (models) {
      constexpr bool twoModels = !std::is_same_v<typename L::Class, typename R::Class>;
      static_assert(twoModels,
                    "kith: join<...>() of a model with itself needs a table alias, which joins do not take yet; use whereHas on a self "
                    "relation, or whereRaw");
      constexpr bool columns = Meta<typename L::Class>::template has<Left> && Meta<typename R::Class>::template has<Right>;
      static_assert(columns, "kith: join<&A::column, &B::column>(): both members must be declared columns of their models");
      constexpr bool sameType = std::is_same_v<typename Unwrap<typename L::Type>::type, typename Unwrap<typename R::Type>::type>;
      static_assert(!columns || sameType,
                    "kith: join<&A::column, &B::column>() compares two columns of different types; join columns of one type (std::optional "
                    "of it allowed on either side)");
      return twoModels && columns && sameType;
    }
  }
  return false;
}

}  // namespace detail

/// The persisted members of a model, by member pointer: `kith::columns<&User::id, &User::email>`.
template <auto... Members>
inline constexpr detail::ColumnList<Members...> columns{};

}  // namespace kith
