// The definitions of kith/detail/query_core.hpp's model-independent code: included by that header
// in header-only mode (inline), compiled once into the kith library in compiled mode
// (KITH_COMPILED_LIB; src/kith.cpp).
#pragma once

#include <kith/detail/query_core.hpp>

#include <algorithm>

namespace kith::detail {

KITH_INLINE TableInfo::TableInfo(std::string_view modelName, std::string_view tableName, std::span<const std::string_view> columnNames,
                                 std::size_t primaryKeyIndex, std::size_t softDeleteIndex)
    : model(modelName),
      rawTable(tableName),
      rawColumns(columnNames),
      table(quote(tableName)),
      primaryKey(primaryKeyIndex),
      softDelete(softDeleteIndex) {
  columns.reserve(columnNames.size());
  for (std::string_view c : columnNames) {
    columns.push_back(quote(c));
    selectList += (selectList.empty() ? "" : ", ") + columns.back();
  }
  findAny = "SELECT " + selectList + " FROM " + table + " WHERE " + columns[primaryKey] + " = ?";
  find = softDelete == none ? findAny : findAny + " AND " + columns[softDelete] + " IS NULL";
  remove = "DELETE FROM " + table + " WHERE " + columns[primaryKey] + " = ?";
}

KITH_INLINE std::string inCondition(Backend* backend, const std::string& column, std::string_view member, bool negate,
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

KITH_INLINE std::string QueryCore::toSql() const {
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

KITH_INLINE std::vector<Value> QueryCore::bindings() const {
  std::vector<Value> out;
  forEachBinding(true, [&](const Value& v) { out.push_back(v); });
  return out;
}

KITH_INLINE std::int64_t QueryCore::count() const {
  const bool paged = limit_ || offset_;
  return scalar(resolve(paged ? "SELECT count(*) FROM (SELECT 1 FROM " + from() + whereClause() + paging() + ") AS \"kith_rows\""
                              : "SELECT count(*) FROM " + from() + whereClause()),
                paged);
}

KITH_INLINE bool QueryCore::exists() const {
  return scalar(resolve("SELECT EXISTS(SELECT 1 FROM " + from() + whereClause() + ")"), false) != 0;
}

KITH_INLINE std::int64_t QueryCore::remove() const {
  rejectPaging("remove");
  auto& b = connection_.backend();
  Run run(b, "DELETE FROM " + writeTable().table + writeCondition());
  int index = 0;
  bindConditions(run, index);
  run.finish();
  return b.changes();
}

KITH_INLINE std::int64_t QueryCore::updateColumns(std::span<const ColumnRef> columns, std::span<const Value* const> values) const {
  rejectPaging("update");
  const TableInfo& target = writeTable();
  const TableInfo* owner = pivot_ ? pivot_->columnsOf : table_;
  const std::size_t offset = pivot_ ? pivot_->columnsOffset : 0;
  for (const ColumnRef& c : columns)
    if (c.table != owner)
      throw UsageError(pivot_ ? format("kith: update() on a ManyToMany's query sets columns of its pivot rows ({}); {} is a column "
                                       "of {}: update those rows through {}::query",
                                       target.model, c.member, c.table->model, c.table->model)
                              : format("kith: update() sets columns of {}, the table this query reads; {} is a column of {}", table_->model,
                                       c.member, c.table->model));
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

KITH_INLINE void QueryCore::addScope(std::string sql, std::vector<Value> values, bool trusted) {
  if (!trusted) requireNoMark(sql, "scope");
  scope_ += (scope_.empty() ? "" : " AND ") + sql;
  scopeBindings_.insert(scopeBindings_.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
}

KITH_INLINE const std::string& QueryCore::ref() const { return alias_.empty() ? table_->table : alias_; }

KITH_INLINE std::string QueryCore::from() const {
  std::string out = alias_.empty() ? table_->table : table_->table + " AS " + alias_;
  for (const auto& j : joins_) out += j.sql;
  return out;
}

KITH_INLINE std::string QueryCore::own(std::size_t i) const {
  std::string out(1, ownMark);
  return out += table_->columns[i];
}

KITH_INLINE std::string QueryCore::resolve(std::string sql) const {
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

KITH_INLINE std::string QueryCore::columnOf(ColumnRef column) const {
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

KITH_INLINE bool QueryCore::joins(const TableInfo& table) const {
  return std::find_if(joins_.begin(), joins_.end(), [&](const Join& j) { return j.table == &table; }) != joins_.end();
}

KITH_INLINE void QueryCore::addJoin(bool left, ColumnRef a, ColumnRef b) {
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

KITH_INLINE const TableInfo& QueryCore::writeTable() const { return pivot_ ? *pivot_ : *table_; }

KITH_INLINE std::string QueryCore::writeCondition() const {
  if (pivot_) {
    const std::string pair = "(" + pivot_->table + "." + pivot_->columns[0] + ", " + pivot_->table + "." + pivot_->columns[1] + ")";
    return resolve(" WHERE " + pair + " IN (SELECT " + pair.substr(1, pair.size() - 2) + " FROM " + from() + whereClause() + ")");
  }
  if (joins_.empty()) return resolve(whereClause());
  const std::string key = own(table_->primaryKey);
  return resolve(" WHERE " + key + " IN (SELECT " + key + " FROM " + from() + whereClause() + ")");
}

KITH_INLINE std::string QueryCore::trashCondition() const {
  if (table_->softDelete == TableInfo::none || trashed_ == Trashed::With) return {};
  return own(table_->softDelete) + (trashed_ == Trashed::Only ? " IS NOT NULL" : " IS NULL");
}

KITH_INLINE std::string QueryCore::whereClause() const {
  // The soft-delete condition joins the scope's group; without one the scope is used as it is.
  std::string withTrash = trashCondition();
  if (!withTrash.empty() && !scope_.empty()) withTrash = scope_ + " AND " + withTrash;
  const std::string& scope = withTrash.empty() ? scope_ : withTrash;
  if (where_.empty() && scope.empty()) return {};
  if (scope.empty()) return " WHERE " + where_;
  if (where_.empty()) return " WHERE " + scope;
  return " WHERE (" + where_ + ") AND (" + scope + ")";
}

KITH_INLINE std::string QueryCore::paging() const {
  if (!limit_ && !offset_) return {};
  return offset_ ? " LIMIT ? OFFSET ?" : " LIMIT ?";
}

KITH_INLINE void QueryCore::append(bool isOr, std::string_view sql) {
  if (!where_.empty()) where_ += isOr ? " OR " : " AND ";
  where_ += sql;
}

KITH_INLINE std::string_view QueryCore::checkedOperator(std::string_view op) {
  static constexpr std::string_view allowed[] = {"=", "!=", "<>", "<", "<=", ">", ">=", "like", "LIKE", "not like", "NOT LIKE"};
  for (auto a : allowed)
    if (a == op) return a;
  throw UsageError("kith: unknown operator \"" + std::string(op) + "\" in where<>(); use one of =, !=, <>, <, <=, >, >=, like, not like");
}

KITH_INLINE void QueryCore::addCondition(bool isOr, ColumnRef column, std::string_view op, Value value) {
  op = checkedOperator(op);
  const std::string name = columnOf(column);
  if (value.index() == 0 && (op == "=" || op == "!=" || op == "<>")) {
    append(isOr, name + (op == "=" ? " IS NULL" : " IS NOT NULL"));
  } else {
    append(isOr, name + " " + std::string(op) + " ?");
    bindings_.push_back(std::move(value));
  }
}

KITH_INLINE void QueryCore::addIn(bool isOr, bool negate, ColumnRef column, std::size_t first) {
  std::string name;
  try {
    name = columnOf(column);
  } catch (...) {
    bindings_.resize(first);
    throw;
  }
  append(isOr, inCondition(connection_.usableBackend(), name, column.member, negate, bindings_, first));
}

KITH_INLINE void QueryCore::addNullCheck(bool isOr, ColumnRef column, std::string_view test) {
  append(isOr, columnOf(column) + std::string(test));
}

KITH_INLINE void QueryCore::addRaw(bool isOr, std::string_view sql) {
  requireNoMark(sql, "whereRaw");
  append(isOr, "(" + std::string(sql) + ")");
}

KITH_INLINE void QueryCore::groupSince(std::size_t mark) {
  if (where_.size() == mark) return;
  std::string added = where_.substr(mark);
  if (added.starts_with(" AND "))
    added.erase(0, 5);
  else if (added.starts_with(" OR "))
    added.erase(0, 4);
  where_.resize(mark);
  append(false, "(" + added + ")");
}

KITH_INLINE void QueryCore::addGroup(bool isOr, QueryCore& inner) {
  if (inner.where_.empty()) return;
  append(isOr, "(" + inner.where_ + ")");
  bindings_.insert(bindings_.end(), std::make_move_iterator(inner.bindings_.begin()), std::make_move_iterator(inner.bindings_.end()));
}

KITH_INLINE void QueryCore::addOrder(std::string& to, std::string_view head, ColumnRef column, Order order) const {
  const std::string name = columnOf(column);
  to += to.empty() ? head : ", ";
  to += name;
  to += order == Order::Asc ? " ASC" : " DESC";
}

KITH_INLINE void QueryCore::requireOnlyConditions(std::string_view what, bool preloads, std::size_t joinsBefore) const {
  if (!order_.empty() || !groupOrder_.empty() || limit_ || offset_ || groupLimit_ || !selected_.empty() || !extras_.empty() || preloads ||
      joins_.size() != joinsBefore)
    throw UsageError(detail::format(
        "kith: {} may only add conditions (where..., has..., whereHas...); orderBy, limit, offset, select, join, withCount and "
        "preload have no meaning there",
        what));
}

KITH_INLINE void QueryCore::rejectPaging(const char* action) const {
  if (limit_ || offset_ || !order_.empty())
    throw UsageError(std::string("kith: ") + action +
                     "() applies to every matching row; remove limit(), offset() and orderBy() from this query");
}

KITH_INLINE void QueryCore::checkPaginate(std::int64_t page, std::int64_t perPage) const {
  if (!preloading_.empty()) throw UsageError("kith: cannot paginate relationship \"" + std::string(preloading_) + "\" during preload");
  if (page < 1) throw UsageError(detail::format("kith: paginate() counts pages from 1; there is no page {}", page));
  if (perPage < 1) throw UsageError(detail::format("kith: paginate() needs at least 1 row per page, not {}", perPage));
  if (limit_ || offset_) throw UsageError("kith: paginate() sets the limit and offset itself; remove limit() and offset() from this query");
}

KITH_INLINE void QueryCore::addExtra(ExtraColumn e) {
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

KITH_INLINE void QueryCore::readExtras(Statement& st, void* row) const {
  int column = static_cast<int>(selected_.empty() ? table_->columns.size() : selected_.size());
  for (const auto& e : extras_) e.read(st, column++, row, e);
}

KITH_INLINE void QueryCore::bindSelect(Run& run) const {
  int index = 0;
  forEachBinding(true, [&](const Value& v) { run.bindValue(++index, v); });
}

KITH_INLINE void QueryCore::bindConditions(Run& run, int& index) const {
  forEachBinding(false, [&](const Value& v) { run.bindValue(++index, v); });
}

KITH_INLINE std::int64_t QueryCore::scalar(const std::string& sql, bool withPaging) const {
  PrimaryScope primary(connection_, onPrimary_);
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

}  // namespace kith::detail
