// Schema evolution: migrations — named C++ values with an `up` and a `down` over a schema builder —
// and the runner that applies each once, in name order, in a transaction of its own, recorded in
// the table kith_migrations with a checksum. SQLite's missing ALTER TABLE forms run as the table
// rebuild its documentation prescribes (sqlite.org/lang_altertable.html, section 7): rows, indexes,
// triggers, views and foreign keys into the table survive. Not included by kith.hpp.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/column_kind.hpp>
#include <kith/detail/meta.hpp>
#include <kith/error.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace kith {

/// What a foreign key does when the row it points to is deleted or its key updated.
enum class OnAction { NoAction, Restrict, Cascade, SetNull, SetDefault };

struct ForeignKeyOptions {
  OnAction onDelete = OnAction::NoAction;
  OnAction onUpdate = OnAction::NoAction;
  std::string name;  // default: <table>_<column>_foreign
};

struct IndexOptions {
  std::string name;  // default: <table>_<columns>_index, or _unique
  bool unique = false;
  bool concurrently = false;  // PostgreSQL's CREATE INDEX CONCURRENTLY: outside a transaction, so in a migration of its own
};

/// A migration that could not be applied or rolled back, or a run refused before it started. The
/// database is as it was before that migration; the ones applied before it in the run stay applied.
class MigrationError : public Error {
 public:
  MigrationError(std::string what, std::string migration, std::string statement = {})
      : Error(std::move(what)), migration_(std::move(migration)), statement_(std::move(statement)) {}
  /// The migration's name (empty when the run was refused as a whole).
  const std::string& migration() const noexcept { return migration_; }
  /// The statement that failed, when one did.
  const std::string& statement() const noexcept { return statement_; }

 private:
  std::string migration_, statement_;
};

namespace detail::migration {

/// A column as a migration declares it.
struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::Text;
  bool nullable = false;
  bool unique = false;
  std::optional<Value> defaultValue;
  bool primary = false;  // a primary key the database does not generate (a code, a UUID)
};

struct ForeignKey {
  std::string column, table, references;
  ForeignKeyOptions options;
};

struct Index {
  std::vector<std::string> columns;
  IndexOptions options;
};

// The operations a migration declares, in order.
struct CreateTable {
  std::string table;
  std::deque<Column> columns;  // a deque: a ColumnRef keeps pointing at its column as more are added
  std::vector<ForeignKey> foreignKeys;
  std::vector<Index> indexes;
};
struct DropTable {
  std::string table;
};
struct RenameTable {
  std::string from, to;
};
struct AddColumn {
  std::string table;
  Column column;
};
struct DropColumn {
  std::string table, column;
};
struct RenameColumn {
  std::string table, from, to;
};
struct ChangeColumn {  // the column's new type, NULL and default
  std::string table;
  Column column;
};
struct AddIndex {
  std::string table;
  Index index;
};
struct DropIndex {
  std::string name;
};
struct AddForeignKey {
  std::string table;
  ForeignKey key;
};
struct DropForeignKey {
  std::string table, name;
};
struct Raw {
  std::string sql;
  bool transactional = true;
};
struct Data {
  std::string label;
  std::function<void(const Connection&)> run;
};

using Operation = std::variant<CreateTable, DropTable, RenameTable, AddColumn, DropColumn, RenameColumn, ChangeColumn, AddIndex, DropIndex,
                               AddForeignKey, DropForeignKey, Raw, Data>;

inline std::string defaultIndexName(std::string_view table, const std::vector<std::string>& columns, bool unique) {
  std::string name(table);
  for (const auto& c : columns) name += "_" + c;
  return name + (unique ? "_unique" : "_index");
}

template <class T>
inline constexpr bool storable = SupportedColumnType<T>;

}  // namespace detail::migration

/// A column being declared: `t.column<std::string>("email").unique()`.
class ColumnRef {
 public:
  explicit ColumnRef(detail::migration::Column& column) : column_(&column) {}

  /// The value the database gives the column when an insert leaves it out.
  template <class T>
  ColumnRef& defaultTo(const T& value) {
    column_->defaultValue = detail::parameterValue(value);
    return *this;
  }
  /// A unique index on this column alone.
  ColumnRef& unique() {
    column_->unique = true;
    return *this;
  }
  /// The table's primary key, given by the application (`t.id()` is the generated one). In a
  /// createTable only.
  ColumnRef& primary() {
    column_->primary = true;
    return *this;
  }

 private:
  detail::migration::Column* column_;
};

namespace detail::migration {

template <class T>
Column columnOf(std::string name) {
  static_assert(storable<T>,
                "kith: a migration's column must be of a type kith can store (an integer, bool, double, std::string, kith::Blob, "
                "std::chrono::sys_time, an enum, a type with kith::column_traits, or a std::optional of one)");
  return Column{std::move(name), columnKind<T>(), IsOptional<T>::value, false, std::nullopt, false};
}

}  // namespace detail::migration

/// The columns, keys and indexes of a table a migration creates.
class TableBuilder {
 public:
  explicit TableBuilder(detail::migration::CreateTable& table) : table_(table) {}

  /// A generated integer primary key (BIGSERIAL on PostgreSQL, the rowid on SQLite).
  void id(std::string name = "id") {
    table_.columns.push_back({std::move(name), detail::ColumnKind::GeneratedKey, false, false, std::nullopt, false});
  }
  /// A column of C++ type T, as a model's member of that type is stored: NOT NULL unless T is a
  /// std::optional.
  template <class T>
  ColumnRef column(std::string name) {
    table_.columns.push_back(detail::migration::columnOf<T>(std::move(name)));
    return ColumnRef(table_.columns.back());
  }
  /// `column` references `table`(`references`).
  void foreign(std::string column, std::string table, std::string references = "id", ForeignKeyOptions options = {}) {
    table_.foreignKeys.push_back({std::move(column), std::move(table), std::move(references), std::move(options)});
  }
  void index(std::vector<std::string> columns, IndexOptions options = {}) {
    table_.indexes.push_back({std::move(columns), std::move(options)});
  }
  void unique(std::vector<std::string> columns, std::string name = {}) {
    table_.indexes.push_back({std::move(columns), IndexOptions{std::move(name), true, false}});
  }

 private:
  detail::migration::CreateTable& table_;
};

class Schema;

/// The changes a migration makes to an existing table.
class TableChanges {
 public:
  TableChanges(Schema& schema, std::string table) : schema_(schema), table_(std::move(table)) {}

  template <class T>
  ColumnRef addColumn(std::string name);
  void dropColumn(std::string name);
  void renameColumn(std::string from, std::string to);
  /// The column's new type, NULL and default, all three as declared here: `changeColumn<std::optional<double>>("score")`.
  template <class T>
  ColumnRef changeColumn(std::string name);
  void index(std::vector<std::string> columns, IndexOptions options = {});
  void unique(std::vector<std::string> columns, std::string name = {}) {
    index(std::move(columns), IndexOptions{std::move(name), true, false});
  }
  void dropIndex(std::string name);
  void foreign(std::string column, std::string table, std::string references = "id", ForeignKeyOptions options = {});
  /// Drops the foreign key `name` (default name: <table>_<column>_foreign).
  void dropForeign(std::string name);

 private:
  Schema& schema_;
  std::string table_;
};

/// What a migration's up or down does, in order. Nothing runs while it is described: the runner
/// renders it for the database (and for dryRun), checks it, then runs it.
class Schema {
 public:
  void createTable(std::string table, const std::function<void(TableBuilder&)>& define) {
    detail::migration::CreateTable op{std::move(table), {}, {}, {}};
    TableBuilder builder(op);
    define(builder);
    ops.emplace_back(std::move(op));
  }
  /// Loses the table's rows: the migration must say acceptDataLoss().
  void dropTable(std::string table) { ops.emplace_back(detail::migration::DropTable{std::move(table)}); }
  void renameTable(std::string from, std::string to) { ops.emplace_back(detail::migration::RenameTable{std::move(from), std::move(to)}); }
  void alterTable(std::string table, const std::function<void(TableChanges&)>& change) {
    TableChanges changes(*this, std::move(table));
    change(changes);
  }
  /// SQL of your own, run in the migration's transaction.
  void raw(std::string sql) { ops.emplace_back(detail::migration::Raw{std::move(sql), true}); }
  /// SQL that cannot run in a transaction (PostgreSQL: CREATE INDEX CONCURRENTLY); a migration
  /// holding it may hold nothing that must, and is recorded once it has run (make it idempotent:
  /// IF NOT EXISTS).
  void rawOutsideTransaction(std::string sql) { ops.emplace_back(detail::migration::Raw{std::move(sql), false}); }
  /// A data step (a backfill, say), run with the migration's transaction.
  void data(std::string label, std::function<void(const Connection&)> run) {
    ops.emplace_back(detail::migration::Data{std::move(label), std::move(run)});
  }
  /// The migration drops a table or a column, or narrows a column's type, on purpose.
  void acceptDataLoss() { acceptsLoss = true; }

  std::deque<detail::migration::Operation> ops;  // a deque: ColumnRefs into it stay valid
  bool acceptsLoss = false;
};

template <class T>
ColumnRef TableChanges::addColumn(std::string name) {
  schema_.ops.emplace_back(detail::migration::AddColumn{table_, detail::migration::columnOf<T>(std::move(name))});
  return ColumnRef(std::get<detail::migration::AddColumn>(schema_.ops.back()).column);
}

template <class T>
ColumnRef TableChanges::changeColumn(std::string name) {
  schema_.ops.emplace_back(detail::migration::ChangeColumn{table_, detail::migration::columnOf<T>(std::move(name))});
  return ColumnRef(std::get<detail::migration::ChangeColumn>(schema_.ops.back()).column);
}

inline void TableChanges::dropColumn(std::string name) { schema_.ops.emplace_back(detail::migration::DropColumn{table_, std::move(name)}); }
inline void TableChanges::renameColumn(std::string from, std::string to) {
  schema_.ops.emplace_back(detail::migration::RenameColumn{table_, std::move(from), std::move(to)});
}
inline void TableChanges::index(std::vector<std::string> columns, IndexOptions options) {
  schema_.ops.emplace_back(detail::migration::AddIndex{table_, {std::move(columns), std::move(options)}});
}
inline void TableChanges::dropIndex(std::string name) { schema_.ops.emplace_back(detail::migration::DropIndex{std::move(name)}); }
inline void TableChanges::foreign(std::string column, std::string table, std::string references, ForeignKeyOptions options) {
  schema_.ops.emplace_back(
      detail::migration::AddForeignKey{table_, {std::move(column), std::move(table), std::move(references), std::move(options)}});
}
inline void TableChanges::dropForeign(std::string name) {
  schema_.ops.emplace_back(detail::migration::DropForeignKey{table_, std::move(name)});
}

/// A named schema change and its undoing. Migrations are frozen in time: they spell out their
/// tables and columns, and never read today's models (a model changes after its migration was
/// written). Applied in name order: name them so that order is time order (2026_12_05_01_users).
struct Migration {
  std::string name;
  std::function<void(Schema&)> up;
  std::function<void(Schema&)> down;  // empty: the migration cannot be rolled back
};

namespace detail::migration {

/// One thing the runner does for a migration: a statement, a data step, or (SQLite) the rebuild of
/// a table for the changes ALTER TABLE cannot make. Operations are named by their index in the
/// migration's Schema::ops, never by address: a rendered migration is moved about.
struct Step {
  enum class Kind { Sql, Data, Rebuild };
  Kind kind = Kind::Sql;
  std::string text;  // Sql: the statement; Data: its label; Rebuild: what changes, for dryRun and the checksum
  bool transactional = true;
  std::size_t data = 0;              // Data: its operation
  std::string table;                 // Rebuild
  std::vector<std::size_t> changes;  // Rebuild: ChangeColumn, AddForeignKey, DropForeignKey operations
  std::vector<std::size_t> changed;  // ChangeColumn operations whose type may narrow (checked when they run)
  std::vector<std::string> added;    // Rebuild: columns the new table adds (not copied)
};

struct Rendered {
  std::vector<Step> steps;
  bool losesData = false;  // drops a table or a column
  std::string lossWhat;
};

inline const char* actionSql(OnAction a) {
  switch (a) {
    case OnAction::Restrict:
      return "RESTRICT";
    case OnAction::Cascade:
      return "CASCADE";
    case OnAction::SetNull:
      return "SET NULL";
    case OnAction::SetDefault:
      return "SET DEFAULT";
    default:
      return "NO ACTION";
  }
}

/// A default value as a literal of the dialect.
inline std::string literal(const Value& v, ColumnKind kind, bool postgres) {
  switch (v.index()) {
    case 0:
      return "NULL";
    case 1: {
      const auto i = std::get<1>(v);
      if (kind == ColumnKind::Boolean && postgres) return i ? "TRUE" : "FALSE";
      return std::to_string(i);
    }
    case 2: {
      char buffer[32];
      const auto end = std::to_chars(buffer, buffer + sizeof buffer, std::get<2>(v)).ptr;
      return std::string(buffer, end);
    }
    case 3: {
      std::string out = "'";
      for (const char c : std::get<3>(v)) {
        if (c == '\0') throw UsageError("kith: a default value cannot hold a NUL character");
        out += c;
        if (c == '\'') out += '\'';
      }
      return out + "'";
    }
    default: {
      static constexpr char hex[] = "0123456789abcdef";
      std::string out = postgres ? "'\\x" : "X'";
      for (const std::byte b : std::get<4>(v)) {
        out += hex[std::to_integer<unsigned>(b) >> 4];
        out += hex[std::to_integer<unsigned>(b) & 15];
      }
      return out + (postgres ? "'::bytea" : "'");
    }
  }
}

inline std::string columnSql(const Column& c, const Backend& backend, bool inCreate) {
  std::string sql = quote(c.name) + " " + backend.columnType(c.kind);
  if (c.kind == ColumnKind::GeneratedKey) return sql + " PRIMARY KEY";
  if (!c.nullable) sql += " NOT NULL";
  if (c.primary) {
    if (!inCreate) throw UsageError("kith: a primary key is declared when the table is created: column " + c.name);
    sql += " PRIMARY KEY";
  }
  if (c.defaultValue) sql += " DEFAULT " + literal(*c.defaultValue, c.kind, backend.dialect() == "postgresql");
  if (c.unique && inCreate) sql += " UNIQUE";
  return sql;
}

inline std::string foreignKeySql(std::string_view table, const ForeignKey& k) {
  const std::string name = k.options.name.empty() ? std::string(table) + "_" + k.column + "_foreign" : k.options.name;
  std::string sql = "CONSTRAINT " + quote(name) + " FOREIGN KEY (" + quote(k.column) + ") REFERENCES " + quote(k.table) + " (" +
                    quote(k.references) + ")";
  if (k.options.onDelete != OnAction::NoAction) sql += std::string(" ON DELETE ") + actionSql(k.options.onDelete);
  if (k.options.onUpdate != OnAction::NoAction) sql += std::string(" ON UPDATE ") + actionSql(k.options.onUpdate);
  return sql;
}

/// CREATE INDEX; CONCURRENTLY (outside a transaction) on PostgreSQL only: SQLite builds an index
/// under its write lock whatever is asked.
inline Step indexStep(std::string_view table, const Index& index, bool postgres) {
  const IndexOptions& o = index.options;
  const bool concurrently = o.concurrently && postgres;
  const std::string name = o.name.empty() ? defaultIndexName(table, index.columns, o.unique) : o.name;
  std::string sql = std::string("CREATE ") + (o.unique ? "UNIQUE " : "") + "INDEX ";
  if (concurrently) sql += "CONCURRENTLY IF NOT EXISTS ";
  sql += quote(name) + " ON " + quote(table) + " (";
  for (std::size_t i = 0; i < index.columns.size(); ++i) sql += (i ? ", " : "") + quote(index.columns[i]);
  Step step{Step::Kind::Sql, sql + ")", !concurrently, 0, {}, {}, {}, {}};
  return step;
}

inline std::string describeColumn(const Column& c) {
  std::string out = c.name + " kind " + std::to_string(static_cast<int>(c.kind)) + (c.nullable ? " null" : " not null");
  if (c.defaultValue) out += " default " + literal(*c.defaultValue, c.kind, false);
  return out;
}

/// What the runner does for `ops` on this database, in order.
inline Rendered render(const std::deque<Operation>& ops, const Backend& backend) {
  const bool postgres = backend.dialect() == "postgresql";
  Rendered out;
  const auto sql = [&](std::string text, bool transactional = true) {
    out.steps.push_back({Step::Kind::Sql, std::move(text), transactional, 0, {}, {}, {}, {}});
  };
  // SQLite: the changes of one table that need a rebuild go into one rebuild, where the first is;
  // a column added after it joins it (so that a later change can name the column); a rename or a
  // drop of the table or of one of its columns, raw SQL and a data step end it (a later change
  // starts another).
  std::map<std::string, std::size_t> rebuilds;
  std::size_t index = 0;  // of the operation being rendered
  const auto rebuild = [&](const std::string& table, std::string what) -> Step& {
    auto [it, fresh] = rebuilds.try_emplace(table, out.steps.size());
    if (fresh) out.steps.push_back({Step::Kind::Rebuild, "-- SQLite table rebuild of " + quote(table) + ":", true, 0, table, {}, {}, {}});
    Step& step = out.steps[it->second];
    step.changes.push_back(index);
    step.text += " " + what + ";";
    return step;
  };
  for (; index < ops.size(); ++index) {
    std::visit(
        [&](const auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, CreateTable>) {
            std::string text = "CREATE TABLE " + quote(o.table) + " (";
            bool first = true;
            for (const Column& c : o.columns) {
              text += (first ? "" : ", ") + columnSql(c, backend, true);
              first = false;
            }
            for (const ForeignKey& k : o.foreignKeys) text += ", " + foreignKeySql(o.table, k);
            sql(text + ")");
            for (const Index& index : o.indexes) out.steps.push_back(indexStep(o.table, index, postgres));
          } else if constexpr (std::is_same_v<T, DropTable>) {
            rebuilds.erase(o.table);
            sql("DROP TABLE " + quote(o.table));
            out.losesData = true;
            out.lossWhat = "drops table " + o.table;
          } else if constexpr (std::is_same_v<T, RenameTable>) {
            rebuilds.erase(o.from);
            sql("ALTER TABLE " + quote(o.from) + " RENAME TO " + quote(o.to));
          } else if constexpr (std::is_same_v<T, AddColumn>) {
            if (!postgres && rebuilds.contains(o.table))
              rebuild(o.table, "add column " + describeColumn(o.column)).added.push_back(o.column.name);
            else
              sql("ALTER TABLE " + quote(o.table) + " ADD COLUMN " + columnSql(o.column, backend, postgres));
            if (o.column.unique && !postgres)  // SQLite's ADD COLUMN takes no UNIQUE: an index does the same
              out.steps.push_back(indexStep(o.table, Index{{o.column.name}, IndexOptions{{}, true, false}}, postgres));
          } else if constexpr (std::is_same_v<T, DropColumn>) {
            rebuilds.erase(o.table);
            sql("ALTER TABLE " + quote(o.table) + " DROP COLUMN " + quote(o.column));
            out.losesData = true;
            out.lossWhat = "drops column " + o.table + "." + o.column;
          } else if constexpr (std::is_same_v<T, RenameColumn>) {
            rebuilds.erase(o.table);
            sql("ALTER TABLE " + quote(o.table) + " RENAME COLUMN " + quote(o.from) + " TO " + quote(o.to));
          } else if constexpr (std::is_same_v<T, ChangeColumn>) {
            if (o.column.kind == ColumnKind::GeneratedKey)
              throw UsageError("kith: a migration cannot change a column into a generated key");
            if (postgres) {
              const std::string c = quote(o.column.name), type = backend.columnType(o.column.kind);
              std::string text = "ALTER TABLE " + quote(o.table) + " ALTER COLUMN " + c + " TYPE " + type + " USING " + c + "::" + type +
                                 ", ALTER COLUMN " + c + (o.column.nullable ? " DROP NOT NULL" : " SET NOT NULL") + ", ALTER COLUMN " + c;
              text += o.column.defaultValue ? " SET DEFAULT " + literal(*o.column.defaultValue, o.column.kind, true) : " DROP DEFAULT";
              sql(text);
              out.steps.back().changed.push_back(index);
            } else {
              rebuild(o.table, "change column " + describeColumn(o.column)).changed.push_back(index);
            }
          } else if constexpr (std::is_same_v<T, AddIndex>) {
            out.steps.push_back(indexStep(o.table, o.index, postgres));
          } else if constexpr (std::is_same_v<T, DropIndex>) {
            sql("DROP INDEX " + quote(o.name));
          } else if constexpr (std::is_same_v<T, AddForeignKey>) {
            if (postgres)
              sql("ALTER TABLE " + quote(o.table) + " ADD " + foreignKeySql(o.table, o.key));
            else
              rebuild(o.table, "add " + foreignKeySql(o.table, o.key));
          } else if constexpr (std::is_same_v<T, DropForeignKey>) {
            if (postgres)
              sql("ALTER TABLE " + quote(o.table) + " DROP CONSTRAINT " + quote(o.name));
            else
              rebuild(o.table, "drop foreign key " + quote(o.name));
          } else if constexpr (std::is_same_v<T, Raw>) {
            rebuilds.clear();  // SQL of the user's and data steps see every change before them done
            sql(o.sql, o.transactional);
          } else if constexpr (std::is_same_v<T, Data>) {
            rebuilds.clear();
            out.steps.push_back({Step::Kind::Data, o.label, true, index, {}, {}, {}, {}});
          }
        },
        ops[index]);
  }
  return out;
}

/// FNV-1a over what the migration renders on this database (a rebuild by the changes it makes, not
/// by the table it copies, which later migrations change): 16 hex digits.
inline std::string checksum(const Rendered& r) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const auto add = [&](std::string_view text) {
    for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    h = (h ^ '\n') * 0x100000001b3ULL;
  };
  for (const Step& step : r.steps) add((step.kind == Step::Kind::Data ? "data: " : "") + step.text);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = hex[h & 15];
  return out;
}

/// The rows of `sql`, their first `columns` values as text (nullopt for NULL), straight through
/// the adapter. Also runs a statement that returns no rows (columns 0).
template <class... Args>
std::vector<std::vector<std::optional<std::string>>> select(Backend& backend, int columns, std::string_view sql, const Args&... params) {
  std::vector<std::vector<std::optional<std::string>>> out;
  Run run(backend, sql);
  int index = 0;
  (run.bind(++index, params), ...);
  while (run.step()) {
    auto& row = out.emplace_back();
    for (int c = 0; c < columns; ++c)
      row.push_back(run.statement().isNull(c) ? std::nullopt : std::optional<std::string>(std::string(run.statement().text(c))));
  }
  return out;
}

// ---- SQLite's table rebuild ------------------------------------------------------------------

/// Splits SQL into tokens: words, quoted strings and identifiers, parenthesized groups (one token
/// each, nested quotes respected), and single characters.
inline std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  const auto closing = [&](std::size_t from, char close) {  // index past the quote that closes at `from`
    std::size_t j = from + 1;
    while (j < s.size()) {
      if (s[j] == close) {
        if (close != ']' && j + 1 < s.size() && s[j + 1] == close) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      ++j;
    }
    return s.size();
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    std::size_t end = i + 1;
    if (c == '\'' || c == '"' || c == '`') {
      end = closing(i, c);
    } else if (c == '[') {
      end = closing(i, ']');
    } else if (c == '(') {
      int depth = 0;
      for (end = i; end < s.size(); ++end) {
        const char d = s[end];
        if (d == '\'' || d == '"' || d == '`') {
          end = closing(end, d) - 1;
        } else if (d == '(') {
          ++depth;
        } else if (d == ')' && --depth == 0) {
          ++end;
          break;
        }
      }
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || static_cast<unsigned char>(c) >= 0x80) {
      while (end < s.size() && (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_' || s[end] == '$' || s[end] == '.' ||
                                static_cast<unsigned char>(s[end]) >= 0x80))
        ++end;
    }
    out.push_back(s.substr(i, end - i));
    i = end;
  }
  return out;
}

inline bool keyword(std::string_view token, std::string_view word) {
  if (token.size() != word.size()) return false;
  for (std::size_t i = 0; i < token.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(token[i])) != word[i]) return false;
  return true;
}

/// An identifier as written, without its quotes.
inline std::string unquoted(std::string_view token) {
  if (token.size() >= 2 && (token.front() == '"' || token.front() == '`' || token.front() == '[')) {
    const char close = token.front() == '[' ? ']' : token.front();
    std::string out;
    for (std::size_t i = 1; i + 1 < token.size(); ++i) {
      out += token[i];
      if (token[i] == close && close != ']') ++i;  // a doubled quote
    }
    return out;
  }
  return std::string(token);
}

inline bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

/// A CREATE TABLE statement as SQLite keeps it (sqlite_schema.sql): its column definitions and
/// table constraints as written, which a rebuild changes one by one and keeps otherwise.
struct TableDefinition {
  std::vector<std::string> items;
  std::string tail;  // after the closing parenthesis: WITHOUT ROWID, STRICT

  static TableDefinition parse(std::string_view sql) {
    TableDefinition d;
    const auto all = tokens(sql);
    const auto body = std::find_if(all.begin(), all.end(), [](std::string_view t) { return t.front() == '('; });
    if (body == all.end()) throw UsageError("kith: cannot read the table definition: " + std::string(sql));
    const std::string_view inner = body->substr(1, body->size() - 2);
    // Items split at the commas outside quotes and parentheses.
    const auto parts = tokens(inner);
    std::string item;
    for (const auto t : parts) {
      if (t == ",") {
        d.items.push_back(item);
        item.clear();
        continue;
      }
      if (!item.empty()) item += ' ';
      item += t;
    }
    if (!item.empty()) d.items.push_back(item);
    for (auto it = body + 1; it != all.end(); ++it) d.tail += " " + std::string(*it);
    return d;
  }

  static bool isConstraint(std::string_view item) {
    const auto t = tokens(item);
    return !t.empty() && (keyword(t[0], "CONSTRAINT") || keyword(t[0], "PRIMARY") || keyword(t[0], "UNIQUE") || keyword(t[0], "CHECK") ||
                          keyword(t[0], "FOREIGN"));
  }

  /// The column names, in order (generated columns left out: they cannot be copied).
  std::vector<std::string> copiedColumns() const {
    std::vector<std::string> out;
    for (const auto& item : items) {
      if (isConstraint(item)) continue;
      const auto t = tokens(item);
      if (std::any_of(t.begin(), t.end(), [](std::string_view w) { return keyword(w, "GENERATED") || keyword(w, "AS"); })) continue;
      out.push_back(unquoted(t[0]));
    }
    return out;
  }

  std::string render(std::string_view table) const {
    std::string sql = "CREATE TABLE " + quote(table) + " (";
    for (std::size_t i = 0; i < items.size(); ++i) sql += (i ? ", " : "") + items[i];
    return sql + ")" + tail;
  }
};

inline bool isColumnConstraintWord(std::string_view t) {
  for (const std::string_view k :
       {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"})
    if (keyword(t, k)) return true;
  return false;
}

/// The kind SQLite's type affinity rules give a declared type (kith's TEXT for times reads as Text).
inline ColumnKind affinityKind(std::string type) {
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (type.find("INT") != std::string::npos) return ColumnKind::Integer;
  if (type.find("CHAR") != std::string::npos || type.find("CLOB") != std::string::npos || type.find("TEXT") != std::string::npos)
    return ColumnKind::Text;
  if (type.empty() || type.find("BLOB") != std::string::npos) return ColumnKind::Blob;
  return ColumnKind::Real;
}

/// False when changing a column from `from` to `to` can lose what it holds.
inline bool widens(ColumnKind from, ColumnKind to) {
  using K = ColumnKind;
  if (from == to || to == K::Text) return from != K::Blob || to == K::Blob;
  if (from == K::Boolean) return to == K::Integer || to == K::Real;
  if (from == K::Integer || from == K::GeneratedKey) return to == K::Integer || to == K::Real;
  return false;
}

inline std::string kindName(ColumnKind k) {
  switch (k) {
    case ColumnKind::GeneratedKey:
    case ColumnKind::Integer:
      return "integer";
    case ColumnKind::Boolean:
      return "boolean";
    case ColumnKind::Real:
      return "real";
    case ColumnKind::Text:
      return "text";
    case ColumnKind::Blob:
      return "blob";
    case ColumnKind::Timestamp:
      return "timestamp";
  }
  return "?";
}

/// Applies one change to the definition of `table`; a column whose type narrows is reported in
/// `narrowed`.
inline void change(TableDefinition& d, std::string_view table, const Operation& op, const Backend& backend,
                   std::vector<std::string>& narrowed) {
  if (const auto* c = std::get_if<ChangeColumn>(&op)) {
    const auto item = std::find_if(d.items.begin(), d.items.end(), [&](const std::string& i) {
      return !TableDefinition::isConstraint(i) && sameName(unquoted(tokens(i)[0]), c->column.name);
    });
    if (item == d.items.end())
      throw UsageError("kith: table \"" + std::string(table) + "\" has no column \"" + c->column.name + "\" to change");
    const auto t = tokens(*item);
    std::size_t at = 1;
    std::string oldType;
    for (; at < t.size() && !isColumnConstraintWord(t[at]); ++at) oldType += (oldType.empty() ? "" : " ") + std::string(t[at]);
    // SQLite keeps kith's times as text: text to time (or back) changes nothing stored.
    const ColumnKind target = c->column.kind == ColumnKind::Timestamp ? ColumnKind::Text : c->column.kind;
    if (!widens(affinityKind(oldType), target))
      narrowed.push_back(c->column.name + " from " + (oldType.empty() ? "(no type)" : oldType) + " to " + kindName(c->column.kind));
    std::string kept;  // the column's other constraints, without its old NULL, NOT NULL and DEFAULT
    while (at < t.size()) {
      if (keyword(t[at], "NOT") && at + 1 < t.size() && keyword(t[at + 1], "NULL")) {
        at += 2;
        if (at + 1 < t.size() && keyword(t[at], "ON") && keyword(t[at + 1], "CONFLICT")) at += 3;
      } else if (keyword(t[at], "NULL")) {
        ++at;
      } else if (keyword(t[at], "DEFAULT")) {
        ++at;
        if (at < t.size() && (t[at] == "-" || t[at] == "+")) ++at;
        ++at;
      } else {
        kept += " " + std::string(t[at++]);
      }
    }
    Column declared = c->column;
    declared.unique = false;  // unique is an index of its own in a change
    *item = columnSql(declared, backend, false) + kept;
  } else if (const auto* n = std::get_if<AddColumn>(&op)) {  // before the table's constraints, as CREATE TABLE wants
    Column declared = n->column;
    declared.unique = false;  // an index of its own, after the rebuild
    const auto constraint =
        std::find_if(d.items.begin(), d.items.end(), [](const std::string& i) { return TableDefinition::isConstraint(i); });
    d.items.insert(constraint, columnSql(declared, backend, false));
  } else if (const auto* a = std::get_if<AddForeignKey>(&op)) {
    d.items.push_back(foreignKeySql(table, a->key));
  } else if (const auto* r = std::get_if<DropForeignKey>(&op)) {
    const auto item = std::find_if(d.items.begin(), d.items.end(), [&](const std::string& i) {
      const auto t = tokens(i);
      return t.size() > 2 && keyword(t[0], "CONSTRAINT") && sameName(unquoted(t[1]), r->name) && keyword(t[2], "FOREIGN");
    });
    if (item == d.items.end())
      throw UsageError("kith: table \"" + std::string(table) + "\" has no foreign key named \"" + r->name +
                       "\" (kith names them <table>_<column>_foreign; a key declared without a name cannot be dropped by one)");
    d.items.erase(item);
  }
}

/// The rebuild of sqlite.org/lang_altertable.html section 7, inside the migration's transaction
/// (foreign keys are off around it): a new table with the changed definition, the rows copied, the
/// old table dropped and the new one renamed, then its indexes and triggers, and the views and
/// other triggers that name it, recreated as they were.
inline void rebuildTable(Backend& b, const Step& step, const Schema& schema, std::vector<std::string>& ran) {
  const auto found = select(b, 1, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?", step.table);
  if (found.empty() || !found[0][0]) throw UsageError("kith: there is no table \"" + step.table + "\" to change");
  TableDefinition d = TableDefinition::parse(*found[0][0]);
  std::vector<std::string> narrowed;
  for (const std::size_t op : step.changes) change(d, step.table, schema.ops[op], b, narrowed);
  if (!narrowed.empty() && !schema.acceptsLoss)
    throw UsageError("kith: changing " + narrowed.front() + " can lose data; the migration must say schema.acceptDataLoss()");
  // What DROP TABLE takes with it, or what would stop the rename: recreated afterwards, in order.
  const auto saved = select(b, 3,
                            "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND type <> 'table' AND "
                            "(tbl_name = ? OR (type IN ('view', 'trigger') AND instr(lower(sql), lower(?)) > 0)) ORDER BY rowid",
                            step.table, step.table);
  const auto run = [&](const std::string& sql) {
    ran.push_back(sql);
    executeSql(b, sql);
  };
  for (const auto& row : saved)
    if (*row[0] == "view")
      run("DROP VIEW " + quote(*row[1]));
    else if (*row[0] == "trigger")
      run("DROP TRIGGER " + quote(*row[1]));
  const std::string temporary = "kith_rebuild_" + step.table;
  auto columns = d.copiedColumns();
  std::erase_if(columns, [&](const std::string& c) {
    return std::any_of(step.added.begin(), step.added.end(), [&](const std::string& a) { return sameName(a, c); });
  });
  std::string list;
  for (std::size_t i = 0; i < columns.size(); ++i) list += (i ? ", " : "") + quote(columns[i]);
  run(d.render(temporary));
  run("INSERT INTO " + quote(temporary) + " (" + list + ") SELECT " + list + " FROM " + quote(step.table));
  // AUTOINCREMENT promises never to reuse a key, even of a deleted row: the new table's counter
  // starts where the old one was, not at the largest key it holds.
  const bool counted = !select(b, 1, "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").empty();
  const auto counter = counted ? select(b, 1, "SELECT seq FROM sqlite_sequence WHERE name = ?", step.table)
                               : std::vector<std::vector<std::optional<std::string>>>{};
  run("DROP TABLE " + quote(step.table));
  run("ALTER TABLE " + quote(temporary) + " RENAME TO " + quote(step.table));
  if (!counter.empty() && counter[0][0]) {
    const std::int64_t seq = std::stoll(*counter[0][0]);
    ran.push_back("-- the AUTOINCREMENT counter of " + quote(step.table) + " kept at " + *counter[0][0]);
    select(b, 0, "DELETE FROM sqlite_sequence WHERE name = ?", step.table);
    select(b, 0, "INSERT INTO sqlite_sequence (name, seq) SELECT ?, max(?, coalesce(max(rowid), 0)) FROM " + quote(step.table), step.table,
           seq);
  }
  for (const auto& row : saved) run(*row[2]);
}

// ---- The runner --------------------------------------------------------------------------------

inline constexpr std::string_view table = "kith_migrations";

struct Record {
  std::int64_t batch = 0;
  std::string checksum, appliedAt;
};

inline bool tableExists(Backend& b);

/// Creates kith_migrations when it is missing (looked for first: on SQLite, CREATE TABLE IF NOT
/// EXISTS would wait for the write lock another runner holds).
/// SQLite: waits for another writer up to `lockTimeout`, as the runner does for each migration.
inline void ensureTable(Backend& b, std::chrono::milliseconds lockTimeout) {
  if (tableExists(b)) return;
  const auto deadline = std::chrono::steady_clock::now() + lockTimeout;
  while (true) {
    try {
      executeSql(b, "CREATE TABLE IF NOT EXISTS " + quote(table) + " (" + quote("name") + " " + b.columnType(ColumnKind::Text) +
                        " NOT NULL PRIMARY KEY, " + quote("batch") + " " + b.columnType(ColumnKind::Integer) + " NOT NULL, " +
                        quote("checksum") + " " + b.columnType(ColumnKind::Text) + " NOT NULL, " + quote("applied_at") + " " +
                        b.columnType(ColumnKind::Timestamp) + " NOT NULL)");
      return;
    } catch (const BusyError&) {
      if (std::chrono::steady_clock::now() >= deadline)
        throw MigrationError("kith: another connection held the database's write lock for more than " +
                                 std::to_string(lockTimeout.count()) + " ms, so kith_migrations could not be made. Nothing ran",
                             "");
    }
  }
}

inline bool tableExists(Backend& b) {
  if (b.dialect() == "postgresql")
    return !select(b, 1, "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?", table).empty();
  return !select(b, 1, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", table).empty();
}

inline std::map<std::string, Record> applied(Backend& b) {
  std::map<std::string, Record> out;
  if (!tableExists(b)) return out;
  for (auto& row : select(b, 4, "SELECT \"name\", \"batch\", \"checksum\", \"applied_at\" FROM \"kith_migrations\""))
    out[*row[0]] = Record{std::stoll(*row[1]), *row[2], row[3].value_or("")};
  return out;
}

/// The migrations sorted by name, each name once.
inline std::vector<const Migration*> sorted(std::span<const Migration> migrations) {
  std::vector<const Migration*> out;
  for (const Migration& m : migrations) {
    if (m.name.empty()) throw MigrationError("kith: a migration has no name; name each one, in the order they apply", "");
    if (!m.up) throw MigrationError("kith: migration \"" + m.name + "\" has no up", m.name);
    out.push_back(&m);
  }
  std::sort(out.begin(), out.end(), [](const Migration* a, const Migration* b) { return a->name < b->name; });
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i]->name == out[i - 1]->name) throw MigrationError("kith: two migrations are named \"" + out[i]->name + "\"", out[i]->name);
  return out;
}

struct Described {
  Schema schema;
  Rendered rendered;
  std::string checksum;
  bool transactional = true;
};

inline Described describe(const std::function<void(Schema&)>& define, const Backend& b, const std::string& name) {
  Described d;
  define(d.schema);
  d.rendered = render(d.schema.ops, b);
  d.checksum = checksum(d.rendered);
  const auto outside = std::count_if(d.rendered.steps.begin(), d.rendered.steps.end(), [](const Step& s) { return !s.transactional; });
  if (outside > 0 && static_cast<std::size_t>(outside) != d.rendered.steps.size())
    throw MigrationError("kith: migration \"" + name +
                             "\" mixes statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY, rawOutsideTransaction) "
                             "with others; give them a migration of their own",
                         name);
  d.transactional = outside == 0;
  return d;
}

/// A 64-bit key for PostgreSQL's advisory lock: the migrations of one schema.
inline std::int64_t lockKey(Backend& b) {
  const auto schema = select(b, 1, "SELECT current_schema()");
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : "kith_migrations " + schema.at(0).at(0).value_or("")) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return static_cast<std::int64_t>(h);
}

/// Holds PostgreSQL's advisory lock on the schema's migrations for a run (released when the
/// session ends, so a killed runner leaves none behind); SQLite's runs take its write lock per
/// migration instead.
class RunLock {
 public:
  RunLock(Backend& b, std::chrono::milliseconds timeout) : b_(b) {
    if (b.dialect() != "postgresql") return;
    key_ = lockKey(b);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      Run run(b, "SELECT pg_try_advisory_lock(?)");
      run.bind(1, key_);
      if (run.step() && run.statement().integer(0) != 0) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        const std::int64_t hi = static_cast<std::int64_t>(static_cast<std::uint64_t>(key_) >> 32), lo = key_ & 0xffffffff;
        const auto holders = select(b, 4,
                                    "SELECT a.pid, coalesce(nullif(a.application_name, ''), 'no application name'), "
                                    "coalesce(a.client_addr::text, 'local'), a.backend_start::text FROM pg_locks l JOIN "
                                    "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND l.classid = "
                                    "?::bigint::oid AND l.objid = ?::bigint::oid AND l.objsubid = 1",
                                    hi, lo);
        std::string who = "another session";
        if (!holders.empty())
          who = "the session of process " + holders[0][0].value_or("?") + " (" + holders[0][1].value_or("") + ", " +
                holders[0][2].value_or("") + ", connected since " + holders[0][3].value_or("?") + ")";
        throw MigrationError("kith: another runner holds the migration lock of this schema: " + who + ", for more than " +
                                 std::to_string(timeout.count()) + " ms; wait for it, or end that session (pg_terminate_backend)",
                             "");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    held_ = true;
  }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock() {
    if (!held_) return;
    try {
      Run run(b_, "SELECT pg_advisory_unlock(?)");
      run.bind(1, key_);
      run.finish();
    } catch (...) {  // a lost session released it
    }
  }

 private:
  Backend& b_;
  std::int64_t key_ = 0;
  bool held_ = false;
};

inline std::string now() {
  const auto t = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  return Codec<std::chrono::sys_time<std::chrono::microseconds>>::format(t);
}

/// The kind of a PostgreSQL type as information_schema or format_type() writes it.
inline ColumnKind postgresKind(std::string_view type) {
  if (type == "bigint" || type == "integer" || type == "smallint") return ColumnKind::Integer;
  if (type == "boolean") return ColumnKind::Boolean;
  if (type == "double precision" || type == "real" || type.starts_with("numeric")) return ColumnKind::Real;
  if (type == "bytea") return ColumnKind::Blob;
  if (type.starts_with("timestamp") || type == "date") return ColumnKind::Timestamp;
  return ColumnKind::Text;
}

/// What the migration ran (or would run), for its result: statements, and comments for data steps
/// and rebuilds.
inline std::vector<std::string> listing(const Rendered& r) {
  std::vector<std::string> out;
  for (const Step& step : r.steps) out.push_back(step.kind == Step::Kind::Data ? "-- data: " + step.text : step.text);
  return out;
}

/// Runs one direction of one migration in a transaction of its own (or, for statements that
/// cannot run in one, each alone), and records it (up) or forgets it (down). Returns false when
/// another runner did it first. Any failure is a MigrationError naming the migration and the
/// statement, after the transaction was rolled back.
inline bool runMigration(const Connection& db, const std::string& name, const Described& d, std::int64_t batch, bool up,
                         std::chrono::milliseconds lockTimeout, std::chrono::milliseconds tableLockTimeout, std::vector<std::string>& ran) {
  Backend& b = db.backend();
  const bool postgres = b.dialect() == "postgresql";
  const bool rebuilds =
      std::any_of(d.rendered.steps.begin(), d.rendered.steps.end(), [](const Step& s) { return s.kind == Step::Kind::Rebuild; });
  std::string statement;
  const auto fail = [&](const std::string& why) -> MigrationError {
    const bool lockWait = why.find("SQLSTATE 55P03") != std::string::npos;  // lock_timeout
    return MigrationError("kith: migration \"" + name + "\" (" + (up ? "up" : "down") + ") failed" +
                              (statement.empty() ? "" : " at: " + statement) + ": " + why +
                              (lockWait ? "; another session held a lock on the table for longer than tableLockTimeout (a long "
                                          "transaction or query): run again when it ends"
                                        : "") +
                              "; the database is as it was before this migration (those before it in the run stay applied)",
                          name, statement);
  };
  const auto runStep = [&](const Step& step, const Connection& on) {
    statement = step.kind == Step::Kind::Data ? "the data step \"" + step.text + "\"" : step.text;
    if (step.kind == Step::Kind::Data) {
      std::get<Data>(d.schema.ops[step.data]).run(on);
      ran.push_back("-- data: " + step.text);
      return;
    }
    if (step.kind == Step::Kind::Rebuild) {
      rebuildTable(on.backend(), step, d.schema, ran);
      return;
    }
    for (const std::size_t op : step.changed) {  // PostgreSQL: a narrowing type is refused unless accepted
      const auto* c = &std::get<ChangeColumn>(d.schema.ops[op]);
      const auto type =
          select(on.backend(), 1,
                 "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND "
                 "column_name = ?",
                 c->table, c->column.name);
      if (!type.empty() && !widens(postgresKind(type[0][0].value_or("")), c->column.kind) && !d.schema.acceptsLoss)
        throw UsageError("kith: changing " + c->column.name + " from " + type[0][0].value_or("") + " to " + kindName(c->column.kind) +
                         " can lose data; the migration must say schema.acceptDataLoss()");
    }
    // PostgreSQL will not change the type of a column a view reads: the views over the table (and
    // the views over those) are dropped and created again around the change, as they were.
    std::vector<std::vector<std::optional<std::string>>> views;
    if (postgres && !step.changed.empty()) {
      const auto& table = std::get<ChangeColumn>(d.schema.ops[step.changed.front()]).table;
      views = select(on.backend(), 2,
                     "WITH RECURSIVE deps(oid, depth) AS (SELECT v.oid, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN "
                     "pg_class v ON v.oid = r.ev_class WHERE d.refobjid = to_regclass(?) AND v.oid <> d.refobjid AND v.relkind = 'v' "
                     "UNION SELECT v.oid, deps.depth + 1 FROM deps JOIN pg_depend d ON d.refobjid = deps.oid JOIN pg_rewrite r ON "
                     "r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class WHERE v.oid <> d.refobjid AND v.relkind = 'v' AND deps.depth "
                     "< 32) SELECT oid::regclass::text, pg_get_viewdef(oid) FROM deps GROUP BY oid ORDER BY max(depth), oid",
                     quote(table));
      for (auto it = views.rbegin(); it != views.rend(); ++it) {
        ran.push_back("DROP VIEW " + *(*it)[0]);
        on.execute(ran.back());
      }
    }
    on.execute(step.text);
    ran.push_back(step.text);
    for (const auto& view : views) {
      ran.push_back("CREATE VIEW " + *view[0] + " AS " + *view[1]);
      on.execute(ran.back());
    }
  };
  const auto record = [&](const Connection& on) {
    statement.clear();
    if (up)
      on.execute("INSERT INTO \"kith_migrations\" (\"name\", \"batch\", \"checksum\", \"applied_at\") VALUES (?, ?, ?, ?)", name, batch,
                 d.checksum, now());
    else
      on.execute("DELETE FROM \"kith_migrations\" WHERE \"name\" = ?", name);
  };
  const auto done = [&](const Connection& on) {  // already in the state this run would bring
    const bool recorded = !select(on.backend(), 1, "SELECT 1 FROM \"kith_migrations\" WHERE \"name\" = ?", name).empty();
    return recorded == up;
  };

  bool foreignKeysWereOn = false;
  if (!postgres && rebuilds) {  // PRAGMA foreign_keys does nothing inside a transaction
    foreignKeysWereOn = select(b, 1, "PRAGMA foreign_keys").at(0).at(0) == std::optional<std::string>("1");
    if (foreignKeysWereOn) executeSql(b, "PRAGMA foreign_keys = OFF");
  }
  struct Restore {
    Backend& b;
    bool on;
    ~Restore() {
      if (on) try {
          executeSql(b, "PRAGMA foreign_keys = ON");
        } catch (...) {
        }
    }
  } restore{b, foreignKeysWereOn};

  try {
    if (!d.transactional) {  // each statement alone; recorded once all have run
      if (done(db)) return false;
      for (const Step& step : d.rendered.steps) {
        // An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index, which IF NOT EXISTS
        // would then keep: it is dropped first, and built again.
        const auto t = tokens(step.text);
        const auto concurrently = std::find_if(t.begin(), t.end(), [](std::string_view w) { return keyword(w, "CONCURRENTLY"); });
        if (postgres && t.size() > 2 && keyword(t[0], "CREATE") && concurrently != t.end() && concurrently + 4 < t.end() &&
            keyword(*(concurrently + 1), "IF") && keyword(*(concurrently + 3), "EXISTS")) {
          const std::string index = unquoted(*(concurrently + 4));
          if (!select(b, 1, "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(?) AND NOT indisvalid", quote(index)).empty()) {
            statement = "DROP INDEX CONCURRENTLY IF EXISTS " + quote(index);
            ran.push_back(statement);
            db.execute(statement);
          }
        }
        runStep(step, db);
      }
      record(db);
      return true;
    }
    std::optional<Transaction> trx;
    const auto deadline = std::chrono::steady_clock::now() + lockTimeout;
    while (!trx) {
      try {
        trx.emplace(db.begin());  // SQLite: BEGIN IMMEDIATE, the database's write lock
      } catch (const BusyError&) {
        if (std::chrono::steady_clock::now() >= deadline)
          throw fail("another runner held the database's write lock for more than " + std::to_string(lockTimeout.count()) + " ms");
      }
    }
    if (done(*trx)) return false;
    if (postgres && tableLockTimeout.count() > 0)  // for this transaction only
      trx->execute("SELECT set_config('lock_timeout', ?, true)", std::to_string(tableLockTimeout.count()) + "ms");
    for (const Step& step : d.rendered.steps) runStep(step, *trx);
    if (!postgres && rebuilds) {
      statement = "PRAGMA foreign_key_check";
      const auto broken = select(trx->backend(), 4, "PRAGMA foreign_key_check");
      if (!broken.empty())
        throw UsageError("the rebuild left " + std::to_string(broken.size()) +
                         " row(s) whose foreign key points nowhere (the first in table \"" + broken[0][0].value_or("?") + "\", rowid " +
                         broken[0][1].value_or("?") + ", to \"" + broken[0][2].value_or("?") + "\")");
    }
    record(*trx);
    trx->commit();
    return true;
  } catch (const MigrationError&) {
    throw;
  } catch (const std::exception& e) {
    throw fail(e.what());
  }
}

}  // namespace detail::migration

struct MigrateOptions {
  /// Return what would run, without running it (nor creating kith_migrations).
  bool dryRun = false;
  /// How long to wait for another runner (PostgreSQL: its advisory lock; SQLite: its write lock).
  std::chrono::milliseconds lockTimeout{30'000};
  /// PostgreSQL: how long a statement of a migration may wait for its table's lock (lock_timeout)
  /// before the migration fails and changes nothing; 0: as long as it takes. While an ALTER TABLE
  /// waits behind a long query, every other query on the table waits behind the ALTER: under
  /// traffic, a few seconds here is the safer choice.
  std::chrono::milliseconds tableLockTimeout{0};
};

struct RollbackOptions {
  /// Roll back every applied migration whose name comes after this one; empty: the last batch.
  std::string to;
  bool dryRun = false;
  std::chrono::milliseconds lockTimeout{30'000};
  std::chrono::milliseconds tableLockTimeout{0};  // as MigrateOptions's
};

/// One migration a run applied or rolled back (or, with dryRun, would).
struct MigrationResult {
  std::string name;
  std::int64_t batch = 0;
  std::vector<std::string> sql;  // the statements, in order; "-- data: ..." for a data step, "-- SQLite table rebuild ..." for a rebuild
  std::chrono::microseconds took{};
};

struct MigrationRun {
  std::int64_t batch = 0;  // the batch applied or rolled back; 0 when there was nothing to do
  std::vector<MigrationResult> migrations;
};

enum class MigrationState {
  Applied,  // recorded, and its checksum is the program's
  Pending,  // not applied yet
  Changed,  // applied, but the program's version renders other SQL now (migrate refuses; repairMigrations accepts)
  Unknown,  // applied, but not in the program
};

struct MigrationStatus {
  std::string name;
  MigrationState state;
  std::int64_t batch = 0;  // when applied
  std::string appliedAt;   // UTC, when applied
};

/// Applies the pending migrations in name order, each in its own transaction with its record in
/// kith_migrations (name, batch, checksum, applied_at), all under one batch number. Refused before
/// anything runs: an applied migration whose checksum changed, a migration that drops a table or
/// column without acceptDataLoss(), one that mixes statements that cannot run in a transaction with
/// others. One runner at a time: PostgreSQL's advisory lock for the run (the error names who holds
/// it), SQLite's write lock for each migration; a migration another runner applied meanwhile is
/// skipped. A failure is a MigrationError naming the migration and the statement; that migration
/// left nothing, those before it stay applied.
inline MigrationRun migrate(const Connection& db, std::span<const Migration> migrations, const MigrateOptions& options = {}) {
  using namespace detail::migration;
  const OnPrimary primary(db);  // with read replicas: the lock and the records are the primary's
  if (db.inTransaction()) throw UsageError("kith::migrate manages its own transactions: pass a connection outside any transaction");
  detail::Backend& b = db.backend();
  const auto ordered = sorted(migrations);
  if (!options.dryRun) detail::executeSql(b, "SELECT 1");  // a lost connection reconnects before the lock is taken
  std::optional<RunLock> lock;
  if (!options.dryRun) {
    lock.emplace(b, options.lockTimeout);  // first: two PostgreSQL sessions creating kith_migrations at once collide
    ensureTable(b, options.lockTimeout);
  }
  const auto done = applied(b);
  std::vector<std::pair<const Migration*, Described>> pending;
  for (const Migration* m : ordered) {
    Described d = describe(m->up, b, m->name);
    if (const auto it = done.find(m->name); it != done.end()) {
      if (it->second.checksum != d.checksum)
        throw MigrationError("kith: migration \"" + m->name + "\" was changed after it was applied (checksum " + it->second.checksum +
                                 ", now " + d.checksum +
                                 "); restore what it was, or accept what it is now with kith::repairMigrations. Nothing ran",
                             m->name);
      continue;
    }
    if (d.rendered.losesData && !d.schema.acceptsLoss)
      throw MigrationError("kith: migration \"" + m->name + "\" " + d.rendered.lossWhat +
                               ", which loses data; say schema.acceptDataLoss() in it if that is meant. Nothing ran",
                           m->name);
    pending.emplace_back(m, std::move(d));
  }
  MigrationRun run;
  if (pending.empty()) return run;
  std::int64_t last = 0;
  for (const auto& [name, record] : done) last = std::max(last, record.batch);
  run.batch = last + 1;
  for (auto& [m, d] : pending) {
    MigrationResult result{m->name, run.batch, {}, {}};
    if (options.dryRun) {
      result.sql = listing(d.rendered);
      run.migrations.push_back(std::move(result));
      continue;
    }
    const auto started = std::chrono::steady_clock::now();
    if (runMigration(db, m->name, d, run.batch, true, options.lockTimeout, options.tableLockTimeout, result.sql)) {
      result.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
      run.migrations.push_back(std::move(result));
    }
  }
  if (run.migrations.empty()) run.batch = 0;
  return run;
}

/// Rolls back the last batch (or every migration after `options.to`), newest first, each with its
/// down in its own transaction, and removes their records. A migration to roll back that the
/// program does not know, or that has no down, is refused before anything runs.
inline MigrationRun rollbackMigrations(const Connection& db, std::span<const Migration> migrations, const RollbackOptions& options = {}) {
  using namespace detail::migration;
  const OnPrimary primary(db);  // with read replicas: the lock and the records are the primary's
  if (db.inTransaction())
    throw UsageError("kith::rollbackMigrations manages its own transactions: pass a connection outside any transaction");
  detail::Backend& b = db.backend();
  const auto ordered = sorted(migrations);
  std::optional<RunLock> lock;
  if (!options.dryRun) lock.emplace(b, options.lockTimeout);
  const auto done = applied(b);
  if (!options.to.empty() && !done.contains(options.to))
    throw MigrationError("kith: cannot roll back to \"" + options.to + "\": it is not applied", options.to);
  std::int64_t last = 0;
  for (const auto& [name, record] : done) last = std::max(last, record.batch);
  std::vector<std::pair<std::string, std::int64_t>> targets;  // newest first
  for (auto it = done.rbegin(); it != done.rend(); ++it)
    if (options.to.empty() ? it->second.batch == last : it->first > options.to) targets.emplace_back(it->first, it->second.batch);
  std::vector<std::pair<const Migration*, Described>> downs;
  for (const auto& target : targets) {
    const std::string& name = target.first;
    const auto m = std::find_if(ordered.begin(), ordered.end(), [&](const Migration* x) { return x->name == name; });
    if (m == ordered.end())
      throw MigrationError("kith: migration \"" + name + "\" is applied but not in this program, so it cannot be rolled back. Nothing ran",
                           name);
    if (!(*m)->down) throw MigrationError("kith: migration \"" + name + "\" has no down, so it cannot be rolled back. Nothing ran", name);
    Described d = describe((*m)->down, b, name);
    if (d.rendered.losesData && !d.schema.acceptsLoss)
      throw MigrationError("kith: the down of migration \"" + name + "\" " + d.rendered.lossWhat +
                               ", which loses data; say schema.acceptDataLoss() in it if that is meant. Nothing ran",
                           name);
    downs.emplace_back(*m, std::move(d));
  }
  MigrationRun run;
  run.batch = targets.empty() ? 0 : (options.to.empty() ? last : targets.front().second);
  for (std::size_t i = 0; i < downs.size(); ++i) {
    auto& [m, d] = downs[i];
    MigrationResult result{m->name, targets[i].second, {}, {}};
    if (options.dryRun) {
      result.sql = listing(d.rendered);
    } else {
      const auto started = std::chrono::steady_clock::now();
      if (!runMigration(db, m->name, d, targets[i].second, false, options.lockTimeout, options.tableLockTimeout, result.sql)) continue;
      result.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    }
    run.migrations.push_back(std::move(result));
  }
  return run;
}

/// Every migration of the program and every applied one, in name order, with its state.
inline std::vector<MigrationStatus> migrationStatus(const Connection& db, std::span<const Migration> migrations) {
  using namespace detail::migration;
  const OnPrimary primary(db);  // with read replicas: the lock and the records are the primary's
  detail::Backend& b = db.backend();
  const auto done = applied(b);
  std::map<std::string, MigrationStatus> out;
  for (const Migration* m : sorted(migrations)) {
    const auto it = done.find(m->name);
    if (it == done.end()) {
      out[m->name] = {m->name, MigrationState::Pending, 0, {}};
    } else {
      const bool same = describe(m->up, b, m->name).checksum == it->second.checksum;
      out[m->name] = {m->name, same ? MigrationState::Applied : MigrationState::Changed, it->second.batch, it->second.appliedAt};
    }
  }
  for (const auto& [name, record] : done)
    if (!out.contains(name)) out[name] = {name, MigrationState::Unknown, record.batch, record.appliedAt};
  std::vector<MigrationStatus> list;
  for (auto& [name, status] : out) list.push_back(std::move(status));
  return list;
}

/// Accepts the program's version of applied migrations whose checksum changed (a reformatted
/// migration, say): records their new checksums, runs nothing else. Returns their names.
inline std::vector<std::string> repairMigrations(const Connection& db, std::span<const Migration> migrations) {
  using namespace detail::migration;
  const OnPrimary primary(db);  // with read replicas: the lock and the records are the primary's
  detail::Backend& b = db.backend();
  std::vector<std::string> repaired;
  db.transaction([&](Transaction& trx) {
    const auto done = applied(b);
    for (const Migration* m : sorted(migrations)) {
      const auto it = done.find(m->name);
      if (it == done.end()) continue;
      const auto now = describe(m->up, b, m->name).checksum;
      if (now == it->second.checksum) continue;
      trx.execute("UPDATE \"kith_migrations\" SET \"checksum\" = ? WHERE \"name\" = ?", now, m->name);
      repaired.push_back(m->name);
    }
  });
  return repaired;
}

}  // namespace kith
