// kith::verifySchema: the live database (SQLite's pragmas, PostgreSQL's catalogs) checked against
// the model declarations — every table, column, type, NULL rule and relation index the models need
// — so that an application refuses to start with a list of what is wrong, instead of failing on the
// first query that touches it. Not included by kith.hpp.
#pragma once

#include <kith/migrate.hpp>
#include <kith/schema.hpp>

#include <map>
#include <string>
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
};

struct ExpectedIndex {
  std::string table, name;
  std::vector<std::string> columns;
  bool unique = false;
};

template <class M>
ExpectedTable expectedTable() {
  using Meta = detail::Meta<M>;
  ExpectedTable t{std::string(Meta::table), "model " + std::string(typeName<M>), {}};
  Meta::forEach([&]<std::size_t I, auto Member>() {
    const bool primary = I == Meta::primaryKey;
    const bool generated = primary && generatedKey<M>;
    t.columns.push_back({std::string(Meta::columns[I]), generated ? ColumnKind::GeneratedKey : columnKind<ColumnType<Member>>(),
                         Codec<ColumnType<Member>>::nullable, primary, std::string(typeName<M>) + "::" + std::string(Meta::properties[I])});
  });
  return t;
}

/// The kind of a type kith itself writes in its DDL (Backend::columnType).
inline ColumnKind declaredKind(std::string type, bool postgres) {
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!postgres) return type == "REAL" ? ColumnKind::Real : affinityKind(type);
  if (type == "BIGSERIAL") return ColumnKind::GeneratedKey;
  if (type == "BOOLEAN") return ColumnKind::Boolean;
  if (type == "DOUBLE PRECISION") return ColumnKind::Real;
  if (type == "BYTEA") return ColumnKind::Blob;
  if (type == "TIMESTAMPTZ") return ColumnKind::Timestamp;
  if (type == "TEXT") return ColumnKind::Text;
  return ColumnKind::Integer;
}

/// Reads back what a relation adds to createTables (kith's own DDL): its pivot tables and indexes.
inline void expectRelationSql(const std::string& sql, bool postgres, std::vector<ExpectedTable>& tables,
                              std::vector<ExpectedIndex>& indexes) {
  const auto t = tokens(sql);
  if (t.size() > 5 && keyword(t[1], "TABLE")) {  // CREATE TABLE IF NOT EXISTS name (...)
    ExpectedTable table{unquoted(t[5]), "a pivot table createTables makes", {}};
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

inline void verifyIndex(const LiveSchema& schema, const ExpectedIndex& want, std::vector<SchemaProblem>& out) {
  if (schema.columnsOf(want.table).empty()) return;  // the missing table is the problem
  const auto& live = schema.indexesOf(want.table);
  const bool found = std::any_of(live.begin(), live.end(), [&](const LiveIndex& l) {
    return l.columns.size() >= want.columns.size() && std::equal(want.columns.begin(), want.columns.end(), l.columns.begin()) &&
           (!want.unique || (l.unique && l.columns.size() == want.columns.size()));
  });
  if (found) return;
  std::string columns;
  for (const auto& c : want.columns) columns += (columns.empty() ? "" : ", ") + c;
  out.push_back({want.table,
                 {},
                 std::string(want.unique ? "no unique index" : "no index") + " on " + want.table + " (" + columns + ")" +
                     (want.unique ? ", which the relation's writes rely on" : ", a relation's key that every read of it filters by") +
                     " (createTables names it " + want.name + ")"});
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
  detail::Backend& b = db.backend();
  const bool postgres = b.dialect() == "postgresql";
  std::vector<ExpectedTable> tables{expectedTable<Models>()...};
  std::vector<ExpectedIndex> indexes;
  for (const auto& list : {detail::relationSchemaSql<Models>(b)...})
    for (const auto& sql : list) expectRelationSql(sql, postgres, tables, indexes);
  std::vector<std::string> names;
  for (const auto& t : tables) names.push_back(t.name);
  const auto live = LiveSchema::read(b, names);
  SchemaReport report;
  for (const auto& t : tables) verifyTable(live, postgres, t, report.problems);
  for (const auto& i : indexes) verifyIndex(live, i, report.problems);
  return report;
}

}  // namespace kith
