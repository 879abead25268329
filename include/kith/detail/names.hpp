// Compile-time names: type and member names read from the compiler, and the naming strategy
// (snake_case, plural table names, camelCase foreign keys) applied to them.
#pragma once

#include <cstddef>
#include <string_view>

namespace kith::detail {

/// A name built at compile time. Derived names live in fixed char arrays because Clang 14 with
/// libstdc++ 12 cannot evaluate a constexpr std::string.
template <std::size_t Capacity>
struct NameBuffer {
  char chars[Capacity + 1]{};
  std::size_t size = 0;

  constexpr void push(char c) { chars[size++] = c; }
  constexpr void append(std::string_view s) {
    for (char c : s) push(c);
  }
  constexpr std::string_view view() const { return {chars, size}; }
};

// The signature functions return `auto`: a spelled-out return type would appear in the text.
template <class T>
constexpr auto typeSignature() {
  return std::string_view{__PRETTY_FUNCTION__};
}
template <auto Member>
constexpr auto memberSignature() {
  return std::string_view{__PRETTY_FUNCTION__};
}

/// The template argument as printed: GCC "[with T = X]", Clang "[T = X]".
constexpr std::string_view templateArgument(std::string_view signature) {
  const auto start = signature.find(" = ") + 3;
  const auto end = signature.rfind(']');
  return signature.substr(start, end - start);
}

/// "ns::Outer<int>::Inner<a::b>" -> "Inner": template arguments are removed before namespaces,
/// because they may contain "::" themselves.
template <std::size_t Capacity>
constexpr NameBuffer<Capacity> unqualified(std::string_view qualified) {
  NameBuffer<Capacity> stripped;
  int depth = 0;
  for (char c : qualified) {
    if (c == '<')
      ++depth;
    else if (c == '>')
      --depth;
    else if (depth == 0 && c != ' ')
      stripped.push(c);
  }
  const auto view = stripped.view();
  const auto colon = view.rfind("::");
  NameBuffer<Capacity> result;
  result.append(colon == std::string_view::npos ? view : view.substr(colon + 2));
  return result;
}

template <class T>
struct TypeNameOf {
  static constexpr std::string_view qualified = templateArgument(typeSignature<T>());
  static constexpr auto buffer = unqualified<qualified.size()>(qualified);
};

/// The unqualified name of T without template arguments: `ns::BlogPost` -> "BlogPost".
template <class T>
inline constexpr std::string_view typeName = TypeNameOf<T>::buffer.view();

template <auto Member>
struct MemberNameOf {
  static constexpr std::string_view qualified = templateArgument(memberSignature<Member>());
  static constexpr auto buffer = unqualified<qualified.size()>(qualified);
};

/// The name of the member a member pointer names: `&User::email` -> "email".
template <auto Member>
inline constexpr std::string_view memberName = MemberNameOf<Member>::buffer.view();

constexpr bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool isLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool isDigit(char c) { return c >= '0' && c <= '9'; }
constexpr char toLower(char c) { return isUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char toUpper(char c) { return isLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

/// snake_case as lodash spells it: "userId" -> "user_id", "BlogPost" -> "blog_post",
/// "HTTPServer" -> "http_server".
template <std::size_t Capacity>
constexpr void appendSnake(NameBuffer<Capacity>& out, std::string_view in) {
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (isUpper(c) && i > 0) {
      const char prev = in[i - 1];
      const bool nextLower = i + 1 < in.size() && isLower(in[i + 1]);
      if (isLower(prev) || isDigit(prev) || (isUpper(prev) && nextLower)) out.push('_');
    }
    out.push(toLower(c));
  }
}

/// English plural of the last word, by the common rules; irregular plurals ("people") are set
/// by overriding the model's table.
template <std::size_t Capacity>
constexpr void pluralize(NameBuffer<Capacity>& name) {
  const auto s = name.view();
  const auto endsWith = [&](std::string_view suffix) { return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix; };
  if (s.size() >= 2 && s.back() == 'y' && std::string_view{"aeiou"}.find(s[s.size() - 2]) == std::string_view::npos) {
    --name.size;
    name.append("ies");
  } else if (endsWith("s") || endsWith("x") || endsWith("z") || endsWith("ch") || endsWith("sh")) {
    name.append("es");
  } else {
    name.push('s');
  }
}

/// camelCase of a snake_case name: "blog_post_id" -> "blogPostId".
template <std::size_t Capacity>
constexpr NameBuffer<Capacity> camelFromSnake(std::string_view snake) {
  NameBuffer<Capacity> out;
  bool upperNext = false;
  for (char c : snake) {
    if (c == '_') {
      upperNext = out.size > 0;
      continue;
    }
    out.push(upperNext ? toUpper(c) : c);
    upperNext = false;
  }
  return out;
}

template <std::size_t Capacity>
constexpr NameBuffer<Capacity> snakeCase(std::string_view in) {
  NameBuffer<Capacity> out;
  appendSnake(out, in);
  return out;
}

/// Default table name: plural snake_case of the type name.
template <std::size_t Capacity>
constexpr NameBuffer<Capacity> tableNameFor(std::string_view typeName) {
  auto out = snakeCase<Capacity>(typeName);
  pluralize(out);
  return out;
}

/// Default foreign key: camelCase(parent type name + "_" + primary key property).
template <std::size_t Capacity>
constexpr NameBuffer<Capacity> foreignKeyFor(std::string_view parentType, std::string_view primaryKey) {
  NameBuffer<Capacity> snake;
  appendSnake(snake, parentType);
  snake.push('_');
  appendSnake(snake, primaryKey);
  return camelFromSnake<Capacity>(snake.view());
}

// Self-checks: if a compiler prints signatures differently, fail here rather than misname tables.
namespace name_probe {
struct BlogPost {
  int authorId;
};
template <class T>
struct Wrapper {
  struct Inner {};
};
}  // namespace name_probe
static_assert(typeName<name_probe::BlogPost> == "BlogPost", "kith: this compiler prints type names in an unsupported format");
static_assert(typeName<name_probe::Wrapper<name_probe::BlogPost>::Inner> == "Inner",
              "kith: this compiler prints nested type names in an unsupported format");
static_assert(memberName<&name_probe::BlogPost::authorId> == "authorId",
              "kith: this compiler prints member pointers in an unsupported format");
static_assert(snakeCase<16>("userId").view() == "user_id");
static_assert(snakeCase<16>("HTTPServer").view() == "http_server");
static_assert(tableNameFor<16>("BlogPost").view() == "blog_posts");
static_assert(tableNameFor<16>("Category").view() == "categories");
static_assert(tableNameFor<16>("Day").view() == "days");
static_assert(tableNameFor<16>("Box").view() == "boxes");
static_assert(foreignKeyFor<16>("BlogPost", "id").view() == "blogPostId");

}  // namespace kith::detail
