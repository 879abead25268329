// A libFuzzer target: decodes its input into a sequence of kith calls on an in-memory database
// (create, relation createMany/saveMany/*OrCreate, save, destroy, queries with random conditions,
// relation query update/remove, preload with a constrained query, BelongsTo associate, preloads
// across kinds (BelongsTo with a nested HasOne), transactions that commit or roll back) and checks each against a plain in-memory model of
// the same data: the rows, the ids, which calls fail with a constraint error, and what the caller's objects claim afterwards.
// An input whose first byte is `pivotMarker` also draws ManyToMany calls (attach, detach, detachAll,
// sync with and without values and detaching, toggle, updatePivot, and a preload of the pivot
// values), checked against the model's pivot rows; other inputs decode as before, so the committed
// corpus keeps its meaning.
//
// Any difference aborts with a description. Built with clang's -fsanitize=fuzzer it fuzzes; built
// without, replay_main.cpp runs it over the committed corpus (tests/fuzz/corpus, regressions).
#include <kith/kith.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Book;
struct Genre;

/// The pivot table's own column: CHECK (weight >= 0), so that a pivot write can fail.
struct AuthorGenre {
  std::int64_t weight{};
  static constexpr auto columns = kith::columns<&AuthorGenre::weight>;
};

struct Author : kith::BaseModel<Author> {
  std::int64_t id{};
  std::string name;  // UNIQUE
  std::int64_t rank{};
  kith::HasMany<Book> books;
  kith::HasOne<Book> firstBook;                                // the same foreign key, one-valued: the lowest id wins
  kith::ManyToMany<Genre, kith::pivot{}, AuthorGenre> genres;  // author_genre (author_id, genre_id, weight)

  static constexpr auto columns = kith::columns<&Author::id, &Author::name, &Author::rank>;
};

struct Book : kith::BaseModel<Book> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string title;  // CHECK (title <> '')
  std::int64_t pages{};
  std::optional<std::string> tag;
  kith::BelongsTo<Author> author;

  static constexpr auto columns = kith::columns<&Book::id, &Book::authorId, &Book::title, &Book::pages, &Book::tag>;
};

struct Genre : kith::BaseModel<Genre> {
  std::int64_t id{};
  std::string name;
  static constexpr auto columns = kith::columns<&Genre::id, &Genre::name>;
};

constexpr std::uint8_t pivotMarker = 0xA7;

[[noreturn]] void mismatch(const std::string& what) {
  std::fprintf(stderr, "kith fuzz: %s\n", what.c_str());
  std::abort();
}
/// `text` in quotes, with bytes outside printable ASCII as \xNN: titles may hold any byte.
std::string printable(std::string_view text) {
  std::string out = "'";
  for (const unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out + "'";
}
#define EXPECT(condition, what) \
  if (!(condition)) mismatch(std::string(what) + " (" #condition ")")

// ---------------------------------------------------------------------------------------------
// The oracle: what the tables must hold.

struct AuthorRow {
  std::string name;
  std::int64_t rank;
  bool operator==(const AuthorRow&) const = default;
};
struct BookRow {
  std::int64_t authorId;
  std::string title;
  std::int64_t pages;
  std::optional<std::string> tag;
  bool operator==(const BookRow&) const = default;
};
struct Oracle {
  std::map<std::int64_t, AuthorRow> authors;
  std::map<std::int64_t, BookRow> books;
  std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> pivots;  // (author, genre) -> weight

  /// SQLite's rowid for an INTEGER PRIMARY KEY without AUTOINCREMENT: the largest plus one.
  template <class Rows>
  static std::int64_t nextId(const Rows& rows) {
    return rows.empty() ? 1 : rows.rbegin()->first + 1;
  }
  bool nameTaken(const std::string& name, std::int64_t except) const {
    for (const auto& [id, a] : authors)
      if (a.name == name && id != except) return true;
    return false;
  }
};

AuthorRow rowOf(const Author& a) { return {a.name, a.rank}; }
BookRow rowOf(const Book& b) { return {b.authorId, b.title, b.pages, b.tag}; }

// ---------------------------------------------------------------------------------------------
// Conditions, kept twice: in a kith query, and as SQL's three-valued logic over oracle rows.

enum Tri : std::uint8_t { False, True, Unknown };
Tri both(Tri a, Tri b) { return a == False || b == False ? False : a == True && b == True ? True : Unknown; }
Tri either(Tri a, Tri b) { return a == True || b == True ? True : a == False && b == False ? False : Unknown; }
Tri truth(bool b) { return b ? True : False; }

/// One unit of UTF-8 as SQLite's LIKE reads it: a lead byte >= 0xc0 and its continuation bytes,
/// or one byte.
std::size_t charLength(std::string_view s, std::size_t at) {
  std::size_t n = 1;
  if (static_cast<unsigned char>(s[at]) >= 0xc0)
    while (at + n < s.size() && (static_cast<unsigned char>(s[at + n]) & 0xc0) == 0x80) ++n;
  return n;
}
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// SQLite's LIKE without ESCAPE: % and _, ASCII case folding; text and pattern end at a NUL.
bool like(std::string_view pattern, std::string_view text) {
  pattern = pattern.substr(0, pattern.find('\0'));
  text = text.substr(0, text.find('\0'));
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '%') {
    for (std::size_t at = 0;; at += charLength(text, at)) {
      if (like(pattern.substr(1), text.substr(at))) return true;
      if (at >= text.size()) return false;
    }
  }
  if (text.empty()) return false;
  const std::size_t p = charLength(pattern, 0), t = charLength(text, 0);
  if (pattern[0] == '_') return like(pattern.substr(1), text.substr(t));
  const bool same = p == t && (pattern.substr(0, p) == text.substr(0, t) || (p == 1 && lower(pattern[0]) == lower(text[0])));
  return same && like(pattern.substr(p), text.substr(t));
}

using Test = std::function<Tri(const BookRow&)>;
struct Clause {
  bool isOr;
  Test test;
};

/// AND binds tighter than OR, as in the flat WHERE kith writes.
Tri evaluate(const std::vector<Clause>& clauses, const BookRow& row) {
  if (clauses.empty()) return True;
  Tri result = False, group = clauses[0].test(row);
  for (std::size_t i = 1; i < clauses.size(); ++i) {
    if (clauses[i].isOr) {
      result = either(result, group);
      group = clauses[i].test(row);
    } else {
      group = both(group, clauses[i].test(row));
    }
  }
  return either(result, group);
}

template <class T>
Tri compare(std::string_view op, const T& a, const T& b) {
  if (op == "=") return truth(a == b);
  if (op == "!=") return truth(a != b);
  if (op == "<") return truth(a < b);
  if (op == "<=") return truth(a <= b);
  if (op == ">") return truth(a > b);
  return truth(a >= b);
}

// ---------------------------------------------------------------------------------------------
// Reading the input.

const std::string titles[] = {
    "", "a", "A", "b", "ab", "it's", "50%", "a_b", "x'; DROP TABLE books; --", "%", "_", "Ab", "ü", "\xff\xfe", std::string("nul\0a", 5)};
const std::string patterns[] = {"a%", "%a%", "A%", "_", "__", "%", "a_b", "%'%", "50%", "%b", "nul%", "%_%"};
const std::string names[] = {"ann", "bob", "cy", "ann'", "", "Ann", "dee"};
const std::string_view operators[] = {"=", "!=", "<", "<=", ">", ">="};

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  /// 0 .. n-1.
  std::size_t upTo(std::size_t n) { return byte() % n; }
  bool flip() { return byte() & 1; }
  template <class T, std::size_t N>
  const T& pick(const T (&table)[N]) {
    return table[upTo(N)];
  }
  std::int64_t number() {
    switch (upTo(8)) {
      case 0:
        return std::numeric_limits<std::int64_t>::min();
      case 1:
        return std::numeric_limits<std::int64_t>::max();
      case 2:
        return -1;
      default:
        return static_cast<std::int64_t>(upTo(16));
    }
  }
  std::optional<std::string> tag() {
    switch (upTo(4)) {
      case 0:
        return std::nullopt;
      case 1:
        return "";
      default:
        return std::string(1, static_cast<char>('x' + upTo(2)));
    }
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

/// Adds up to three conditions to `q` and their oracle twins to `out`; groups nest once.
void addConditions(Input& in, kith::Query<Book>& q, std::vector<Clause>& out, int depth) {
  const std::size_t n = in.upTo(4);
  for (std::size_t i = 0; i < n; ++i) {
    const bool isOr = in.flip();  // ignored by kith and by evaluate() for a first condition
    const auto add = [&](Test t) { out.push_back({isOr, std::move(t)}); };
    switch (in.upTo(8)) {
      case 0: {
        const auto op = in.pick(operators);
        const auto v = in.number();
        isOr ? q.orWhere<&Book::pages>(op, v) : q.where<&Book::pages>(op, v);
        add([op, v](const BookRow& r) { return compare(op, r.pages, v); });
        break;
      }
      case 1: {
        const auto op = in.pick(operators);
        const auto v = in.pick(titles);
        isOr ? q.orWhere<&Book::title>(op, v) : q.where<&Book::title>(op, v);
        add([op, v](const BookRow& r) { return compare<std::string>(op, r.title, v); });
        break;
      }
      case 2: {
        const bool negate = in.flip();
        const auto pattern = in.pick(patterns);
        const char* op = negate ? "not like" : "like";
        isOr ? q.orWhere<&Book::title>(op, pattern) : q.where<&Book::title>(op, pattern);
        add([negate, pattern](const BookRow& r) { return truth(like(pattern, r.title) != negate); });
        break;
      }
      case 3: {  // = value or IS NULL; != value or IS NOT NULL
        const bool equal = in.flip();
        const auto v = in.tag();
        isOr ? q.orWhere<&Book::tag>(equal ? "=" : "!=", v) : q.where<&Book::tag>(equal ? "=" : "!=", v);
        add([equal, v](const BookRow& r) {
          if (!v) return truth(r.tag.has_value() != equal);
          if (!r.tag) return Unknown;
          return truth((*r.tag == *v) == equal);
        });
        break;
      }
      case 4: {
        const bool isNull = in.flip();
        if (isNull)
          isOr ? q.orWhereNull<&Book::tag>() : q.whereNull<&Book::tag>();
        else
          isOr ? q.orWhereNotNull<&Book::tag>() : q.whereNotNull<&Book::tag>();
        add([isNull](const BookRow& r) { return truth(r.tag.has_value() != isNull); });
        break;
      }
      case 5: {
        std::vector<std::int64_t> values(in.upTo(4));
        for (auto& v : values) v = in.number();
        const bool negate = in.flip();
        if (negate)
          isOr ? q.orWhereNotIn<&Book::pages>(values) : q.whereNotIn<&Book::pages>(values);
        else
          isOr ? q.orWhereIn<&Book::pages>(values) : q.whereIn<&Book::pages>(values);
        add([values, negate](const BookRow& r) {
          return truth((std::find(values.begin(), values.end(), r.pages) != values.end()) != negate);
        });
        break;
      }
      case 6: {
        std::vector<std::string> values(in.upTo(4));
        for (auto& v : values) v = in.pick(titles);
        isOr ? q.orWhereIn<&Book::title>(values) : q.whereIn<&Book::title>(values);
        add([values](const BookRow& r) { return truth(std::find(values.begin(), values.end(), r.title) != values.end()); });
        break;
      }
      default: {
        if (depth > 0) break;
        std::vector<Clause> inner;
        const auto group = [&](kith::Query<Book>& g) { addConditions(in, g, inner, depth + 1); };
        isOr ? q.orWhere(group) : q.where(group);
        if (!inner.empty()) add([inner](const BookRow& r) { return evaluate(inner, r); });
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The run: a database, the oracle, and the objects a user would hold.

class Run {
 public:
  Run(Input& in, bool pivots) : in_(in), db_(kith::sqlite::open(":memory:")), pivots_(pivots) {
    db_.execute("CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, rank INTEGER NOT NULL)");
    db_.execute(
        "CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT NULL CHECK (title <> ''), "
        "pages INTEGER NOT NULL, tag TEXT)");
    db_.execute("CREATE TABLE genres (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    db_.execute("INSERT INTO genres (name) VALUES ('a'), ('b'), ('c'), ('d')");
    db_.execute(
        "CREATE TABLE author_genre (author_id INTEGER NOT NULL, genre_id INTEGER NOT NULL, weight INTEGER NOT NULL CHECK (weight >= "
        "0), UNIQUE (author_id, genre_id))");
  }

  void go() {
    for (int n = 0; n < 64 && !in_.empty(); ++n) {
      step(0);
      EXPECT(!db_.inTransaction(), "a top-level call left a transaction open");
    }
  }

 private:
  // -- checks ---------------------------------------------------------------------------------

  void checkTables() const {
    std::map<std::int64_t, AuthorRow> authors;
    for (const auto& a : Author::query(db_).all()) authors.emplace(a.id, rowOf(a));
    EXPECT(authors == oracle_.authors, "the authors table differs from the model");
    std::map<std::int64_t, BookRow> books;
    for (const auto& b : Book::query(db_).all()) books.emplace(b.id, rowOf(b));
    EXPECT(books == oracle_.books, "the books table differs from the model");
    // The pivot rows, after a step that may have changed them (a preload and a SELECT after every
    // step would cost the fuzzer most of its executions).
    if (!pivots_ || !pivotsTouched_) return;
    pivotsTouched_ = false;
    // The table as SQLite holds it, and as preload reads it (which joins genres: genre 5, which
    // does not exist, is in the table and not in a preload).
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> table, pivots, joined;
    sqlite3_exec(
        kith::sqlite::handle(db_), "SELECT author_id, genre_id, weight FROM author_genre",
        [](void* out, int, char** v, char**) {
          auto& rows = *static_cast<std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t>*>(out);
          rows[{std::atoll(v[0]), std::atoll(v[1])}] = std::atoll(v[2]);
          return 0;
        },
        &table, nullptr);
    EXPECT(table == oracle_.pivots, "the pivot table differs from the model");
    for (const auto& [key, w] : oracle_.pivots)
      if (key.second <= 4) joined[key] = w;
    for (const auto& a : Author::query(db_).preload<&Author::genres>().all())
      for (std::size_t i = 0; i < a.genres.size(); ++i)
        EXPECT(pivots.emplace(std::pair(a.id, a.genres[i].id), a.genres.pivot(i).weight).second, "a pivot row appears twice");
    if (pivots != joined && std::getenv("KITH_FUZZ_TRACE")) {
      for (const auto& [k, w] : pivots)
        std::fprintf(stderr, "  table (%lld, %lld) %lld\n", (long long)k.first, (long long)k.second, (long long)w);
      for (const auto& [k, w] : oracle_.pivots)
        std::fprintf(stderr, "  model (%lld, %lld) %lld\n", (long long)k.first, (long long)k.second, (long long)w);
    }
    EXPECT(pivots == joined, "the pivot rows read by preload differ from the model");
  }

  /// An object that says it is persisted and unchanged must match its row.
  void checkObjects() const {
    for (const auto& a : authors_)
      if (a.isPersisted() && !a.isDirty()) {
        const auto it = oracle_.authors.find(a.id);
        EXPECT(it != oracle_.authors.end() && it->second == rowOf(a), "an Author claims a row it does not have");
      }
    for (const auto& b : books_)
      if (b.isPersisted() && !b.isDirty()) {
        const auto it = oracle_.books.find(b.id);
        EXPECT(it != oracle_.books.end() && it->second == rowOf(b), "a Book claims a row it does not have");
      }
  }

  /// Runs `write`; it must throw a ConstraintError exactly when `fails`.
  bool attempt(bool fails, const std::function<void()>& write, const char* what) {
    try {
      write();
    } catch (const kith::ConstraintError&) {
      EXPECT(fails, std::string(what) + " failed with a constraint error the model did not expect");
      return false;
    }
    EXPECT(!fails, std::string(what) + " succeeded; the model expected a constraint error");
    return true;
  }

  // -- helpers ----------------------------------------------------------------------------------

  Book newBook() {
    Book b;
    b.title = in_.pick(titles);
    b.pages = in_.number();
    b.tag = in_.tag();
    return b;
  }

  Author& parent() {
    if (authors_.empty() || in_.upTo(4) == 0) {
      Author a;
      a.name = in_.pick(names);
      a.rank = in_.number();
      authors_.push_back(std::move(a));
      if (authors_.size() > 6) authors_.erase(authors_.begin());
    }
    return authors_[in_.upTo(authors_.size())];
  }

  /// Would saving `a` (as a relation write does first) break authors.name UNIQUE?
  bool parentFails(const Author& a) const {
    const bool writes = !a.isPersisted() || a.isDirty();
    return writes && oracle_.nameTaken(a.name, a.isPersisted() ? a.id : 0);
  }

  /// The oracle's side of saving the parent before a relation write; returns its id.
  std::int64_t saveParent(Oracle& o, const Author& a) const {
    if (a.isPersisted()) {
      o.authors[a.id] = rowOf(a);
      return a.id;
    }
    const auto id = Oracle::nextId(o.authors);
    o.authors[id] = rowOf(a);
    return id;
  }

  /// Holds on to `b`. A row read (not inserted) inside a transaction that later rolls back may be
  /// gone while its object still says persisted: kith cannot tell whether the row predates the
  /// transaction (Lucid's behaviour too), so such objects are not kept.
  void keep(const Book& b, bool read = false) {
    if (read && db_.inTransaction()) return;
    std::erase_if(books_, [&](const Book& x) { return x.id == b.id && x.isPersisted(); });
    books_.push_back(b);
    if (books_.size() > 24) books_.erase(books_.begin());
  }

  /// Rows changed behind the objects' backs (query update/remove): forget the objects that hold them.
  void forget(const std::vector<std::int64_t>& ids) {
    std::erase_if(books_, [&](const Book& b) { return std::find(ids.begin(), ids.end(), b.id) != ids.end(); });
  }

  /// Distinct objects of the pool, chosen by the input.
  std::vector<std::size_t> someBooks() {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < books_.size(); ++i)
      if (in_.upTo(3) == 0) out.push_back(i);
    return out;
  }

  // -- steps ------------------------------------------------------------------------------------

  void step(int depth) {
    const std::size_t op = in_.upTo(pivots_ ? 15 : 14);
    if (std::getenv("KITH_FUZZ_TRACE")) std::fprintf(stderr, "%*sstep %zu\n", depth * 2, "", op);
    switch (op) {
      case 0:
        return createAuthor();
      case 1: {
        auto& a = parent();
        a.rank = in_.number();
        if (in_.flip()) a.name = in_.pick(names);
        return;
      }
      case 2:
        return createMany();
      case 3:
        return saveMany();
      case 4:
        return orCreate(false);
      case 5:
        return orCreate(true);
      case 6:
        return orCreateOne();
      case 7:
        return queryUpdateOrRemove();
      case 8:
        return query();
      case 9:
        return preload();
      case 10:
        return saveBook();
      case 11:
        return destroyBook();
      case 12:
        return transaction(depth);
      case 14:
        return pivotWrite();
      default:
        switch (in_.upTo(3)) {
          case 0:
            return createMany();
          case 1:
            return associate();
          default:
            return preloadAcrossKinds();
        }
    }
  }

  /// BelongsTo's associate: the owner saved first when new or changed, then the book, in one
  /// transaction; on failure both objects as they were.
  void associate() {
    if (books_.empty()) return;
    auto& b = books_[in_.upTo(books_.size())];
    if (b.isPersisted() && !oracle_.books.count(b.id)) return;
    auto& a = parent();
    Oracle expected = oracle_;
    const auto ownerId = saveParent(expected, a);
    const bool bookWrites = !b.isPersisted() || b.isDirty() || b.authorId != ownerId;
    const bool fails = parentFails(a) || (bookWrites && b.title.empty());
    const auto bookId = b.isPersisted() ? b.id : Oracle::nextId(expected.books);
    if (bookWrites) expected.books[bookId] = {ownerId, b.title, b.pages, b.tag};
    const auto before = std::make_tuple(a.id, a.isPersisted(), a.isDirty(), b.id, b.authorId, b.isPersisted(), b.isDirty());
    if (attempt(
            fails, [&] { b.related<&Book::author>(db_).associate(a); }, "associate")) {
      EXPECT(a.isPersisted() && a.id == ownerId && !a.isDirty(), "associate did not save the owner");
      EXPECT(b.isPersisted() && b.id == bookId && b.authorId == ownerId && !b.isDirty(), "associate did not save the book");
      EXPECT(b.author && b.author->id == ownerId && b.author->name == a.name, "associate did not set the relation");
      oracle_ = std::move(expected);
    } else {
      EXPECT(before == std::make_tuple(a.id, a.isPersisted(), a.isDirty(), b.id, b.authorId, b.isPersisted(), b.isDirty()),
             "a failed associate changed the objects");
    }
    checkTables();
    checkObjects();
  }

  /// Every book with its author (BelongsTo), each author with its first book (HasOne, nested).
  void preloadAcrossKinds() {
    const auto books = Book::query(db_).preload<&Book::author>([](auto& q) { q.template preload<&Author::firstBook>(); }).all();
    EXPECT(books.size() == oracle_.books.size(), "the book query lost rows");
    std::map<std::int64_t, const Author*> shared;
    for (const auto& b : books) {
      EXPECT(rowOf(b) == oracle_.books.at(b.id), "a book differs from the model");
      EXPECT(b.author.isLoaded(), "a preloaded BelongsTo is not loaded");
      const auto owner = oracle_.authors.find(b.authorId);
      if (owner == oracle_.authors.end()) {
        EXPECT(!b.author, "a book without an author row got one");
        continue;
      }
      EXPECT(b.author && b.author->id == b.authorId && rowOf(*b.author) == owner->second, "a book got the wrong author");
      EXPECT(shared.try_emplace(b.authorId, b.author.get()).first->second == b.author.get(), "books of one author got two objects");
      std::optional<std::int64_t> first;
      for (const auto& [id, row] : oracle_.books)
        if (row.authorId == b.authorId) {
          first = id;
          break;
        }
      EXPECT(b.author->firstBook.isLoaded() && b.author->firstBook && b.author->firstBook->id == *first,
             "an author's HasOne is not its lowest-id book");
    }
  }

  void createAuthor() {
    Author a;
    a.name = in_.pick(names);
    a.rank = in_.number();
    const bool fails = oracle_.nameTaken(a.name, 0);
    const auto id = Oracle::nextId(oracle_.authors);
    Author created;
    if (attempt(
            fails, [&] { created = Author::create(db_, a); }, "Author::create")) {
      EXPECT(created.id == id && created.isPersisted(), "Author::create returned the wrong id");
      oracle_.authors[id] = rowOf(a);
      authors_.push_back(std::move(created));
      if (authors_.size() > 6) authors_.erase(authors_.begin());
    }
    checkTables();
  }

  void createMany() {
    auto& a = parent();
    std::vector<Book> rows(in_.upTo(6));
    for (auto& b : rows) b = newBook();
    const auto before = std::make_tuple(a.id, a.isPersisted(), a.isDirty());
    bool fails = parentFails(a);
    for (const auto& b : rows) fails = fails || b.title.empty();
    Oracle expected = oracle_;
    std::vector<Book> created;
    const bool writes = !rows.empty();
    if (writes) {
      const auto parentId = saveParent(expected, a);
      for (auto& b : rows) expected.books[Oracle::nextId(expected.books)] = {parentId, b.title, b.pages, b.tag};
    }
    if (attempt(
            writes && fails, [&] { created = a.related<&Author::books>(db_).createMany(rows); }, "related createMany")) {
      if (writes) oracle_ = std::move(expected);
      for (const auto& b : created) {
        EXPECT(b.isPersisted() && b.authorId == a.id, "createMany returned a row not persisted or not linked");
        keep(b);
      }
    } else {
      EXPECT(before == std::make_tuple(a.id, a.isPersisted(), a.isDirty()), "a failed createMany changed its parent");
    }
    checkTables();
    checkObjects();
  }

  void saveMany() {
    auto& a = parent();
    std::vector<Book> list;
    for (auto i : someBooks()) {
      Book b = books_[i];
      if (in_.flip()) b.title = in_.pick(titles);
      if (in_.flip()) b.pages = in_.number();
      list.push_back(std::move(b));
    }
    for (std::size_t n = in_.upTo(4); n > 0; --n) list.push_back(newBook());
    bool fails = parentFails(a);
    for (const auto& b : list) fails = fails || b.title.empty();
    Oracle expected = oracle_;
    if (!list.empty()) {
      const auto parentId = saveParent(expected, a);
      for (const auto& b : list)
        if (b.isPersisted()) expected.books[b.id] = {parentId, b.title, b.pages, b.tag};
      for (const auto& b : list)
        if (!b.isPersisted()) expected.books[Oracle::nextId(expected.books)] = {parentId, b.title, b.pages, b.tag};
    }
    std::vector<std::tuple<std::int64_t, bool, BookRow>> before;
    for (const auto& b : list) before.emplace_back(b.id, b.isPersisted(), rowOf(b));
    if (attempt(
            !list.empty() && fails, [&] { a.related<&Author::books>(db_).saveMany(list); }, "related saveMany")) {
      if (!list.empty()) oracle_ = std::move(expected);
      for (const auto& b : list) {
        EXPECT(b.isPersisted() && !b.isDirty() && b.authorId == a.id, "saveMany left a row unsaved");
        keep(b);
      }
    } else {
      for (std::size_t i = 0; i < list.size(); ++i)
        EXPECT(before[i] == std::make_tuple(list[i].id, list[i].isPersisted(), rowOf(list[i])), "a failed saveMany changed an object");
    }
    checkTables();
    checkObjects();
  }

  /// What the *OrCreate methods on title must do with `rows` (not empty) under parent `a`: the
  /// tables afterwards, the id each row maps to, and whether a constraint stops them. A match is the
  /// lowest id with the title under the parent; repeated new titles are inserted once.
  struct Planned {
    Oracle expected;
    std::vector<std::int64_t> ids;
    bool fails;
  };
  Planned planOrCreate(const Author& a, const std::vector<Book>& rows, bool update) const {
    Planned plan{oracle_, std::vector<std::int64_t>(rows.size()), parentFails(a)};
    const auto parentId = saveParent(plan.expected, a);
    // A new parent finds rows too: books left behind by a destroyed author whose id it takes
    // (SQLite hands out the largest id + 1 again).
    std::map<std::string, std::int64_t> existing;
    for (const auto& [id, b] : oracle_.books)
      if (b.authorId == parentId) existing.try_emplace(b.title, id);
    std::map<std::string, std::size_t> firstNew, lastNew;
    std::vector<std::size_t> fresh;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (auto it = existing.find(rows[i].title); it != existing.end()) {
        plan.ids[i] = it->second;
        if (update) {
          auto& row = plan.expected.books[it->second];
          row.pages = rows[i].pages;
          row.tag = rows[i].tag;
        }
      } else if (firstNew.try_emplace(rows[i].title, i).second) {
        fresh.push_back(i);
        plan.fails = plan.fails || rows[i].title.empty();
      }
      if (update) lastNew[rows[i].title] = i;  // repeats of a new row: the last one wins, as for a row that exists
    }
    for (auto i : fresh) {
      const Book& values = update ? rows[lastNew.at(rows[i].title)] : rows[i];
      plan.ids[i] = Oracle::nextId(plan.expected.books);
      plan.expected.books[plan.ids[i]] = {parentId, rows[i].title, values.pages, values.tag};
    }
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (!plan.ids[i]) plan.ids[i] = plan.ids[firstNew.at(rows[i].title)];
    return plan;
  }

  void orCreate(bool update) {
    auto& a = parent();
    std::vector<Book> rows(in_.upTo(5));
    for (auto& b : rows) b = newBook();
    // Nothing to write for no rows: not even the parent.
    Planned plan = rows.empty() ? Planned{oracle_, {}, false} : planOrCreate(a, rows, update);
    std::vector<Book> result;
    const auto call = [&] {
      result = update ? a.related<&Author::books>(db_).updateOrCreateMany<&Book::title>(rows)
                      : a.related<&Author::books>(db_).fetchOrCreateMany<&Book::title>(rows);
    };
    if (attempt(plan.fails, call, update ? "updateOrCreateMany" : "fetchOrCreateMany")) {
      const bool read = !rows.empty() && oracle_.books.count(plan.ids.back()) > 0;
      oracle_ = std::move(plan.expected);
      EXPECT(result.size() == rows.size(), "*OrCreateMany returned the wrong number of rows");
      for (std::size_t i = 0; i < result.size(); ++i) {
        EXPECT(result[i].id == plan.ids[i], "*OrCreateMany returned the wrong row: row " + std::to_string(i) + " titled " +
                                                printable(rows[i].title) + " is id " + std::to_string(result[i].id) + ", expected " +
                                                std::to_string(plan.ids[i]));
        EXPECT(rowOf(result[i]) == oracle_.books.at(plan.ids[i]), "*OrCreateMany returned stale values");
      }
      if (update) forget(plan.ids);  // rows updated through other objects than the ones the pool holds
      if (!result.empty()) keep(result.back(), read);
    }
    checkTables();
    checkObjects();
  }

  void orCreateOne() {
    auto& a = parent();
    const bool update = in_.flip();
    Book payload = newBook();
    Planned plan = planOrCreate(a, {payload}, update);
    const auto id = plan.ids[0];
    Book result;
    const auto call = [&] {
      result = update ? a.related<&Author::books>(db_).updateOrCreate<&Book::title>(payload)
                      : a.related<&Author::books>(db_).firstOrCreate<&Book::title>(payload);
    };
    if (attempt(plan.fails, call, update ? "updateOrCreate" : "firstOrCreate")) {
      const bool read = oracle_.books.count(id) > 0;
      oracle_ = std::move(plan.expected);
      EXPECT(result.id == id && rowOf(result) == oracle_.books.at(id), "*OrCreate returned the wrong row");
      if (update) forget({id});
      keep(result, read);
    }
    checkTables();
    checkObjects();
  }

  void queryUpdateOrRemove() {
    auto& a = parent();
    if (!a.isPersisted()) return;
    auto q = a.related<&Author::books>().query();
    std::vector<Clause> clauses;
    addConditions(in_, q, clauses, 0);
    std::vector<std::int64_t> matched;
    for (const auto& [id, b] : oracle_.books)
      if (b.authorId == a.id && evaluate(clauses, b) == True) matched.push_back(id);
    if (in_.flip()) {
      EXPECT(q.remove() == static_cast<std::int64_t>(matched.size()), "remove() deleted the wrong number of rows");
      for (auto id : matched) oracle_.books.erase(id);
    } else {
      const auto pages = in_.number();
      EXPECT(q.update(kith::set<&Book::pages>(pages)) == static_cast<std::int64_t>(matched.size()),
             "update() changed the wrong number of rows");
      for (auto id : matched) oracle_.books[id].pages = pages;
    }
    forget(matched);
    checkTables();
  }

  void query() {
    auto q = Book::query(db_);
    std::vector<Clause> clauses;
    addConditions(in_, q, clauses, 0);
    std::vector<std::int64_t> expected;
    for (const auto& [id, b] : oracle_.books)
      if (evaluate(clauses, b) == True) expected.push_back(id);
    EXPECT(q.count() == static_cast<std::int64_t>(expected.size()), "count() differs from the model: " + q.toSql());
    std::vector<std::int64_t> got;
    for (const auto& b : q.orderBy<&Book::id>().all()) {
      got.push_back(b.id);
      EXPECT(b.isPersisted() && !b.isDirty(), "a loaded row is not persisted and clean");
    }
    EXPECT(got == expected, "the rows differ from the model: " + q.toSql());
  }

  void preload() {
    std::vector<Clause> clauses;
    const auto authors = Author::query(db_).preload<&Author::books>([&](kith::Query<Book>& q) { addConditions(in_, q, clauses, 0); }).all();
    EXPECT(authors.size() == oracle_.authors.size(), "preload's parent query lost rows");
    for (const auto& a : authors) {
      std::vector<std::int64_t> expected, got;
      for (const auto& [id, b] : oracle_.books)
        if (b.authorId == a.id && evaluate(clauses, b) == True) expected.push_back(id);
      for (const auto& b : a.books) {
        EXPECT(rowOf(b) == oracle_.books.at(b.id), "a preloaded row differs from the model");
        got.push_back(b.id);
      }
      std::sort(got.begin(), got.end());
      EXPECT(got == expected, "preload gave a parent the wrong children");
    }
  }

  void saveBook() {
    if (books_.empty()) return;
    auto& b = books_[in_.upTo(books_.size())];
    if (!b.isPersisted() || !oracle_.books.count(b.id)) return;  // new rows go through a relation here
    b.title = in_.pick(titles);
    b.pages = in_.number();
    const bool dirty = b.isDirty();
    const bool fails = dirty && b.title.empty();
    if (attempt(
            fails, [&] { b.save(db_); }, "save")) {
      oracle_.books[b.id] = rowOf(b);
      EXPECT(!b.isDirty(), "a saved Book is still dirty");
    } else {
      EXPECT(b.isDirty() && b.isPersisted(), "a failed save changed the object's state");
    }
    checkTables();
    checkObjects();
  }

  void destroyBook() {
    if (books_.empty()) return;
    const std::size_t i = in_.upTo(books_.size());
    auto& b = books_[i];
    if (!b.isPersisted() || !oracle_.books.count(b.id)) return;
    b.destroy();
    EXPECT(!b.isPersisted() && b.isDeleted(), "a destroyed Book still claims its row");
    oracle_.books.erase(b.id);
    books_.erase(books_.begin() + static_cast<std::ptrdiff_t>(i));
    checkTables();
    checkObjects();
  }

  // -- ManyToMany ------------------------------------------------------------------------------

  using Entries = std::vector<std::pair<std::int64_t, AuthorGenre>>;

  /// Keys 1..5 (genre 5 does not exist: the pivot has no foreign key constraint), some with weights.
  Entries entries() {
    Entries out;
    for (std::size_t n = in_.upTo(5); n > 0; --n) {
      AuthorGenre g;
      g.weight = in_.upTo(4) == 0 ? -1 : static_cast<std::int64_t>(in_.upTo(4));
      out.emplace_back(static_cast<std::int64_t>(1 + in_.upTo(5)), g);
    }
    return out;
  }
  /// The model's reading of a list: each key once, at its first place, with its last values.
  static Entries unique(const Entries& in) {
    Entries out;
    for (const auto& e : in) {
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& o) { return o.first == e.first; });
      if (it == out.end())
        out.push_back(e);
      else
        it->second = e.second;
    }
    return out;
  }
  static std::vector<std::int64_t> keysOf(const Entries& e) {
    std::vector<std::int64_t> out;
    for (const auto& [k, v] : e) out.push_back(k);
    return out;
  }

  /// One pivot write through an author; it must fail exactly when it would write a negative weight,
  /// and then leave every pivot row as it was.
  void pivotWrite() {
    if (authors_.empty()) return;
    auto& a = authors_[in_.upTo(authors_.size())];
    const Entries given = entries();
    const bool withValues = in_.flip();
    Entries list = unique(given);
    if (!withValues)
      for (auto& e : list) e.second.weight = 0;
    const std::size_t kind = in_.upTo(6);
    pivotsTouched_ = true;
    if (std::getenv("KITH_FUZZ_TRACE")) {
      std::fprintf(stderr, "  pivot write %zu, values %d, author %lld:", kind, withValues, (long long)a.id);
      for (const auto& [k, v] : given) std::fprintf(stderr, " %lld=%lld", (long long)k, (long long)v.weight);
      std::fprintf(stderr, "\n");
    }
    auto client = a.related<&Author::genres>(db_);
    if (!a.isPersisted() || !oracle_.authors.count(a.id)) {
      if (a.isPersisted()) return;  // a row rolled back under it: kith cannot tell
      bool refused = false;
      try {
        client.attach(keysOf(given));
      } catch (const kith::UsageError&) {
        refused = true;
      }
      EXPECT(refused || given.empty(), "attach through an unsaved author was not refused");
      checkTables();
      return;
    }
    auto& pivots = oracle_.pivots;
    const auto has = [&](std::int64_t g) { return pivots.count({a.id, g}) > 0; };
    Oracle expected = oracle_;
    bool fails = false;
    kith::SyncResult<std::int64_t> want;
    std::int64_t count = 0;
    const auto insert = [&](const std::pair<std::int64_t, AuthorGenre>& e) {
      if (e.second.weight < 0) fails = true;
      expected.pivots[{a.id, e.first}] = e.second.weight;
      want.attached.push_back(e.first);
    };
    switch (kind) {
      case 0:  // attach
        for (const auto& e : list)
          if (!has(e.first)) insert(e), ++count;
        break;
      case 1:  // detach
        for (const auto& e : list)
          if (has(e.first)) expected.pivots.erase({a.id, e.first}), ++count;
        break;
      case 2:  // detachAll
        for (const auto& [key, w] : pivots)
          if (key.first == a.id) expected.pivots.erase(key), ++count;
        break;
      case 3: {  // sync, detaching or not
        const bool detach = in_.flip();
        for (const auto& e : list) {
          if (!has(e.first)) {
            insert(e);
          } else if (withValues && pivots.at({a.id, e.first}) != e.second.weight) {
            if (e.second.weight < 0) fails = true;
            expected.pivots[{a.id, e.first}] = e.second.weight;
            want.updated.push_back(e.first);
          }
        }
        if (detach)
          for (const auto& [key, w] : pivots)
            if (const std::int64_t genre = key.second;
                key.first == a.id && std::none_of(list.begin(), list.end(), [&](const auto& e) { return e.first == genre; })) {
              expected.pivots.erase(key);
              want.detached.push_back(key.second);
            }
        kith::SyncResult<std::int64_t> got;
        const auto parentBefore = std::make_tuple(a.id, a.isPersisted(), a.isDirty());
        if (attempt(
                fails, [&] { got = withValues ? client.sync(list, detach) : client.sync(keysOf(given), detach); }, "sync")) {
          std::sort(got.detached.begin(), got.detached.end());
          EXPECT(got.attached == want.attached && got.updated == want.updated && got.detached == want.detached,
                 "sync reported other changes than it made");
          oracle_ = expected;
        }
        EXPECT(parentBefore == std::make_tuple(a.id, a.isPersisted(), a.isDirty()), "a pivot write changed its parent");
        checkTables();
        return;
      }
      case 4:  // toggle
        for (const auto& e : list) {
          if (has(e.first)) {
            expected.pivots.erase({a.id, e.first});
            want.detached.push_back(e.first);
          } else {
            insert(e);
          }
        }
        break;
      default: {  // updatePivot
        const std::int64_t g = static_cast<std::int64_t>(1 + in_.upTo(5));
        const std::int64_t w = in_.upTo(4) == 0 ? -1 : static_cast<std::int64_t>(in_.upTo(4));
        if (has(g)) {
          fails = w < 0;
          expected.pivots[{a.id, g}] = w;
          count = 1;
        }
        std::int64_t got = -1;
        if (attempt(
                fails, [&] { got = client.updatePivot(g, kith::set<&AuthorGenre::weight>(w)); }, "updatePivot")) {
          EXPECT(got == count, "updatePivot reported another count of rows");
          oracle_ = expected;
        }
        checkTables();
        return;
      }
    }
    std::int64_t got = -1;
    kith::SyncResult<std::int64_t> toggled;
    if (attempt(
            fails,
            [&] {
              if (kind == 0)
                got = withValues ? client.attach(list) : client.attach(keysOf(given));
              else if (kind == 1)
                got = client.detach(keysOf(given));
              else if (kind == 2)
                got = client.detachAll();
              else
                toggled = withValues ? client.toggle(list) : client.toggle(keysOf(given));
            },
            "a pivot write")) {
      if (kind == 4) {
        EXPECT(toggled.attached == want.attached && toggled.detached == want.detached, "toggle reported other changes than it made");
      } else {
        EXPECT(got == count, "a pivot write reported another count of rows");
      }
      oracle_ = expected;
    }
    checkTables();
  }

  /// A few steps inside a transaction (a savepoint when nested) that commits or rolls back.
  void transaction(int depth) {
    if (depth >= 2) return;
    const Oracle before = oracle_;
    const bool rollback = in_.flip();
    auto trx = db_.begin();
    for (std::size_t n = 1 + in_.upTo(3); n > 0; --n) step(depth + 1);
    if (rollback) {
      trx.rollback();
      oracle_ = before;
    } else {
      trx.commit();
    }
    pivotsTouched_ = true;
    checkTables();
    checkObjects();
  }

  Input& in_;
  kith::Connection db_;
  Oracle oracle_;
  std::vector<Author> authors_;         // parents the input writes through: new, saved, changed
  std::vector<Book> books_;             // objects the input holds on to, at most one persisted object per row
  bool pivots_;                         // ManyToMany calls are drawn too (the input starts with pivotMarker)
  mutable bool pivotsTouched_ = false;  // a step since the last check of the pivot rows may have changed them
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bool pivots = size > 0 && data[0] == pivotMarker;
  Input in(pivots ? data + 1 : data, pivots ? size - 1 : size);
  Run run(in, pivots);
  run.go();
  return 0;
}
