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
};

/// The model-independent part of a query. Query<M> derives from it privately: its members are
/// reachable from Query and the relation layer's friends only.
class QueryCore {
 public:
  QueryCore(Connection connection, const TableInfo& table) : connection_(std::move(connection)), table_(&table) {}

  /// The SELECT this query runs, with `?` for each bound value.
  std::string toSql() const {
    std::string columns;
    if (selected_.empty())
      columns = table_->selectList;
    else
      for (std::size_t i = 0; i < selected_.size(); ++i) columns += (i ? ", " : "") + table_->columns[selected_[i]];
    if (!groupLimit_) {
      for (const auto& e : extras_) columns += ", " + e.sql + " AS " + e.alias;
      return "SELECT " + columns + " FROM " + from() + whereClause() + order_ + paging();
    }
    // Each parent's rows numbered by a window function, and the first groupLimit of each kept.
    std::string inner = columns, outer = columns;
    for (const auto& e : extras_) {
      inner += ", " + e.sql + " AS " + e.alias;
      outer += ", " + e.alias;
    }
    const std::string& rowOrder = groupOrder_.empty() ? table_->columns[table_->primaryKey] + " DESC" : groupOrder_;
    return "SELECT " + outer + " FROM (SELECT " + inner + ", row_number() OVER (PARTITION BY " + partition_ + " ORDER BY " + rowOrder +
           ") AS \"kith_row\" FROM " + from() + whereClause() + ") AS \"kith_group\" WHERE \"kith_row\" <= ?" +
           (order_.empty() ? std::string(" ORDER BY \"kith_row\"") : order_) + paging();
  }

  /// The values bound to toSql()'s placeholders, in order.
  std::vector<Value> bindings() const {
    std::vector<Value> out;
    forEachBinding(true, [&](const Value& v) { out.push_back(v); });
    return out;
  }

  std::int64_t count() const {
    const bool paged = limit_ || offset_;
    return scalar(paged ? "SELECT count(*) FROM (SELECT 1 FROM " + from() + whereClause() + paging() + ") AS \"kith_rows\""
                        : "SELECT count(*) FROM " + from() + whereClause(),
                  paged);
  }

  bool exists() const { return scalar("SELECT EXISTS(SELECT 1 FROM " + from() + whereClause() + ")", false) != 0; }

  /// Bulk DELETE of the matching rows. Returns rows deleted.
  std::int64_t remove() const {
    rejectPaging("remove");
    auto& b = connection_.backend();
    Run run(b, "DELETE FROM " + table_->table + whereClause());
    int index = 0;
    bindConditions(run, index);
    run.finish();
    return b.changes();
  }

  /// Bulk UPDATE of `columns` to `values` (one each) in the matching rows. Returns rows changed.
  std::int64_t updateColumns(std::span<const std::size_t> columns, std::span<const Value* const> values) const {
    rejectPaging("update");
    std::string sql = "UPDATE " + table_->table + " SET ";
    for (std::size_t i = 0; i < columns.size(); ++i) sql += (i ? ", " : "") + table_->columns[columns[i]] + " = ?";
    sql += whereClause();
    auto& b = connection_.backend();
    Run run(b, sql);
    int index = 0;
    for (const Value* v : values) run.bindValue(++index, *v);
    bindConditions(run, index);
    run.finish();
    return b.changes();
  }

  const Connection& connection() const noexcept { return connection_; }

  /// The column indices select<...>() chose, empty when all.
  const std::vector<std::size_t>& selected() const noexcept { return selected_; }

  /// Adds a condition that stays in its own AND group whatever the user's conditions say (a
  /// relation's foreign key, say).
  void addScope(std::string sql, std::vector<Value> values) {
    scope_ += (scope_.empty() ? "" : " AND ") + sql;
    scopeBindings_.insert(scopeBindings_.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
  }

  /// The table as the SQL refers to it: its name, or the alias of a subquery on a self relation.
  const std::string& ref() const { return alias_.empty() ? table_->table : alias_; }
  std::string from() const { return alias_.empty() ? table_->table : table_->table + " AS " + alias_; }

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
  void addCondition(bool isOr, std::size_t column, std::string_view op, Value value) {
    op = checkedOperator(op);
    const auto& name = table_->columns[column];
    if (value.index() == 0 && (op == "=" || op == "!=" || op == "<>")) {
      append(isOr, name + (op == "=" ? " IS NULL" : " IS NOT NULL"));
    } else {
      append(isOr, name + " " + std::string(op) + " ?");
      bindings_.push_back(std::move(value));
    }
  }

  /// The IN list of the values added to the bindings from `first` on.
  void addIn(bool isOr, bool negate, std::size_t column, std::string_view member, std::size_t first) {
    append(isOr, inCondition(connection_.usableBackend(), table_->columns[column], member, negate, bindings_, first));
  }

  void addNullCheck(bool isOr, std::size_t column, std::string_view test) { append(isOr, table_->columns[column] + std::string(test)); }

  void addRaw(bool isOr, std::string_view sql) { append(isOr, "(" + std::string(sql) + ")"); }

  /// Adds `inner`'s conditions as one parenthesized group (the caller checked it holds only conditions).
  void addGroup(bool isOr, QueryCore& inner) {
    if (inner.where_.empty()) return;
    append(isOr, "(" + inner.where_ + ")");
    bindings_.insert(bindings_.end(), std::make_move_iterator(inner.bindings_.begin()), std::make_move_iterator(inner.bindings_.end()));
  }

  void addOrder(std::string& to, std::string_view head, std::size_t column, Order order) const {
    to += to.empty() ? head : ", ";
    to += table_->columns[column];
    to += order == Order::Asc ? " ASC" : " DESC";
  }

  /// Refuses what a condition-only callback (a relation's onQuery, whereHas, withCount) set
  /// besides conditions, rather than ignoring it. `preloads`: whether the typed query holds any.
  void requireOnlyConditions(std::string_view what, bool preloads) const {
    if (!order_.empty() || !groupOrder_.empty() || limit_ || offset_ || groupLimit_ || !selected_.empty() || !extras_.empty() || preloads)
      throw UsageError(detail::format(
          "kith: {} may only add conditions (where..., has..., whereHas...); orderBy, limit, offset, select, withCount and preload "
          "have no meaning there",
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
  int depth_ = 0;      // subquery nesting, for unique aliases
};

}  // namespace detail
}  // namespace kith
