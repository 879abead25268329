// kith::verifySchema: the live database (SQLite's pragmas, PostgreSQL's catalogs) checked against
// the model declarations — every table, column, type, NULL rule and relation index the models need
// — so that an application refuses to start with a list of what is wrong, instead of failing on the
// first query that touches it. Not included by kith.hpp.
#pragma once

#include <kith/migrate.hpp>
#include <kith/schema.hpp>

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kith {

/// One way the database differs from what the models need.
struct SchemaProblem {
  std::string table;
  std::string column;   // empty for a table or an index
  std::string message;  // a sentence that says what is wrong and what it breaks
};

/// What verifySchema found: nothing when the database serves the models.
struct SchemaReport {
  std::vector<SchemaProblem> problems;

  bool ok() const noexcept { return problems.empty(); }
  /// Every problem, one per line.
  std::string describe() const {
    std::string out;
    for (const auto& p : problems) out += p.message + "\n";
    return out;
  }
};

/// A model's column that was renamed: `static constexpr kith::RenamedColumn renamedColumns[] =
/// {{.from = "headline", .to = "title"}};` (column names). Read by diffSchema only, which renders
/// a rename where it would otherwise drop `from` and add `to`.
struct RenamedColumn {
  std::string_view from, to;
};

namespace detail::migration {

/// What a table must hold: its columns with the kinds, NULL rules and the C++ member each serves.
struct ExpectedColumn {
  std::string name;
  ColumnKind kind = ColumnKind::Text;
  bool nullable = false;
  bool primary = false;
  std::string member;  // "Post::title", or "the pivot table of User::skills"
};

struct ExpectedTable {
  std::string name;
  std::string owner;  // "model Post", or the relation whose pivot table it is
  std::vector<ExpectedColumn> columns;
  std::vector<std::pair<std::string, std::string>> renamed;  // from, to
};

template <class M>
concept HasRenamedColumns = requires {
  M::renamedColumns;
};

struct ExpectedIndex {
  std::string table, name;
  std::vector<std::string> columns;
  bool unique = false;
};

template <class M>
ExpectedTable expectedTable() {
  using Meta = detail::Meta<M>;
  ExpectedTable t{std::string(Meta::table), "model " + std::string(typeName<M>), {}, {}};
  Meta::forEach([&]<std::size_t I, auto Member>() {
    const bool primary = I == Meta::primaryKey;
    const bool generated = primary && generatedKey<M>;
    t.columns.push_back({std::string(Meta::columns[I]), generated ? ColumnKind::GeneratedKey : columnKind<ColumnType<Member>>(),
                         Codec<ColumnType<Member>>::nullable, primary, std::string(typeName<M>) + "::" + std::string(Meta::properties[I])});
  });
  if constexpr (HasRenamedColumns<M>)
    for (const RenamedColumn& r : M::renamedColumns) t.renamed.emplace_back(r.from, r.to);
  return t;
}

/// The kind of a type kith itself writes in its DDL (Backend::columnType).
inline ColumnKind declaredKind(std::string type, bool postgres) {
  if (!postgres) return affinityKind(type);
  if (sameName(type, "BIGSERIAL")) return ColumnKind::GeneratedKey;
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return postgresKind(type);  // the catalogs' spelling of the rest is kith's, lowercased
}

/// Reads back what a relation adds to createTables (kith's own DDL): its pivot tables and indexes.
inline void expectRelationSql(const std::string& sql, bool postgres, std::vector<ExpectedTable>& tables,
                              std::vector<ExpectedIndex>& indexes) {
  const auto t = tokens(sql);
  if (t.size() > 5 && keyword(t[1], "TABLE")) {  // CREATE TABLE IF NOT EXISTS name (...)
    ExpectedTable table{unquoted(t[5]), "a pivot table createTables makes", {}, {}};
    for (const auto& item : TableDefinition::parse(sql).items) {
      const auto words = tokens(item);
      std::string type;
      std::size_t at = 1;
      for (; at < words.size() && !isColumnConstraintWord(words[at]); ++at) type += (type.empty() ? "" : " ") + std::string(words[at]);
      const bool notNull = std::any_of(words.begin(), words.end(), [](std::string_view w) { return keyword(w, "NOT"); });
      table.columns.push_back({unquoted(words[0]), declaredKind(type, postgres), !notNull, false, "a pivot column"});
    }
    tables.push_back(std::move(table));
    return;
  }
  // CREATE [UNIQUE] INDEX IF NOT EXISTS name ON table (columns)
  const bool unique = t.size() > 1 && keyword(t[1], "UNIQUE");
  const std::size_t name = unique ? 6 : 5;
  if (t.size() < name + 4) return;
  ExpectedIndex index{unquoted(t[name + 2]), unquoted(t[name]), {}, unique};
  const auto inner = t[name + 3].substr(1, t[name + 3].size() - 2);
  for (const auto c : tokens(inner))
    if (c != ",") index.columns.push_back(unquoted(c));
  indexes.push_back(std::move(index));
}

struct LiveColumn {
  std::string name, type, defaultValue;
  bool notNull = false, primary = false, hasDefault = false;
};

struct LiveIndex {
  std::vector<std::string> columns;
  bool unique = false;
};

/// The columns and indexes of the tables verifySchema looks at: PostgreSQL's catalogs read in two
/// queries for the whole schema; SQLite's pragmas, per table.
struct LiveSchema {
  std::map<std::string, std::vector<LiveColumn>> columns;
  std::map<std::string, std::vector<LiveIndex>> indexes;

  static std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::size_t from = 0;
    while (true) {
      const auto comma = list.find(',', from);
      out.push_back(list.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (comma == std::string::npos) return out;
      from = comma + 1;
    }
  }

  static LiveSchema read(Backend& b, const std::vector<std::string>& tables) {
    LiveSchema live;
    const auto yes = [](const std::optional<std::string>& v) {
      return v == std::optional<std::string>("t") || v == std::optional<std::string>("1");
    };
    if (b.dialect() == "postgresql") {
      for (auto& row :
           select(b, 6,
                  "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, coalesce(pg_get_expr(d.adbin, "
                  "d.adrelid), CASE WHEN a.attidentity <> '' THEN 'identity' END), EXISTS (SELECT 1 FROM pg_index i WHERE "
                  "i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY(i.indkey)) FROM pg_attribute a JOIN pg_class c ON "
                  "c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = "
                  "a.attrelid AND d.adnum = a.attnum WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND "
                  "a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum"))
        live.columns[*row[0]].push_back({*row[1], row[2].value_or(""), row[4].value_or(""), yes(row[3]), yes(row[5]), row[4].has_value()});
      for (auto& row :
           select(b, 3,
                  "SELECT c.relname, ix.indisunique, (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(ix.indkey) WITH "
                  "ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum) FROM pg_index "
                  "ix JOIN pg_class c ON c.oid = ix.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                  "current_schema()"))
        live.indexes[*row[0]].push_back({split(row[2].value_or("")), yes(row[1])});
      return live;
    }
    for (const auto& table : tables) {
      if (live.columns.contains(table)) continue;
      auto& columns = live.columns[table];
      for (auto& row : select(b, 5, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", table))
        columns.push_back({*row[0], row[1].value_or(""), row[3].value_or(""), yes(row[2]), row[4] != std::optional<std::string>("0"),
                           row[3].has_value()});
      auto& indexes = live.indexes[table];
      for (auto& row : select(b, 2,
                              "SELECT l.\"unique\", (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(l.name) ORDER "
                              "BY seqno)) FROM pragma_index_list(?) l",
                              table))
        indexes.push_back({split(row[1].value_or("")), yes(row[0])});
    }
    return live;
  }

  const std::vector<LiveColumn>& columnsOf(const std::string& table) const {
    static const std::vector<LiveColumn> none;
    const auto it = columns.find(table);
    return it == columns.end() ? none : it->second;
  }
  const std::vector<LiveIndex>& indexesOf(const std::string& table) const {
    static const std::vector<LiveIndex> none;
    const auto it = indexes.find(table);
    return it == indexes.end() ? none : it->second;
  }
};

/// Whether a live column's type holds what the model keeps in it.
inline bool holds(const LiveColumn& live, ColumnKind kind, bool postgres) {
  using K = ColumnKind;
  if (postgres) {
    const K have = postgresKind(live.type);
    return have == (kind == K::GeneratedKey ? K::Integer : kind);
  }
  const K affinity = affinityKind(live.type);
  if (affinity == K::Blob) return true;  // no affinity: SQLite keeps every value as given
  if (kind == K::Text || kind == K::Timestamp) return affinity == K::Text;
  if (kind == K::Blob) return true;
  return affinity == K::Integer || affinity == K::Real;  // numbers; NUMERIC is Real here
}

inline std::string kindText(ColumnKind k) {
  switch (k) {
    case ColumnKind::GeneratedKey:
      return "a generated integer key";
    case ColumnKind::Integer:
      return "an integer";
    case ColumnKind::Boolean:
      return "a boolean";
    case ColumnKind::Real:
      return "a floating-point number";
    case ColumnKind::Text:
      return "text";
    case ColumnKind::Blob:
      return "bytes";
    case ColumnKind::Timestamp:
      return "a time";
  }
  return "?";
}

inline void verifyTable(const LiveSchema& schema, bool postgres, const ExpectedTable& want, std::vector<SchemaProblem>& out) {
  const auto& live = schema.columnsOf(want.name);
  const auto where = "\"" + want.name + "\"";
  if (live.empty()) {
    out.push_back({want.name, {}, "table " + where + " (" + want.owner + ") does not exist"});
    return;
  }
  for (const ExpectedColumn& c : want.columns) {
    const auto it = std::find_if(live.begin(), live.end(), [&](const LiveColumn& l) { return l.name == c.name; });
    const std::string column = want.name + "." + c.name;
    if (it == live.end()) {
      out.push_back({want.name, c.name, "column " + column + " (" + c.member + ") does not exist"});
      continue;
    }
    if (!holds(*it, c.kind, postgres)) {
      out.push_back({want.name, c.name,
                     "column " + column + " is " + (it->type.empty() ? "without a type" : it->type) + ", which cannot hold " + c.member +
                         " (" + kindText(c.kind) + ")"});
      continue;
    }
    if (c.kind == ColumnKind::GeneratedKey) {
      if (!postgres && !(sameName(it->type, "INTEGER") && it->primary &&
                         std::count_if(live.begin(), live.end(), [](const LiveColumn& l) { return l.primary; }) == 1))
        out.push_back({want.name, c.name,
                       "column " + column + " is not the table's INTEGER PRIMARY KEY, so SQLite generates no key for " + c.member});
      if (postgres && !it->hasDefault)
        out.push_back(
            {want.name, c.name, "column " + column + " generates no key for " + c.member + " (declare it BIGSERIAL or an identity)"});
      continue;
    }
    if (c.primary) continue;  // SQLite reports a key column as NULL-able; its key-ness is what matters
    if (c.nullable && it->notNull)
      out.push_back(
          {want.name, c.name, "column " + column + " is NOT NULL, but " + c.member + " is a std::optional: saving it empty fails"});
    else if (!c.nullable && !it->notNull)
      out.push_back(
          {want.name, c.name,
           "column " + column + " allows NULL, but " + c.member + " is not a std::optional: a row holding NULL there cannot be read"});
  }
  for (const LiveColumn& l : live) {
    const bool known = std::any_of(want.columns.begin(), want.columns.end(), [&](const ExpectedColumn& c) { return c.name == l.name; });
    if (!known && l.notNull && !l.hasDefault && !l.primary)
      out.push_back({want.name, l.name,
                     "column " + want.name + "." + l.name + " is NOT NULL without a default, and no member of " + want.owner +
                         " writes it: every insert fails"});
  }
}

/// Whether an index serves what `want` is for: one led by its columns (a unique one on exactly
/// them, when it must be unique).
inline bool covered(const std::vector<LiveIndex>& live, const ExpectedIndex& want) {
  return std::any_of(live.begin(), live.end(), [&](const LiveIndex& l) {
    return l.columns.size() >= want.columns.size() && std::equal(want.columns.begin(), want.columns.end(), l.columns.begin()) &&
           (!want.unique || (l.unique && l.columns.size() == want.columns.size()));
  });
}

inline void verifyIndex(const LiveSchema& schema, const ExpectedIndex& want, std::vector<SchemaProblem>& out) {
  if (schema.columnsOf(want.table).empty()) return;  // the missing table is the problem
  if (covered(schema.indexesOf(want.table), want)) return;
  std::string columns;
  for (const auto& c : want.columns) columns += (columns.empty() ? "" : ", ") + c;
  out.push_back({want.table,
                 {},
                 std::string(want.unique ? "no unique index" : "no index") + " on " + want.table + " (" + columns + ")" +
                     (want.unique ? ", which the relation's writes rely on" : ", a relation's key that every read of it filters by") +
                     " (createTables names it " + want.name + ")"});
}

/// What the models need (their tables, their relations' pivot tables and indexes), and what the
/// database has of it.
struct Compared {
  std::vector<ExpectedTable> tables;
  std::vector<ExpectedIndex> indexes;
  LiveSchema live;
  bool postgres = false;
};

template <class... Models>
Compared compared(Backend& b) {
  Compared c{{expectedTable<Models>()...}, {}, {}, b.dialect() == "postgresql"};
  for (const auto& list : {relationSchemaSql<Models>(b)...})
    for (const auto& sql : list) expectRelationSql(sql, c.postgres, c.tables, c.indexes);
  std::vector<std::string> names;
  for (const auto& t : c.tables) names.push_back(t.name);
  c.live = LiveSchema::read(b, names);
  return c;
}

}  // namespace detail::migration

/// Checks the live database against the models: each model's table and columns (a type that can
/// hold the member, NOT NULL unless the member is a std::optional and NULL allowed when it is, a
/// generated key the database generates), columns the models do not know that every insert would
/// fail on (NOT NULL without a default), and what the relations each model lists in `relations`
/// need (their foreign key indexes, ManyToMany's pivot tables). Reads the schema only. Not
/// reported: an integer column narrower than the member (values past its range are refused with
/// kith::DataError), columns and tables the models do not use.
template <class... Models>
SchemaReport verifySchema(const Connection& db) {
  [[maybe_unused]] std::tuple<detail::CheckModel<Models>...> modelsChecked;
  using namespace detail::migration;
  const OnPrimary primary(db);  // with read replicas: the schema as it is, not as a replica last saw it
  const auto [tables, indexes, live, postgres] = compared<Models...>(db.backend());
  SchemaReport report;
  for (const auto& t : tables) verifyTable(live, postgres, t, report.problems);
  for (const auto& i : indexes) verifyIndex(live, i, report.problems);
  return report;
}

// ---- diffSchema ---------------------------------------------------------------------------------

namespace detail::migration {

/// One call of the schema builder that a generated migration makes.
struct DiffStep {
  enum class Kind { CreateTable, DropTable, AddColumn, DropColumn, RenameColumn, ChangeColumn, AddIndex, DropIndex };
  Kind kind;
  std::string table;
  std::vector<ExpectedColumn> columns;  // CreateTable: all; AddColumn, ChangeColumn: the one
  std::string from, to;                 // RenameColumn; DropColumn: `from`
  ExpectedIndex index;                  // AddIndex, DropIndex
  std::string comment;                  // said above the call in the source
};

inline ColumnKind liveKind(const LiveColumn& c, bool postgres) { return postgres ? postgresKind(c.type) : affinityKind(c.type); }

/// How a generated migration spells a kind: its C++ type, and the zero a NOT NULL column added to
/// a table that may hold rows gets as its default (in the source, and as a value).
struct Spelling {
  const char* type;
  const char* zero;
  Value zeroValue;
};

inline Spelling spelling(ColumnKind kind) {
  using Micros = std::chrono::sys_time<std::chrono::microseconds>;
  switch (kind) {
    case ColumnKind::Boolean:
      return {"bool", "false", Value(std::int64_t{0})};
    case ColumnKind::Real:
      return {"double", "0.0", Value(0.0)};
    case ColumnKind::Text:
      return {"std::string", "std::string()", Value(std::string())};
    case ColumnKind::Blob:
      return {"kith::Blob", "kith::Blob()", Value(Blob())};
    case ColumnKind::Timestamp:
      return {"std::chrono::sys_time<std::chrono::microseconds>", "std::chrono::sys_time<std::chrono::microseconds>()",
              parameterValue(Micros())};
    default:  // GeneratedKey, Integer
      return {"std::int64_t", "0", Value(std::int64_t{0})};
  }
}

inline std::string cppType(const ExpectedColumn& c) {
  const std::string t = spelling(c.kind).type;
  return c.nullable ? "std::optional<" + t + ">" : t;
}

inline Column builtColumn(const ExpectedColumn& c, bool withDefault) {
  Column out{c.name, c.kind, c.nullable, false, std::nullopt, c.primary && c.kind != ColumnKind::GeneratedKey};
  if (withDefault && !c.nullable) out.defaultValue = spelling(c.kind).zeroValue;
  return out;
}

/// Adds the steps' operations to a schema, as the generated source's calls would.
inline void build(const std::vector<DiffStep>& steps, Schema& schema) {
  using K = DiffStep::Kind;
  for (const DiffStep& d : steps) {
    switch (d.kind) {
      case K::CreateTable: {
        CreateTable op{d.table, {}, {}, {}};
        for (const auto& c : d.columns) op.columns.push_back(builtColumn(c, false));
        schema.ops.emplace_back(std::move(op));
        break;
      }
      case K::DropTable:
        schema.ops.emplace_back(DropTable{d.table});
        break;
      case K::AddColumn:
        schema.ops.emplace_back(AddColumn{d.table, builtColumn(d.columns.at(0), true)});
        break;
      case K::DropColumn:
        schema.ops.emplace_back(DropColumn{d.table, d.from});
        break;
      case K::RenameColumn:
        schema.ops.emplace_back(RenameColumn{d.table, d.from, d.to});
        break;
      case K::ChangeColumn:
        schema.ops.emplace_back(ChangeColumn{d.table, builtColumn(d.columns.at(0), false)});
        break;
      case K::AddIndex:
        schema.ops.emplace_back(AddIndex{d.table, Index{d.index.columns, IndexOptions{d.index.name, d.index.unique, false}}});
        break;
      case K::DropIndex:
        schema.ops.emplace_back(DropIndex{d.index.name});
        break;
    }
  }
}

inline std::string cppString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

/// The source of one direction: a lambda over kith::Schema, indented for a Migration's braces.
inline std::string render(const std::vector<DiffStep>& steps, bool losesData, const std::string& lossWhy) {
  using K = DiffStep::Kind;
  std::string out = "    [](kith::Schema& s) {\n";
  std::string open;  // the table of the alterTable block being written
  const auto close = [&] {
    if (!open.empty()) out += "      });\n";
    open.clear();
  };
  for (const DiffStep& d : steps) {
    const bool alter = d.kind == K::AddColumn || d.kind == K::DropColumn || d.kind == K::RenameColumn || d.kind == K::ChangeColumn ||
                       d.kind == K::AddIndex;
    if (!alter || open != d.table) close();
    const std::string indent = alter ? "        " : "      ";
    if (alter && open.empty()) {
      out += "      s.alterTable(" + cppString(d.table) + ", [](kith::TableChanges& t) {\n";
      open = d.table;
    }
    if (!d.comment.empty()) out += indent + "// " + d.comment + "\n";
    std::string columns;
    for (const auto& c : d.index.columns) columns += (columns.empty() ? "" : ", ") + cppString(c);
    switch (d.kind) {
      case K::CreateTable:
        out += "      s.createTable(" + cppString(d.table) + ", [](kith::TableBuilder& t) {\n";
        for (const auto& c : d.columns) {
          if (c.kind == ColumnKind::GeneratedKey)
            out += "        t.id(" + (c.name == "id" ? std::string() : cppString(c.name)) + ");\n";
          else
            out += "        t.column<" + cppType(c) + ">(" + cppString(c.name) + ")" + (c.primary ? ".primary()" : "") + ";\n";
        }
        out += "      });\n";
        break;
      case K::DropTable:
        out += "      s.dropTable(" + cppString(d.table) + ");\n";
        break;
      case K::AddColumn: {
        const auto& c = d.columns.at(0);
        out += indent + "t.addColumn<" + cppType(c) + ">(" + cppString(c.name) + ")" +
               (c.nullable ? "" : ".defaultTo(" + std::string(spelling(c.kind).zero) + ")") + ";\n";
        break;
      }
      case K::DropColumn:
        out += indent + "t.dropColumn(" + cppString(d.from) + ");\n";
        break;
      case K::RenameColumn:
        out += indent + "t.renameColumn(" + cppString(d.from) + ", " + cppString(d.to) + ");\n";
        break;
      case K::ChangeColumn:
        out += indent + "t.changeColumn<" + cppType(d.columns.at(0)) + ">(" + cppString(d.columns.at(0).name) + ");\n";
        break;
      case K::AddIndex:
        out += indent + "t.index({" + columns + "}, {.name = " + cppString(d.index.name) + (d.index.unique ? ", .unique = true" : "") +
               "});\n";
        break;
      case K::DropIndex:
        out += "      s.alterTable(" + cppString(d.table) + ", [](kith::TableChanges& t) { t.dropIndex(" + cppString(d.index.name) +
               "); });\n";
        break;
    }
  }
  close();
  if (losesData) out += "      // " + lossWhy + ": say so once you have checked\n      // s.acceptDataLoss();\n";
  return out + "    }";
}

}  // namespace detail::migration

/// What the database lacks for the models, as the steps of a new migration (diffSchema).
class SchemaDiff {
 public:
  /// Nothing to change: the database serves the models (verifySchema finds nothing it can fix).
  bool empty() const noexcept { return up_.empty(); }

  /// The C++ source of the migration, to review and commit with the others: a `const
  /// kith::Migration NAME{...};` whose up makes the changes and whose down undoes them. A step
  /// that loses data leaves `s.acceptDataLoss()` commented out, so the runner refuses it until a
  /// reviewer says so.
  std::string source(std::string_view variable, std::string_view name) const {
    std::string out = "// Generated by kith::diffSchema: review it, then keep it as it is.\n";
    for (const auto& note : notes_) out += "// " + note + "\n";
    out += "const kith::Migration " + std::string(variable) + "{\n    " + detail::migration::cppString(name) + ",\n";
    out += detail::migration::render(up_, upLoses_, "the up drops columns or narrows a type") + ",\n";
    out += detail::migration::render(down_, downLoses_, "the down drops what the up made") + "};\n";
    return out;
  }

  /// The same migration as a value, for a program that applies it directly. With
  /// `acceptDataLoss`, its steps that lose data are accepted (the source leaves that to a reviewer).
  Migration migration(std::string name, bool acceptDataLoss = false) const {
    const auto make = [acceptDataLoss](std::vector<detail::migration::DiffStep> steps) {
      return [steps = std::move(steps), acceptDataLoss](Schema& s) {
        detail::migration::build(steps, s);
        if (acceptDataLoss) s.acceptDataLoss();
      };
    };
    return Migration{std::move(name), make(up_), make(down_)};
  }

  /// What the diff leaves to a person: a generated key the database does not generate, and the
  /// like. Also written at the top of the source.
  const std::vector<std::string>& notes() const noexcept { return notes_; }

 private:
  template <class... Models>
  friend SchemaDiff diffSchema(const Connection& db);

  std::vector<detail::migration::DiffStep> up_, down_;
  bool upLoses_ = false, downLoses_ = false;
  std::vector<std::string> notes_;
};

/// The changes that would bring the database to the models, as a migration to review (Django's
/// makemigrations, for C++): missing tables (models' and pivot tables), missing columns (a NOT
/// NULL one with a zero default for the rows there), columns whose type or NULL rule differs,
/// missing relation indexes, and columns of a model's table that no member maps — dropped, under
/// a comment. Renames are never guessed: a column that disappeared beside one that appeared is a
/// drop and an add, under a comment that says so, unless the model declares it in
/// `renamedColumns`. Tables no model maps are left alone. The down undoes each step, newest first.
template <class... Models>
SchemaDiff diffSchema(const Connection& db) {
  [[maybe_unused]] std::tuple<detail::CheckModel<Models>...> modelsChecked;
  using namespace detail::migration;
  using K = DiffStep::Kind;
  const OnPrimary primary(db);  // with read replicas: the schema as it is, not as a replica last saw it
  const auto [tables, indexes, live, postgres] = compared<Models...>(db.backend());

  SchemaDiff diff;
  std::vector<DiffStep> down;  // in the order of the up; reversed at the end
  const auto step = [&](DiffStep up, DiffStep undo) {
    diff.up_.push_back(std::move(up));
    down.push_back(std::move(undo));
  };
  std::vector<std::string> created;
  for (const ExpectedTable& t : tables) {
    if (std::find(created.begin(), created.end(), t.name) != created.end()) continue;  // a pivot table two relations share
    const auto& have = live.columnsOf(t.name);
    if (have.empty()) {
      created.push_back(t.name);
      step({K::CreateTable, t.name, t.columns, {}, {}, {}, "table " + t.name + " (" + t.owner + ")"},
           {K::DropTable, t.name, {}, {}, {}, {}, {}});
      diff.downLoses_ = true;
      continue;
    }
    const auto find = [&](const std::string& name) {
      return std::find_if(have.begin(), have.end(), [&](const LiveColumn& l) { return l.name == name; });
    };
    std::vector<std::string> added;
    for (const ExpectedColumn& c : t.columns) {
      const auto it = find(c.name);
      if (it == have.end()) {
        const auto renamed = std::find_if(t.renamed.begin(), t.renamed.end(), [&](const auto& r) { return r.second == c.name; });
        if (renamed != t.renamed.end() && find(renamed->first) != have.end()) {
          step({K::RenameColumn, t.name, {}, renamed->first, c.name, {}, "renamed, as " + t.owner + " declares in renamedColumns"},
               {K::RenameColumn, t.name, {}, c.name, renamed->first, {}, {}});
          continue;
        }
        added.push_back(c.name);
        step({K::AddColumn, t.name, {c}, {}, {}, {}, {}}, {K::DropColumn, t.name, {}, c.name, {}, {}, {}});
        diff.downLoses_ = true;
        continue;
      }
      if (c.kind == detail::ColumnKind::GeneratedKey) {
        if (!holds(*it, c.kind, postgres) || (!postgres && !sameName(it->type, "INTEGER")) || (postgres && !it->hasDefault))
          diff.notes_.push_back(t.name + "." + c.name + " is not a key the database generates for " + c.member +
                                "; a migration cannot make it one in place: create a new table and copy the rows");
        continue;
      }
      const bool typeDiffers = !holds(*it, c.kind, postgres);
      const bool nullDiffers = !c.primary && c.nullable == it->notNull;
      if (!typeDiffers && !nullDiffers) continue;
      const detail::ColumnKind was = liveKind(*it, postgres);
      ExpectedColumn before{c.name, was == detail::ColumnKind::GeneratedKey ? detail::ColumnKind::Integer : was, !it->notNull, false,
                            c.member};
      if (!widens(was, c.kind == detail::ColumnKind::Timestamp && !postgres ? detail::ColumnKind::Text : c.kind)) diff.upLoses_ = true;
      if (!widens(c.kind, was)) diff.downLoses_ = true;
      step({K::ChangeColumn,
            t.name,
            {c},
            {},
            {},
            {},
            "was " + (it->type.empty() ? std::string("untyped") : it->type) + (it->notNull ? " NOT NULL" : " NULL")},
           {K::ChangeColumn, t.name, {before}, {}, {}, {}, {}});
    }
    for (const LiveColumn& l : have) {
      const bool mapped = std::any_of(t.columns.begin(), t.columns.end(), [&](const ExpectedColumn& c) { return c.name == l.name; }) ||
                          std::any_of(t.renamed.begin(), t.renamed.end(), [&](const auto& r) { return r.first == l.name; });
      if (mapped || l.primary) continue;
      std::string why = "no member of " + t.owner + " maps " + t.name + "." + l.name;
      if (!added.empty()) {
        std::string list;
        for (const auto& a : added) list += (list.empty() ? "" : ", ") + a;
        why += "; if it was renamed to " + list + ", declare it in renamedColumns instead: this drop loses its values";
      }
      ExpectedColumn was{l.name, liveKind(l, postgres), !l.notNull, false, {}};
      step({K::DropColumn, t.name, {}, l.name, {}, {}, why}, {K::AddColumn, t.name, {was}, {}, {}, {}, {}});
      diff.upLoses_ = true;
    }
  }
  for (const ExpectedIndex& i : indexes) {
    const bool found = covered(live.indexesOf(i.table), i);
    const bool planned =
        std::any_of(diff.up_.begin(), diff.up_.end(), [&](const DiffStep& s) { return s.kind == K::AddIndex && s.index.name == i.name; });
    if (found || planned) continue;
    step({K::AddIndex, i.table, {}, {}, {}, i, {}}, {K::DropIndex, i.table, {}, {}, {}, i, {}});
  }
  diff.down_.assign(down.rbegin(), down.rend());
  return diff;
}

}  // namespace kith
