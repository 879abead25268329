// The query builder: conditions, ordering, paging, reads, bulk update and delete for one model.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/persist.hpp>
#include <kith/error.hpp>
#include <kith/types.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <ranges>
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
template <auto Member>
struct Assignment {
  Value value;
};

/// Loads relation `Relation` for `parents` (defined with the relation types, kith/has_many.hpp).
template <auto Relation, class M, class F>
void preloadRelation(std::span<M> parents, const Connection& connection, const F& constraint);

/// A preload without a constraint callback.
struct NoConstraint {
  template <class Q>
  void operator()(Q&) const {}
};

struct QueryAccess;
}  // namespace detail

/// One column assignment for Query::update: `q.update(kith::set<&Post::title>("New"))`.
template <auto Member, class V>
detail::Assignment<Member> set(V&& value) {
  return {detail::toValueAs<detail::ColumnType<Member>>(std::forward<V>(value))};
}

/// A SELECT, UPDATE or DELETE on model M's table. Conditions name columns by member pointer;
/// every value is bound, every identifier quoted.
template <class M>
class Query {
  using Meta = detail::Meta<M>;
  using Sql = detail::Sql<M>;

 public:
  explicit Query(Connection connection) : connection_(std::move(connection)) {}

  /// `where<&User::email>("a@b.c")`; a null value (std::nullopt) becomes IS NULL.
  template <auto Member, class V>
  Query& where(V&& value) {
    return condition<Member>(false, "=", std::forward<V>(value));
  }
  /// `where<&Post::userId>(">", 3)`: one of =, !=, <>, <, <=, >, >=, like, not like.
  template <auto Member, class V>
  Query& where(std::string_view op, V&& value) {
    return condition<Member>(false, op, std::forward<V>(value));
  }
  template <auto Member, class V>
  Query& orWhere(V&& value) {
    return condition<Member>(true, "=", std::forward<V>(value));
  }
  template <auto Member, class V>
  Query& orWhere(std::string_view op, V&& value) {
    return condition<Member>(true, op, std::forward<V>(value));
  }

  /// A parenthesized group: `where([](auto& q) { q.template where<&User::a>(1).template orWhere<&User::b>(2); })`.
  template <class F>
  requires std::invocable<F&, Query&> Query& where(F&& group) { return addGroup(false, std::forward<F>(group)); }
  template <class F>
  requires std::invocable<F&, Query&> Query& orWhere(F&& group) { return addGroup(true, std::forward<F>(group)); }

  template <auto Member, std::ranges::input_range R>
  Query& whereIn(const R& values) {
    return inList<Member>(false, false, values);
  }
  template <auto Member, std::ranges::input_range R>
  Query& orWhereIn(const R& values) {
    return inList<Member>(true, false, values);
  }
  template <auto Member, std::ranges::input_range R>
  Query& whereNotIn(const R& values) {
    return inList<Member>(false, true, values);
  }
  template <auto Member, std::ranges::input_range R>
  Query& orWhereNotIn(const R& values) {
    return inList<Member>(true, true, values);
  }
  template <auto Member, class T>
  Query& whereIn(std::initializer_list<T> values) {
    return inList<Member>(false, false, values);
  }

  template <auto Member>
  Query& whereNull() {
    return nullCheck<Member>(false, " IS NULL");
  }
  template <auto Member>
  Query& whereNotNull() {
    return nullCheck<Member>(false, " IS NOT NULL");
  }
  template <auto Member>
  Query& orWhereNull() {
    return nullCheck<Member>(true, " IS NULL");
  }
  template <auto Member>
  Query& orWhereNotNull() {
    return nullCheck<Member>(true, " IS NOT NULL");
  }

  /// Raw SQL for what the builder cannot say; `?` placeholders, and the parameters are bound.
  template <class... Args>
  Query& whereRaw(std::string_view sql, const Args&... params) {
    return raw(false, sql, params...);
  }
  template <class... Args>
  Query& orWhereRaw(std::string_view sql, const Args&... params) {
    return raw(true, sql, params...);
  }

  /// Reads only these columns; the others keep their default values in the models returned.
  template <auto... Members>
  Query& select() {
    static_assert(sizeof...(Members) > 0, "kith: select<...>() needs at least one column");
    if ((detail::requireColumn<M, Members>() && ...)) selected_ = {Meta::template indexOf<Members>()...};
    return *this;
  }

  template <auto Member>
  Query& orderBy(Order order = asc) {
    if constexpr (detail::requireColumn<M, Member>()) {
      order_ += (order_.empty() ? " ORDER BY " : ", ") + Sql::column(Meta::template indexOf<Member>()) + (order == asc ? " ASC" : " DESC");
    }
    return *this;
  }

  /// Eager-loads a relation of every row this query returns, with one more query per relation
  /// (and per level when nested): `User::query(db).preload<&User::posts>()`. The optional callback
  /// constrains the related query: where, orderBy, select (the foreign key is added when missing),
  /// and nested preload.
  template <auto Relation, class F = detail::NoConstraint>
  Query& preload(F constraint = {}) {
    preloads_.push_back([constraint = std::move(constraint)](std::span<M> parents, const Connection& connection) {
      detail::preloadRelation<Relation>(parents, connection, constraint);
    });
    return *this;
  }

  Query& limit(std::int64_t n) {
    limit_ = n;
    return *this;
  }
  Query& offset(std::int64_t n) {
    offset_ = n;
    return *this;
  }

  std::vector<M> all() const {
    auto rows = fetch();
    runPreloads(rows);
    return rows;
  }

  std::optional<M> first() const {
    Query one = *this;
    one.limit_ = 1;
    auto rows = one.all();
    if (rows.empty()) return std::nullopt;
    return std::optional<M>(std::move(rows.front()));
  }

  /// The first row, or kith::NotFound.
  M firstOrFail() const {
    if (auto row = first()) return std::move(*row);
    throw NotFound("kith: no " + std::string(detail::typeName<M>) + " matches: " + toSql());
  }

  std::int64_t count() const {
    std::string sql = limit_ || offset_ ? "SELECT count(*) FROM (SELECT 1 FROM " + Sql::table() + whereClause() + paging() + ")"
                                        : "SELECT count(*) FROM " + Sql::table() + whereClause();
    return scalar(sql, bool(limit_ || offset_));
  }

  bool exists() const { return scalar("SELECT EXISTS(SELECT 1 FROM " + Sql::table() + whereClause() + ")", false) != 0; }

  /// Bulk UPDATE of the matching rows: `q.update(kith::set<&Post::title>("x"))`. Returns rows changed.
  template <auto... Members>
  std::int64_t update(const detail::Assignment<Members>&... assignments) const {
    static_assert(sizeof...(Members) > 0, "kith: update() needs at least one kith::set<&Model::column>(value)");
    if constexpr ((detail::requireColumn<M, Members>() && ...)) {
      rejectPaging("update");
      std::string sql = "UPDATE " + Sql::table() + " SET ";
      bool first = true;
      ((sql += (std::exchange(first, false) ? "" : ", ") + Sql::column(Meta::template indexOf<Members>()) + " = ?"), ...);
      sql += whereClause();
      auto& b = connection_.backend();
      detail::Run run(b, sql);
      int index = 0;
      (run.bindValue(++index, assignments.value), ...);
      bindConditions(run, index);
      run.finish();
      return b.changes();
    } else {
      return 0;
    }
  }

  /// Bulk DELETE of the matching rows. Returns rows deleted.
  std::int64_t remove() const {
    rejectPaging("remove");
    auto& b = connection_.backend();
    detail::Run run(b, "DELETE FROM " + Sql::table() + whereClause());
    int index = 0;
    bindConditions(run, index);
    run.finish();
    return b.changes();
  }

  /// The SELECT this query runs, with `?` for each bound value.
  std::string toSql() const {
    std::string columns;
    if (selected_.empty())
      columns = Sql::selectList();
    else
      for (std::size_t i = 0; i < selected_.size(); ++i) columns += (i ? ", " : "") + Sql::column(selected_[i]);
    return "SELECT " + columns + " FROM " + Sql::table() + whereClause() + order_ + paging();
  }

  /// The values bound to toSql()'s placeholders, in order.
  std::vector<Value> bindings() const {
    std::vector<Value> out = bindings_;
    out.insert(out.end(), scopeBindings_.begin(), scopeBindings_.end());
    if (limit_ || offset_) out.emplace_back(limit_.value_or(-1));
    if (offset_) out.emplace_back(*offset_);
    return out;
  }

  const Connection& connection() const noexcept { return connection_; }

  /// Adds a condition that stays in its own AND group whatever the user's conditions say (a
  /// relation's foreign key, say).
  Query& scope(std::string sql, std::vector<Value> values) {
    scope_ += (scope_.empty() ? "" : " AND ") + sql;
    scopeBindings_.insert(scopeBindings_.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
    return *this;
  }

  /// The column indices select<...>() chose, empty when all.
  const std::vector<std::size_t>& selected() const noexcept { return selected_; }

 private:
  template <class>
  friend class Query;
  friend struct detail::QueryAccess;

  std::vector<M> fetch() const {
    const std::string sql = toSql();
    detail::Run run(connection_.backend(), sql);
    bindAll(run, true);
    std::vector<M> rows;
    while (run.step()) detail::Persist<M>::read(run.statement(), selected_, rows.emplace_back(), connection_);
    return rows;
  }

  /// Reads each row into a model and hands it to `sink`, without collecting them.
  template <class Sink>
  void forEachRow(Sink&& sink) const {
    const std::string sql = toSql();
    detail::Run run(connection_.backend(), sql);
    bindAll(run, true);
    while (run.step()) {
      M row;
      detail::Persist<M>::read(run.statement(), selected_, row, connection_);
      sink(std::move(row));
    }
  }

  void runPreloads(std::span<M> rows) const {
    for (const auto& load : preloads_) load(rows, connection_);
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

  template <auto Member, class V>
  Query& condition(bool isOr, std::string_view op, V&& value) {
    if constexpr (detail::requireColumn<M, Member>()) {
      op = checkedOperator(op);
      const auto& column = Sql::column(Meta::template indexOf<Member>());
      Value v = detail::toValueAs<detail::ColumnType<Member>>(std::forward<V>(value));
      if (v.index() == 0 && (op == "=" || op == "!=" || op == "<>")) {
        append(isOr, column + (op == "=" ? " IS NULL" : " IS NOT NULL"));
      } else {
        append(isOr, column + " " + std::string(op) + " ?");
        bindings_.push_back(std::move(v));
      }
    }
    return *this;
  }

  template <auto Member, class R>
  Query& inList(bool isOr, bool negate, const R& values) {
    if constexpr (detail::requireColumn<M, Member>()) {
      std::string sql = Sql::column(Meta::template indexOf<Member>()) + (negate ? " NOT IN (" : " IN (");
      std::size_t n = 0;
      for (auto&& v : values) {
        sql += n++ ? ", ?" : "?";
        bindings_.push_back(detail::toValueAs<detail::ColumnType<Member>>(v));
      }
      if (n == 0)
        append(isOr, negate ? "1 = 1" : "1 = 0");  // IN () is not SQL; an empty list matches nothing
      else
        append(isOr, sql + ")");
    }
    return *this;
  }

  template <auto Member>
  Query& nullCheck(bool isOr, std::string_view test) {
    if constexpr (detail::requireColumn<M, Member>()) append(isOr, Sql::column(Meta::template indexOf<Member>()) + std::string(test));
    return *this;
  }

  template <class... Args>
  Query& raw(bool isOr, std::string_view sql, const Args&... params) {
    append(isOr, "(" + std::string(sql) + ")");
    (bindings_.push_back(detail::parameterValue(params)), ...);
    return *this;
  }

  template <class F>
  Query& addGroup(bool isOr, F&& group) {
    Query inner(connection_);
    group(inner);
    if (!inner.where_.empty()) {
      append(isOr, "(" + inner.where_ + ")");
      bindings_.insert(bindings_.end(), std::make_move_iterator(inner.bindings_.begin()), std::make_move_iterator(inner.bindings_.end()));
    }
    return *this;
  }

  std::string whereClause() const {
    if (where_.empty() && scope_.empty()) return {};
    if (scope_.empty()) return " WHERE " + where_;
    if (where_.empty()) return " WHERE " + scope_;
    return " WHERE (" + where_ + ") AND (" + scope_ + ")";
  }

  std::string paging() const {
    if (!limit_ && !offset_) return {};
    return offset_ ? " LIMIT ? OFFSET ?" : " LIMIT ?";
  }

  void rejectPaging(const char* action) const {
    if (limit_ || offset_ || !order_.empty())
      throw UsageError(std::string("kith: ") + action +
                       "() applies to every matching row; remove limit(), offset() and orderBy() from this query");
  }

  void bindConditions(detail::Run& run, int& index) const {
    for (const auto& v : bindings_) run.bindValue(++index, v);
    for (const auto& v : scopeBindings_) run.bindValue(++index, v);
  }

  void bindAll(detail::Run& run, bool withPaging) const {
    int index = 0;
    bindConditions(run, index);
    if (withPaging && (limit_ || offset_)) {
      run.bindValue(++index, Value{limit_.value_or(-1)});
      if (offset_) run.bindValue(++index, Value{*offset_});
    }
  }

  std::int64_t scalar(const std::string& sql, bool withPaging) const {
    detail::Run run(connection_.backend(), sql);
    bindAll(run, withPaging);
    run.step();
    return run.statement().integer(0);
  }

  Connection connection_;
  std::string where_;
  std::vector<Value> bindings_;
  std::string scope_;
  std::vector<Value> scopeBindings_;
  std::vector<std::size_t> selected_;
  std::string order_;
  std::optional<std::int64_t> limit_;
  std::optional<std::int64_t> offset_;
  std::vector<std::function<void(std::span<M>, const Connection&)>> preloads_;
};

}  // namespace kith
