// What a query does that does not depend on its model: the conditions and their bindings, the SQL
// of SELECT, count, exists, UPDATE and DELETE, and the checks on what was asked. Query<M> is a
// thin typed layer over it (fmt's pattern: format<Args...> over vformat), so that each model
// compiles only its typed part, and this code is compiled once per translation unit.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/format.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/statement.hpp>
#include <kith/detail/std.hpp>
#include <kith/error.hpp>
#include <kith/types.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kith {

enum class Order { Asc, Desc };
inline constexpr Order asc = Order::Asc;
inline constexpr Order desc = Order::Desc;

namespace detail {

/// A model's table as its SQL needs it, built once per model (Sql<M>::info()).
struct TableInfo {
  TableInfo(std::string_view modelName, std::string_view tableName, std::span<const std::string_view> columnNames,
            std::size_t primaryKeyIndex)
      : model(modelName), rawTable(tableName), rawColumns(columnNames), table(quote(tableName)), primaryKey(primaryKeyIndex) {
    columns.reserve(columnNames.size());
    for (std::string_view c : columnNames) {
      columns.push_back(quote(c));
      selectList += (selectList.empty() ? "" : ", ") + columns.back();
    }
    find = "SELECT " + selectList + " FROM " + table + " WHERE " + columns[primaryKey] + " = ?";
    remove = "DELETE FROM " + table + " WHERE " + columns[primaryKey] + " = ?";
  }

  std::string_view model;                        // the model's type name, for messages
  std::string_view rawTable;                     // unquoted
  std::span<const std::string_view> rawColumns;  // unquoted (the model's constexpr names)
  std::string table;                             // quoted
  std::vector<std::string> columns;              // quoted, in declaration order
  std::string selectList;                        // every column, comma-separated
  std::size_t primaryKey;
  std::string find;    // SELECT of the row with a key
  std::string remove;  // DELETE of the row with a key
  // A pivot table's: the struct that declares its own columns (a ManyToMany's pivot columns),
  // whose column i is this table's column i + columnsOffset (after the two keys).
  const TableInfo* columnsOf = nullptr;
  std::size_t columnsOffset = 0;
};

/// The condition of whereIn/whereNotIn on `column` for the values `bindings` holds from `first` on:
/// one array parameter in their place where the database takes one (PostgreSQL: `= ANY(?)`,
/// `<> ALL(?)`, any number of values, one cached plan), else an IN list of them, refused with a
/// clear error past the database's limit on parameters. An empty list matches nothing (NOT IN:
/// everything).
inline std::string inCondition(Backend* backend, const std::string& column, std::string_view member, bool negate,
                               std::vector<Value>& bindings, std::size_t first) {
  const std::size_t count = bindings.size() - first;
  if (count == 0) return negate ? "1 = 1" : "1 = 0";  // IN () is not SQL
  if (backend && backend->takesArrays()) {
    if (auto array = backend->arrayOf(std::span<const Value>(bindings).subspan(first))) {
      bindings.resize(first);
      bindings.push_back(std::move(*array));
      return column + (negate ? " <> ALL(?)" : " = ANY(?)");
    }
  }
  if (const int limit = backend ? backend->variableLimit() : 0; backend && count > static_cast<std::size_t>(std::max(1, limit))) {
    bindings.resize(first);  // the query stays as it was
    throw UsageError(
        format("kith: {}In<{}>() got {} values, more than the {} parameters one statement may have on {}{}; split the list "
               "over several queries",
               negate ? "whereNot" : "where", member, count, limit, backend->describe(),
               backend->takesArrays() ? "" : " (SQLite's SQLITE_LIMIT_VARIABLE_NUMBER)"));
  }
  std::string sql = column + (negate ? " NOT IN (" : " IN (");
  for (std::size_t i = 0; i < count; ++i) sql += i ? ", ?" : "?";
  return sql + ")";
}

/// A computed column: `(SELECT count(*) FROM ...) AS "posts_count"`, its bindings, and how a row
/// (a model, passed untyped) receives it.
struct ExtraColumn {
  std::string sql;
  std::string alias;  // quoted
  std::string name;   // as given, for the extras and for messages
  std::vector<Value> bindings;
  void (*read)(Statement&, int, void* row, const ExtraColumn&);
  void* context;  // for `read`: where a relation collects what it reads beside the row (or null)
};

/// A column as the typed layer names it: its model's table, its index there, and its member's
/// name (for messages). The query core turns it into SQL (QueryCore::columnOf).
struct ColumnRef {
  const TableInfo* table;
  std::size_t index;
  std::string_view member;
};

/// The model-independent part of a query. Query<M> derives from it privately: its members are
/// reachable from Query and the relation layer's friends only.
class QueryCore {
 public:
  QueryCore(Connection connection, const TableInfo& table) : connection_(std::move(connection)), table_(&table) {}

  /// The SELECT this query runs, with `?` for each bound value.
  std::string toSql() const {
    std::string columns;  // the model's columns: qualified by its table when the query joins others
    if (selected_.empty() && joins_.empty())
      columns = table_->selectList;
    else if (selected_.empty())
      for (std::size_t i = 0; i < table_->columns.size(); ++i) columns += (i ? ", " : "") + own(i);
    else
      for (std::size_t i = 0; i < selected_.size(); ++i) columns += (i ? ", " : "") + own(selected_[i]);
    if (!groupLimit_) {
      for (const auto& e : extras_) columns += ", " + e.sql + " AS " + e.alias;
      return resolve("SELECT " + columns + " FROM " + from() + whereClause() + order_ + paging());
    }
    // Each parent's rows numbered by a window function, and the first groupLimit of each kept. The
    // outer SELECT names the inner one's result columns, unqualified.
    std::string inner = columns, outer;
    if (selected_.empty())
      outer = table_->selectList;
    else
      for (std::size_t i = 0; i < selected_.size(); ++i) outer += (i ? ", " : "") + table_->columns[selected_[i]];
    for (const auto& e : extras_) {
      inner += ", " + e.sql + " AS " + e.alias;
      outer += ", " + e.alias;
    }
    const std::string rowOrder = groupOrder_.empty() ? own(table_->primaryKey) + " DESC" : groupOrder_;
    return resolve("SELECT " + outer + " FROM (SELECT " + inner + ", row_number() OVER (PARTITION BY " + partition_ + " ORDER BY " +
                   rowOrder + ") AS \"kith_row\" FROM " + from() + whereClause() + ") AS \"kith_group\" WHERE \"kith_row\" <= ?" +
                   (order_.empty() ? std::string(" ORDER BY \"kith_row\"") : order_) + paging());
  }

  /// The values bound to toSql()'s placeholders, in order.
  std::vector<Value> bindings() const {
    std::vector<Value> out;
    forEachBinding(true, [&](const Value& v) { out.push_back(v); });
    return out;
  }

  std::int64_t count() const {
    const bool paged = limit_ || offset_;
    return scalar(resolve(paged ? "SELECT count(*) FROM (SELECT 1 FROM " + from() + whereClause() + paging() + ") AS \"kith_rows\""
                                : "SELECT count(*) FROM " + from() + whereClause()),
                  paged);
  }

  bool exists() const { return scalar(resolve("SELECT EXISTS(SELECT 1 FROM " + from() + whereClause() + ")"), false) != 0; }

  /// Bulk DELETE of the matching rows (of a ManyToMany's query: of their pivot rows). Returns
  /// rows deleted.
  std::int64_t remove() const {
    rejectPaging("remove");
    auto& b = connection_.backend();
    Run run(b, "DELETE FROM " + writeTable().table + writeCondition());
    int index = 0;
    bindConditions(run, index);
    run.finish();
    return b.changes();
  }

  /// Bulk UPDATE of `columns` to `values` (one each) in the matching rows (of a ManyToMany's
  /// query: in their pivot rows, whose own columns it sets). Returns rows changed.
  std::int64_t updateColumns(std::span<const ColumnRef> columns, std::span<const Value* const> values) const {
    rejectPaging("update");
    const TableInfo& target = writeTable();
    const TableInfo* owner = pivot_ ? pivot_->columnsOf : table_;
    const std::size_t offset = pivot_ ? pivot_->columnsOffset : 0;
    for (const ColumnRef& c : columns)
      if (c.table != owner)
        throw UsageError(pivot_ ? format("kith: update() on a ManyToMany's query sets columns of its pivot rows ({}); {} is a column "
                                         "of {}: update those rows through {}::query",
                                         target.model, c.member, c.table->model, c.table->model)
                                : format("kith: update() sets columns of {}, the table this query reads; {} is a column of {}",
                                         table_->model, c.member, c.table->model));
    std::string sql = "UPDATE " + target.table + " SET ";
    for (std::size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + target.columns[columns[i].index + offset] + " = ?";
    sql += writeCondition();
    auto& b = connection_.backend();
    Run run(b, sql);
    int index = 0;
    for (const Value* v : values) run.bindValue(++index, *v);
    bindConditions(run, index);
    run.finish();
    return b.changes();
  }

  const Connection& connection() const noexcept { return connection_; }
  /// Whether update() and remove() write a ManyToMany's pivot rows rather than the rows read.
  bool writesPivot() const noexcept { return pivot_ != nullptr; }

  /// The column indices select<...>() chose, empty when all.
  const std::vector<std::size_t>& selected() const noexcept { return selected_; }

  /// Adds a condition that stays in its own AND group whatever the user's conditions say (a
  /// relation's foreign key, say).
  void addScope(std::string sql, std::vector<Value> values, bool trusted = false) {
    if (!trusted) requireNoMark(sql, "scope");
    scope_ += (scope_.empty() ? "" : " AND ") + sql;
    scopeBindings_.insert(scopeBindings_.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
  }

  /// The table as the SQL refers to it: its name, or the alias of a subquery on a self relation.
  const std::string& ref() const { return alias_.empty() ? table_->table : alias_; }
  std::string from() const {
    std::string out = alias_.empty() ? table_->table : table_->table + " AS " + alias_;
    for (const auto& j : joins_) out += j.sql;
    return out;
  }

  /// Marks a column of this query's own table in the SQL it assembles; rendering (resolve())
  /// qualifies it with the table once the query joins another, or drops the mark. So a join may
  /// come after the conditions, and a relation's scope, that name the query's own columns. The
  /// character is reserved: identifiers and raw SQL holding it are refused (requireNoMark).
  static constexpr char ownMark = detail::reservedMark;

  /// This query's own column `i`, marked.
  std::string own(std::size_t i) const {
    std::string out(1, ownMark);
    return out += table_->columns[i];
  }

  /// `sql` with each mark replaced by this query's table reference and a dot (when it joins other
  /// tables) or removed.
  std::string resolve(std::string sql) const {
    std::size_t at = sql.find(ownMark);
    if (at == std::string::npos) return sql;
    const std::string_view prefix = joins_.empty() ? std::string_view() : std::string_view(ref());
    std::string out;
    out.reserve(sql.size() + 16 * (prefix.size() + 1));
    std::size_t from = 0;
    for (; at != std::string::npos; at = sql.find(ownMark, from)) {
      out.append(sql, from, at - from);
      if (!prefix.empty()) out.append(prefix).push_back('.');
      from = at + 1;
    }
    out.append(sql, from, std::string::npos);
    return out;
  }

  /// Column `i` of `table` in this query: its own (marked) or a joined table's (qualified); a clear
  /// error when the query does not join that table.
  std::string columnOf(ColumnRef column) const {
    const TableInfo& table = *column.table;
    if (&table == table_) return own(column.index);
    for (const auto& j : joins_)  // a pivot table's own columns, named by the struct that declares them
      if (j.table->columnsOf == &table) return j.table->table + "." + j.table->columns[column.index + j.table->columnsOffset];
    if (!joins(table))
      throw UsageError(
          format("kith: {} is a column of {}, which this query of {} does not join; add join<...>() for {} before naming "
                 "its columns",
                 column.member, table.model, table_->model, table.model));
    return table.table + "." + table.columns[column.index];
  }

  bool joins(const TableInfo& table) const {
    return std::find_if(joins_.begin(), joins_.end(), [&](const Join& j) { return j.table == &table; }) != joins_.end();
  }

  /// Joins the table of one of two columns compared equal: the one not in the query yet (the
  /// other's table must be: this query's own or one joined before).
  void addJoin(bool left, ColumnRef a, ColumnRef b) {
    const bool hasA = a.table == table_ || joins(*a.table), hasB = b.table == table_ || joins(*b.table);
    if (hasA == hasB)
      throw UsageError(format(hasA ? "kith: join<{0}, {1}>(): this query already has both {2} and {3}; a table is joined once"
                                   : "kith: join<{0}, {1}>(): this query of {4} has neither {2} nor {3}; join one of them first",
                              a.member, b.member, a.table->model, b.table->model, table_->model));
    const ColumnRef& present = hasA ? a : b;
    const ColumnRef& joined = hasA ? b : a;
    const std::string on = joined.table->table + "." + joined.table->columns[joined.index] + " = " + columnOf(present);
    joins_.push_back({joined.table, (left ? " LEFT JOIN " : " INNER JOIN ") + joined.table->table + " ON " + on});
  }

  /// The table an UPDATE or DELETE writes: this query's, or the pivot table of a ManyToMany's query.
  const TableInfo& writeTable() const { return pivot_ ? *pivot_ : *table_; }

  /// The WHERE of an UPDATE or DELETE: the conditions, or with joins the primary keys of the rows
  /// they select (neither statement takes a join on both databases); for a ManyToMany's query, the
  /// key pairs of the pivot rows they select.
  std::string writeCondition() const {
    if (pivot_) {
      const std::string pair = "(" + pivot_->table + "." + pivot_->columns[0] + ", " + pivot_->table + "." + pivot_->columns[1] + ")";
      return resolve(" WHERE " + pair + " IN (SELECT " + pair.substr(1, pair.size() - 2) + " FROM " + from() + whereClause() + ")");
    }
    if (joins_.empty()) return resolve(whereClause());
    const std::string key = own(table_->primaryKey);
    return resolve(" WHERE " + key + " IN (SELECT " + key + " FROM " + from() + whereClause() + ")");
  }

  std::string whereClause() const {
    if (where_.empty() && scope_.empty()) return {};
    if (scope_.empty()) return " WHERE " + where_;
    if (where_.empty()) return " WHERE " + scope_;
    return " WHERE (" + where_ + ") AND (" + scope_ + ")";
  }

  /// The LIMIT bound when only an offset is set: SQLite needs a LIMIT before OFFSET and reads -1 as
  /// none, PostgreSQL refuses a negative one; both take the largest integer.
  static constexpr std::int64_t noLimit = std::numeric_limits<std::int64_t>::max();

  std::string paging() const {
    if (!limit_ && !offset_) return {};
    return offset_ ? " LIMIT ? OFFSET ?" : " LIMIT ?";
  }

  void append(bool isOr, std::string_view sql) {
    if (!where_.empty()) where_ += isOr ? " OR " : " AND ";
    where_ += sql;
  }

  static std::string_view checkedOperator(std::string_view op) {
    static constexpr std::string_view allowed[] = {"=", "!=", "<>", "<", "<=", ">", ">=", "like", "LIKE", "not like", "NOT LIKE"};
    for (auto a : allowed)
      if (a == op) return a;
    throw UsageError("kith: unknown operator \"" + std::string(op) + "\" in where<>(); use one of =, !=, <>, <, <=, >, >=, like, not like");
  }

  /// `column op ?`, or IS [NOT] NULL for a null value compared with =, != or <>.
  void addCondition(bool isOr, ColumnRef column, std::string_view op, Value value) {
    op = checkedOperator(op);
    const std::string name = columnOf(column);
    if (value.index() == 0 && (op == "=" || op == "!=" || op == "<>")) {
      append(isOr, name + (op == "=" ? " IS NULL" : " IS NOT NULL"));
    } else {
      append(isOr, name + " " + std::string(op) + " ?");
      bindings_.push_back(std::move(value));
    }
  }

  /// The IN list of the values added to the bindings from `first` on (taken back when it fails).
  void addIn(bool isOr, bool negate, ColumnRef column, std::size_t first) {
    std::string name;
    try {
      name = columnOf(column);
    } catch (...) {
      bindings_.resize(first);
      throw;
    }
    append(isOr, inCondition(connection_.usableBackend(), name, column.member, negate, bindings_, first));
  }

  void addNullCheck(bool isOr, ColumnRef column, std::string_view test) { append(isOr, columnOf(column) + std::string(test)); }

  void addRaw(bool isOr, std::string_view sql) {
    requireNoMark(sql, "whereRaw");
    append(isOr, "(" + std::string(sql) + ")");
  }

  /// Where the conditions end now: Query::apply groups what a scope adds after it.
  std::size_t conditionMark() const noexcept { return where_.size(); }
  /// The conditions added since `mark` become one AND group with the ones before it, whatever
  /// joined the first of them (`x AND (a OR b)`, never `x OR a OR b`).
  void groupSince(std::size_t mark) {
    if (where_.size() == mark) return;
    std::string added = where_.substr(mark);
    if (added.starts_with(" AND "))
      added.erase(0, 5);
    else if (added.starts_with(" OR "))
      added.erase(0, 4);
    where_.resize(mark);
    append(false, "(" + added + ")");
  }

  /// Adds `inner`'s conditions as one parenthesized group (the caller checked it holds only conditions).
  void addGroup(bool isOr, QueryCore& inner) {
    if (inner.where_.empty()) return;
    append(isOr, "(" + inner.where_ + ")");
    bindings_.insert(bindings_.end(), std::make_move_iterator(inner.bindings_.begin()), std::make_move_iterator(inner.bindings_.end()));
  }

  void addOrder(std::string& to, std::string_view head, ColumnRef column, Order order) const {
    const std::string name = columnOf(column);
    to += to.empty() ? head : ", ";
    to += name;
    to += order == Order::Asc ? " ASC" : " DESC";
  }

  /// Refuses what a condition-only callback (a relation's onQuery, whereHas, withCount) set
  /// besides conditions, rather than ignoring it. `preloads`: whether the typed query holds any;
  /// `joinsBefore`: the joins the callback's query started with (a where group's: its query's).
  void requireOnlyConditions(std::string_view what, bool preloads, std::size_t joinsBefore) const {
    if (!order_.empty() || !groupOrder_.empty() || limit_ || offset_ || groupLimit_ || !selected_.empty() || !extras_.empty() || preloads ||
        joins_.size() != joinsBefore)
      throw UsageError(detail::format(
          "kith: {} may only add conditions (where..., has..., whereHas...); orderBy, limit, offset, select, join, withCount and "
          "preload have no meaning there",
          what));
  }

  void rejectPaging(const char* action) const {
    if (limit_ || offset_ || !order_.empty())
      throw UsageError(std::string("kith: ") + action +
                       "() applies to every matching row; remove limit(), offset() and orderBy() from this query");
  }

  /// paginate()'s checks on its arguments and on the query.
  void checkPaginate(std::int64_t page, std::int64_t perPage) const {
    if (!preloading_.empty()) throw UsageError("kith: cannot paginate relationship \"" + std::string(preloading_) + "\" during preload");
    if (page < 1) throw UsageError(detail::format("kith: paginate() counts pages from 1; there is no page {}", page));
    if (perPage < 1) throw UsageError(detail::format("kith: paginate() needs at least 1 row per page, not {}", perPage));
    if (limit_ || offset_)
      throw UsageError("kith: paginate() sets the limit and offset itself; remove limit() and offset() from this query");
  }

  /// Adds a computed column, refusing an alias that is empty, names a column or repeats another.
  void addExtra(ExtraColumn e) {
    e.alias = quote(e.name);
    // The outer SELECT of a groupLimit preload names its columns: one of the same name as an
    // extra would be ambiguous.
    for (const auto& column : table_->columns)
      if (column == e.alias)
        throw UsageError(detail::format("kith: the withCount/withAggregate alias \"{}\" names a column of {}; choose another alias", e.name,
                                        table_->model));
    for (const auto& other : extras_)
      if (other.name == e.name)
        throw UsageError("kith: two withCount/withAggregate columns are both named \"" + e.name + "\"; give one another alias");
    extras_.push_back(std::move(e));
  }

  void readExtras(Statement& st, void* row) const {
    int column = static_cast<int>(selected_.empty() ? table_->columns.size() : selected_.size());
    for (const auto& e : extras_) e.read(st, column++, row, e);
  }

  /// Binds the values of toSql()'s placeholders to the run of its statement.
  void bindSelect(Run& run) const {
    int index = 0;
    forEachBinding(true, [&](const Value& v) { run.bindValue(++index, v); });
  }

  void bindConditions(Run& run, int& index) const {
    forEachBinding(false, [&](const Value& v) { run.bindValue(++index, v); });
  }

  /// Every value toSql() binds, in placeholder order; without the select list's and the paging's
  /// when `full` is false (count, exists).
  template <class F>
  void forEachBinding(bool full, F&& f) const {
    if (full)
      for (const auto& e : extras_)
        for (const auto& v : e.bindings) f(v);
    for (const auto& v : bindings_) f(v);
    for (const auto& v : scopeBindings_) f(v);
    if (!full) return;
    if (groupLimit_) f(Value{*groupLimit_});
    if (limit_ || offset_) f(Value{limit_.value_or(noLimit)});
    if (offset_) f(Value{*offset_});
  }

  std::int64_t scalar(const std::string& sql, bool withPaging) const {
    Run run(connection_.backend(), sql);
    int index = 0;
    bindConditions(run, index);
    if (withPaging) {
      run.bindValue(++index, Value{limit_.value_or(noLimit)});
      if (offset_) run.bindValue(++index, Value{*offset_});
    }
    run.step();
    return run.statement().integer(0);
  }

  Connection connection_;
  const TableInfo* table_;
  std::string where_;
  std::vector<Value> bindings_;
  std::string scope_;
  std::vector<Value> scopeBindings_;
  std::vector<std::size_t> selected_;
  std::vector<ExtraColumn> extras_;
  std::string order_;
  std::optional<std::int64_t> limit_;
  std::optional<std::int64_t> offset_;
  // The relation being preloaded, when this is a preload query: its name, and the foreign key
  // column that groupLimit partitions by.
  std::string_view preloading_;
  std::string partition_;
  std::optional<std::int64_t> groupLimit_;
  std::string groupOrder_;
  std::string alias_;  // quoted; set on a subquery over the table of the query around it
  struct Join {
    const TableInfo* table;
    std::string sql;  // " INNER JOIN <table> ON ...", own columns marked
  };
  std::vector<Join> joins_;
  // A ManyToMany's query (its client's query()): the pivot table that update() and remove() write.
  const TableInfo* pivot_ = nullptr;
  int depth_ = 0;  // subquery nesting, for unique aliases
};

}  // namespace detail
}  // namespace kith
