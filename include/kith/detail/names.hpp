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

/// Lucid's pluralizer (version 8 of the `pluralize` npm package, which Lucid's naming strategy applies
/// to the snake_case type name), rebuilt so that kith's default table names are Lucid's: first the whole
/// name against irregular words and uncountable words, then suffix rules, the first that matches.
namespace plural {

/// A whole name that Lucid's pluralizer looks up before its rules: its plural, or none when the
/// name stays as it is (an irregular plural already, or an uncountable word).
struct WholeName {
  std::string_view name, plural;
  constexpr WholeName(std::string_view n, std::string_view p = {}) : name(n), plural(p) {}
};

// Filed by their last letter, so that a name is compared with a few of them; in each, the first
// match counts: irregular plurals, then irregular singulars, then uncountable words.
using namespace std::string_view_literals;  // a literal's length without a strlen at compile time
// clang-format off
inline constexpr WholeName ending_a[] = {
    {"genera"sv}, {"viscera"sv}, {"stigmata"sv}, {"stomata"sv}, {"dogmata"sv}, {"lemmata"sv},
    {"schemata"sv}, {"anathemata"sv}, {"stigma"sv, "stigmata"sv}, {"stoma"sv, "stomata"sv},
    {"dogma"sv, "dogmata"sv}, {"lemma"sv, "lemmata"sv}, {"schema"sv, "schemata"sv},
    {"anathema"sv, "anathemata"sv}, {"agenda"sv}, {"media"sv}, {"manga"sv}, {"tuna"sv}
};
inline constexpr WholeName ending_c[] = {{"music"sv}, {"traffic"sv}};
inline constexpr WholeName ending_d[] = {{"adulthood"sv}, {"aid"sv}, {"blood"sv}, {"cod"sv}, {"mud"sv}};
inline constexpr WholeName ending_e[] = {
    {"we"sv}, {"are"sv}, {"were"sv}, {"have"sv}, {"these"sv}, {"those"sv}, {"dice"sv}, {"geese"sv},
    {"me"sv, "us"sv}, {"he"sv, "they"sv}, {"she"sv, "they"sv}, {"axe"sv, "axes"sv}, {"die"sv, "dice"sv},
    {"eave"sv, "eaves"sv}, {"goose"sv, "geese"sv}, {"carve"sv, "carves"sv}, {"valve"sv, "valves"sv},
    {"groove"sv, "grooves"sv}, {"pickaxe"sv, "pickaxes"sv}, {"advice"sv}, {"anime"sv}, {"commerce"sv},
    {"expertise"sv}, {"firmware"sv}, {"garbage"sv}, {"hardware"sv}, {"justice"sv}, {"literature"sv},
    {"moose"sv}, {"pike"sv}, {"police"sv}, {"rice"sv}, {"sewage"sv}, {"software"sv}, {"swine"sv},
    {"welfare"sv}, {"wildlife"sv}
};
inline constexpr WholeName ending_f[] = {
    {"myself"sv, "ourselves"sv}, {"yourself"sv, "yourselves"sv}, {"itself"sv, "themselves"sv},
    {"herself"sv, "themselves"sv}, {"himself"sv, "themselves"sv}, {"themself"sv, "themselves"sv},
    {"proof"sv, "proofs"sv}, {"thief"sv, "thieves"sv}, {"staff"sv}
};
inline constexpr WholeName ending_g[] = {{"clothing"sv}, {"whiting"sv}};
inline constexpr WholeName ending_h[] = {{"teeth"sv}, {"tooth"sv, "teeth"sv}, {"cash"sv}, {"health"sv}, {"research"sv}, {"wealth"sv}};
inline constexpr WholeName ending_i[] = {{"i"sv, "we"sv}, {"graffiti"sv}};
inline constexpr WholeName ending_k[] = {{"elk"sv}, {"homework"sv}, {"housework"sv}};
inline constexpr WholeName ending_l[] = {{"alcohol"sv}, {"mackerel"sv}, {"mail"sv}, {"personnel"sv}};
inline constexpr WholeName ending_m[] = {{"them"sv}, {"bream"sv}};
inline constexpr WholeName ending_n[] = {
    {"oxen"sv}, {"human"sv, "humans"sv}, {"bison"sv}, {"cooperation"sv}, {"digestion"sv}, {"excretion"sv},
    {"fun"sv}, {"information"sv}, {"plankton"sv}, {"pollution"sv}, {"rain"sv}, {"salmon"sv},
    {"transportation"sv}
};
inline constexpr WholeName ending_o[] = {
    {"echo"sv, "echoes"sv}, {"dingo"sv, "dingoes"sv}, {"volcano"sv, "volcanoes"sv},
    {"tornado"sv, "tornadoes"sv}, {"torpedo"sv, "torpedoes"sv}, {"ammo"sv}, {"audio"sv}, {"buffalo"sv}
};
inline constexpr WholeName ending_p[] = {{"carp"sv}, {"shrimp"sv}};
inline constexpr WholeName ending_r[] = {{"butter"sv}, {"flounder"sv}, {"labour"sv}};
inline constexpr WholeName ending_s[] = {
    {"us"sv}, {"ourselves"sv}, {"yourselves"sv}, {"themselves"sv}, {"echoes"sv}, {"dingoes"sv},
    {"volcanoes"sv}, {"tornadoes"sv}, {"torpedoes"sv}, {"axes"sv}, {"yeses"sv}, {"eaves"sv}, {"quizzes"sv},
    {"humans"sv}, {"proofs"sv}, {"carves"sv}, {"valves"sv}, {"looies"sv}, {"thieves"sv}, {"grooves"sv},
    {"pickaxes"sv}, {"is"sv, "are"sv}, {"was"sv, "were"sv}, {"has"sv, "have"sv}, {"this"sv, "these"sv},
    {"genus"sv, "genera"sv}, {"viscus"sv, "viscera"sv}, {"yes"sv, "yeses"sv}, {"analytics"sv},
    {"athletics"sv}, {"chassis"sv}, {"chess"sv}, {"corps"sv}, {"debris"sv}, {"diabetes"sv}, {"gallows"sv},
    {"headquarters"sv}, {"herpes"sv}, {"highjinks"sv}, {"jeans"sv}, {"kudos"sv}, {"mews"sv}, {"news"sv},
    {"pliers"sv}, {"premises"sv}, {"scissors"sv}, {"series"sv}, {"shambles"sv}, {"species"sv},
    {"tennis"sv}
};
inline constexpr WholeName ending_t[] = {
    {"feet"sv}, {"that"sv, "those"sv}, {"foot"sv, "feet"sv}, {"aircraft"sv}, {"equipment"sv}, {"trout"sv},
    {"wildebeest"sv}
};
inline constexpr WholeName ending_u[] = {{"you"sv}, {"thou"sv, "you"sv}};
inline constexpr WholeName ending_x[] = {{"ox"sv, "oxen"sv}};
inline constexpr WholeName ending_y[] = {
    {"they"sv}, {"passersby"sv}, {"looey"sv, "looies"sv}, {"passerby"sv, "passersby"sv}, {"energy"sv},
    {"machinery"sv}, {"only"sv}
};
inline constexpr WholeName ending_z[] = {{"quiz"sv, "quizzes"sv}};
// clang-format on

struct WholeNames {
  const WholeName* first = nullptr;
  std::size_t count = 0;
  template <std::size_t N>
  constexpr WholeNames(const WholeName (&names)[N]) : first(names), count(N) {}
  constexpr WholeNames() = default;
};

constexpr WholeNames wholeNamesEndingIn(char c) {
  switch (c) {
    case 'a':
      return ending_a;
    case 'c':
      return ending_c;
    case 'd':
      return ending_d;
    case 'e':
      return ending_e;
    case 'f':
      return ending_f;
    case 'g':
      return ending_g;
    case 'h':
      return ending_h;
    case 'i':
      return ending_i;
    case 'k':
      return ending_k;
    case 'l':
      return ending_l;
    case 'm':
      return ending_m;
    case 'n':
      return ending_n;
    case 'o':
      return ending_o;
    case 'p':
      return ending_p;
    case 'r':
      return ending_r;
    case 's':
      return ending_s;
    case 't':
      return ending_t;
    case 'u':
      return ending_u;
    case 'x':
      return ending_x;
    case 'y':
      return ending_y;
    case 'z':
      return ending_z;
    default:
      return {};
  }
}

/// A suffix rule: the name ends in one of `stems` followed by one of `endings` (alternatives split
/// by '|'; a stem may hold [abc] or [^abc] for one letter, and start with ^ for the name's start);
/// the ending is replaced by `plural`.
struct Rule {
  std::string_view stems, endings, plural;
  unsigned last;  // the letters a matching name can end in, as bits from 'a' (names_test checks them)
};

/// The bits of `letters` for Rule::last: "ab" -> 0b11.
constexpr unsigned lastLetters(std::string_view letters) {
  unsigned bits = 0;
  for (const char c : letters) bits |= 1u << (c - 'a');
  return bits;
}

/// In order: the first rule that matches applies; none does: add "s" (to a name ending in s, nothing).
// clang-format off
inline constexpr Rule rules[] = {
    {"sheep|pox|o[iu]s|measles|fish|deer|[^aeiou]ese|pokemon|pok\xc3\xa9mon"sv, ""sv, ""sv, lastLetters("ehnprsx")},  // uncountable endings
    {""sv, "man|men"sv, "men"sv, lastLetters("n")},
    {"eaux"sv, ""sv, ""sv, lastLetters("x")},
    {"child"sv, "ren|"sv, "ren"sv, lastLetters("dn")},
    {"pe"sv, "rson|ople"sv, "ople"sv, lastLetters("en")},
    {"^titm|^m|^l"sv, "ice|ouse"sv, "ice"sv, lastLetters("e")},
    {"matr|cod|mur|sil|vert|ind|append"sv, "ix|ex"sv, "ices"sv, lastLetters("x")},
    {"x|ch|ss|sh|zz"sv, ""sv, "es"sv, lastLetters("hsxz")},
    {"[^ch][ieo][ln]"sv, "ey"sv, "ies"sv, lastLetters("y")},
    {"[^aeiouy]|qu"sv, "y"sv, "ies"sv, lastLetters("y")},
    {"kni|wi|li"sv, "fe"sv, "ves"sv, lastLetters("e")},
    {"ar|l|ea|eo|oa|hoo"sv, "f"sv, "ves"sv, lastLetters("f")},
    {""sv, "sis"sv, "ses"sv, lastLetters("s")},
    {"apheli|hyperbat|periheli|asyndet|noumen|phenomen|criteri|organ|prolegomen|hedr|automat"sv, "on|a"sv, "a"sv, lastLetters("an")},
    {"agend|addend|millenni|dat|extrem|bacteri|desiderat|strat|candelabr|errat|ov|symposi|curricul|automat|quor"sv, "um|a"sv, "a"sv, lastLetters("am")},
    {"her|at|gr"sv, "o"sv, "oes"sv, lastLetters("o")},
    {"seraph|cherub"sv, "im|"sv, "im"sv, lastLetters("bhm")},
    {"alumn|alg|vertebr"sv, "ae|a"sv, "ae"sv, lastLetters("ae")},
    {"alumn|syllab|vir|radi|nucle|fung|cact|stimul|termin|bacill|foc|uter|loc|strat"sv, "us|i"sv, "i"sv, lastLetters("is")},
    {"[^l]ias|[aeiou]las|[ejzr]as|[iu]am"sv, ""sv, ""sv, lastLetters("ms")},
    {"e[mn]u"sv, "s|"sv, "s"sv, lastLetters("su")},
    {"alias|[^aou]us|t[lm]as|gas|ris"sv, ""sv, "es"sv, lastLetters("s")},
    {"ax|test"sv, "is"sv, "es"sv, lastLetters("s")}};
// clang-format on

inline constexpr std::size_t npos = std::string_view::npos;

/// The '|'-separated alternative of `list` that starts at `at`; `at` moves past it (to npos after
/// the last).
constexpr std::string_view nextAlternative(std::string_view list, std::size_t& at) {
  const std::size_t bar = list.find('|', at);
  const std::string_view alternative = list.substr(at, bar == npos ? npos : bar - at);
  at = bar == npos ? npos : bar + 1;
  return alternative;
}

/// Where `pattern` (letters, [..] classes, a leading ^) matches `s` so as to end at `end`: the
/// match's start, or npos.
constexpr std::size_t matchEndingAt(std::string_view s, std::size_t end, std::string_view pattern) {
  std::size_t at = end, p = pattern.size();
  while (p > 0) {
    if (p == 1 && pattern[0] == '^') return at == 0 ? 0 : npos;
    if (at == 0) return npos;
    const char c = s[at - 1];
    if (pattern[p - 1] == ']') {
      const std::size_t open = pattern.rfind('[', p - 1);
      std::string_view set = pattern.substr(open + 1, p - open - 2);
      const bool negated = set.front() == '^';
      if (negated) set.remove_prefix(1);
      if ((set.find(c) != npos) == negated) return npos;
      p = open;
    } else {
      if (c != pattern[p - 1]) return npos;
      --p;
    }
    --at;
  }
  return at;
}

/// How many characters at the end of `s` the rule replaces, or npos when it does not match.
constexpr std::size_t replaced(std::string_view s, const Rule& rule) {
  const char c = s.back();  // every rule's match ends in a letter: a digit or '_' matches none
  if (c < 'a' || c > 'z' || (rule.last >> (c - 'a') & 1) == 0) return npos;  // most rules, at the cost of a shift
  for (std::size_t e = 0; e != npos;) {
    const std::string_view ending = nextAlternative(rule.endings, e);
    if (!s.ends_with(ending)) continue;
    for (std::size_t t = 0; t != npos;)
      if (matchEndingAt(s, s.size() - ending.size(), nextAlternative(rule.stems, t)) != npos) return ending.size();
  }
  return npos;
}

}  // namespace plural

/// English plural of a snake_case name, as Lucid's default table names have it: "book_shelf" ->
/// "book_shelves", "person" -> "people", "analysis" -> "analyses", "status" -> "statuses". Irregular
/// and uncountable words count only as the whole name ("quiz" -> "quizzes", "book_quiz" ->
/// "book_quizs"; "information" stays, "user_information" -> "user_informations"), as in Lucid.
template <std::size_t Capacity>
constexpr void pluralize(NameBuffer<Capacity>& name) {
  const std::string_view s = name.view();
  if (static_cast<unsigned char>(s.back()) >= 0x80) return;  // a name ending in a non-ASCII letter stays
  const plural::WholeNames names = plural::wholeNamesEndingIn(s.back());
  for (std::size_t i = 0; i < names.count; ++i)
    if (const plural::WholeName& whole = names.first[i]; whole.name == s) {
      if (!whole.plural.empty()) {
        name.size = 0;
        name.append(whole.plural);
      }
      return;
    }
  for (const auto& rule : plural::rules)
    if (const std::size_t length = plural::replaced(s, rule); length != plural::npos) {
      name.size -= length;
      name.append(rule.plural);
      return;
    }
  if (s.back() != 's') name.push('s');
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
static_assert(tableNameFor<24>("BookShelf").view() == "book_shelves");
static_assert(tableNameFor<16>("Person").view() == "people");
static_assert(foreignKeyFor<16>("BlogPost", "id").view() == "blogPostId");

}  // namespace kith::detail
