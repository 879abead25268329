// What a query does that does not depend on its model: the conditions and their bindings, the SQL
// of SELECT, count, exists, UPDATE and DELETE, and the checks on what was asked. Query<M> is a
// thin typed layer over it (fmt's pattern: format<Args...> over vformat), so that each model
// compiles only its typed part, and this code is compiled once per translation unit.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/config.hpp>
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

namespace detail {
/// Which rows of a model with soft deletes a query reads: the live ones (the default), all of
/// them (withTrashed()), or the trashed ones (onlyTrashed()).
enum class Trashed : unsigned char { Without, With, Only };
}  // namespace detail
inline constexpr Order asc = Order::Asc;
inline constexpr Order desc = Order::Desc;

namespace detail {

/// A model's table as its SQL needs it, built once per model (Sql<M>::info()).
struct TableInfo {
  /// No column: a model without soft deletes.
  static constexpr std::size_t none = static_cast<std::size_t>(-1);

  TableInfo(std::string_view modelName, std::string_view tableName, std::span<const std::string_view> columnNames,
            std::size_t primaryKeyIndex, std::size_t softDeleteIndex = none);

  std::string_view model;                        // the model's type name, for messages
  std::string_view rawTable;                     // unquoted
  std::span<const std::string_view> rawColumns;  // unquoted (the model's constexpr names)
  std::string table;                             // quoted
  std::vector<std::string> columns;              // quoted, in declaration order
  std::string selectList;                        // every column, comma-separated
  std::size_t primaryKey;
  std::string find;    // SELECT of the row with a key (not trashed)
  std::string remove;  // DELETE of the row with a key
  // The column that marks a row trashed (none: the model has no soft deletes), and the SELECT of
  // the row with a key whether trashed or not (find, without soft deletes).
  std::size_t softDelete = none;
  std::string findAny;
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
std::string inCondition(Backend* backend, const std::string& column, std::string_view member, bool negate, std::vector<Value>& bindings,
                        std::size_t first);

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
  std::string toSql() const;

  /// The values bound to toSql()'s placeholders, in order.
  std::vector<Value> bindings() const;

  std::int64_t count() const;

  bool exists() const;

  /// Bulk DELETE of the matching rows (of a ManyToMany's query: of their pivot rows). Returns
  /// rows deleted.
  std::int64_t remove() const;

  /// Bulk UPDATE of `columns` to `values` (one each) in the matching rows (of a ManyToMany's
  /// query: in their pivot rows, whose own columns it sets). Returns rows changed.
  std::int64_t updateColumns(std::span<const ColumnRef> columns, std::span<const Value* const> values) const;

  const Connection& connection() const noexcept { return connection_; }
  /// Whether update() and remove() write a ManyToMany's pivot rows rather than the rows read.
  bool writesPivot() const noexcept { return pivot_ != nullptr; }

  /// The column indices select<...>() chose, empty when all.
  const std::vector<std::size_t>& selected() const noexcept { return selected_; }

  /// Adds a condition that stays in its own AND group whatever the user's conditions say (a
  /// relation's foreign key, say).
  void addScope(std::string sql, std::vector<Value> values, bool trusted = false);

  /// The table as the SQL refers to it: its name, or the alias of a subquery on a self relation.
  const std::string& ref() const;
  std::string from() const;

  /// Marks a column of this query's own table in the SQL it assembles; rendering (resolve())
  /// qualifies it with the table once the query joins another, or drops the mark. So a join may
  /// come after the conditions, and a relation's scope, that name the query's own columns. The
  /// character is reserved: identifiers and raw SQL holding it are refused (requireNoMark).
  static constexpr char ownMark = detail::reservedMark;

  /// This query's own column `i`, marked.
  std::string own(std::size_t i) const;

  /// `sql` with each mark replaced by this query's table reference and a dot (when it joins other
  /// tables) or removed.
  std::string resolve(std::string sql) const;

  /// Column `i` of `table` in this query: its own (marked) or a joined table's (qualified); a clear
  /// error when the query does not join that table.
  std::string columnOf(ColumnRef column) const;

  bool joins(const TableInfo& table) const;

  /// Joins the table of one of two columns compared equal: the one not in the query yet (the
  /// other's table must be: this query's own or one joined before).
  void addJoin(bool left, ColumnRef a, ColumnRef b);

  /// The table an UPDATE or DELETE writes: this query's, or the pivot table of a ManyToMany's query.
  const TableInfo& writeTable() const;

  /// The WHERE of an UPDATE or DELETE: the conditions, or with joins the primary keys of the rows
  /// they select (neither statement takes a join on both databases); for a ManyToMany's query, the
  /// key pairs of the pivot rows they select.
  std::string writeCondition() const;

  /// ` WHERE ...`: the conditions, the scope, and which rows the soft deletes let through.
  std::string whereClause() const;

  /// The soft-delete condition this query adds (empty: none), its column marked.
  std::string trashCondition() const;

  /// The LIMIT bound when only an offset is set: SQLite needs a LIMIT before OFFSET and reads -1 as
  /// none, PostgreSQL refuses a negative one; both take the largest integer.
  static constexpr std::int64_t noLimit = std::numeric_limits<std::int64_t>::max();

  std::string paging() const;

  void append(bool isOr, std::string_view sql);

  static std::string_view checkedOperator(std::string_view op);

  /// `column op ?`, or IS [NOT] NULL for a null value compared with =, != or <>.
  void addCondition(bool isOr, ColumnRef column, std::string_view op, Value value);

  /// The IN list of the values added to the bindings from `first` on (taken back when it fails).
  void addIn(bool isOr, bool negate, ColumnRef column, std::size_t first);

  void addNullCheck(bool isOr, ColumnRef column, std::string_view test);

  void addRaw(bool isOr, std::string_view sql);

  /// Where the conditions end now: Query::apply groups what a scope adds after it.
  std::size_t conditionMark() const noexcept { return where_.size(); }
  /// The conditions added since `mark` become one AND group with the ones before it, whatever
  /// joined the first of them (`x AND (a OR b)`, never `x OR a OR b`).
  void groupSince(std::size_t mark);

  /// Adds `inner`'s conditions as one parenthesized group (the caller checked it holds only conditions).
  void addGroup(bool isOr, QueryCore& inner);

  void addOrder(std::string& to, std::string_view head, ColumnRef column, Order order) const;

  /// Refuses what a condition-only callback (a relation's onQuery, whereHas, withCount) set
  /// besides conditions, rather than ignoring it. `preloads`: whether the typed query holds any;
  /// `joinsBefore`: the joins the callback's query started with (a where group's: its query's).
  void requireOnlyConditions(std::string_view what, bool preloads, std::size_t joinsBefore) const;

  void rejectPaging(const char* action) const;

  /// paginate()'s checks on its arguments and on the query.
  void checkPaginate(std::int64_t page, std::int64_t perPage) const;

  /// Adds a computed column, refusing an alias that is empty, names a column or repeats another.
  void addExtra(ExtraColumn e);

  void readExtras(Statement& st, void* row) const;

  /// Binds the values of toSql()'s placeholders to the run of its statement.
  void bindSelect(Run& run) const;

  void bindConditions(Run& run, int& index) const;

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

  std::int64_t scalar(const std::string& sql, bool withPaging) const;

  Connection connection_;
  bool onPrimary_ = false;  // onPrimary(): reads go to the primary of a connection with replicas
  Trashed trashed_ = Trashed::Without;
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

#ifndef KITH_COMPILED_LIB
#include <kith/detail/query_core-inl.hpp>
#endif
