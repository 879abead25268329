// The query builder: conditions, ordering, paging, reads, bulk update and delete for one model.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/persist.hpp>
#include <kith/detail/query_core.hpp>
#include <kith/detail/relation_traits.hpp>
#include <kith/detail/std.hpp>
#include <kith/error.hpp>
#include <kith/types.hpp>

#include <concepts>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kith {

namespace detail {
template <auto Member>
struct Assignment {
  Value value;
};

/// One relation's preload in steps, so that several relations' statements can share a
/// pipeline: sendAhead() (its statement sent, when it has one and the pipeline takes it), read()
/// (its rows, in the order the statements were sent; or the whole query when it was not sent
/// ahead), complete() (nested preloads, which need the rows, then the parents' members).
struct PendingPreload {
  virtual ~PendingPreload() = default;
  virtual bool sendAhead() = 0;
  virtual void read() = 0;
  virtual void complete() = 0;
};

/// The relations one query preloads at one level, their statements in one pipeline.
struct PreloadBatch {
  std::vector<std::unique_ptr<PendingPreload>> pending;

  void run(Backend& backend) {
    std::vector<char> ahead(pending.size());
    {
      Pipeline pipeline(backend, true);
      for (std::size_t i = 0; i < pending.size(); ++i) ahead[i] = pending[i]->sendAhead();
      for (std::size_t i = 0; i < pending.size(); ++i)
        if (ahead[i]) pending[i]->read();
      pipeline.finish();
    }
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (!ahead[i]) pending[i]->read();
      pending[i]->complete();
    }
  }
};

/// Loads relation `Relation` for `parents` (kith/relations/preload.hpp); with a `batch`, adds
/// its steps there instead.
template <auto Relation, class M, class F>
void preloadRelation(std::span<M> parents, const Connection& connection, const F& constraint, PreloadBatch* batch = nullptr);

/// A preload without a constraint callback.
struct NoConstraint {
  template <class Q>
  void operator()(Q&) const {}
};

struct QueryAccess;

/// The check on the member that receives withCount/withAggregate/loadCount's value (nullptr:
/// none, the value goes to the extras).
template <class M, auto Target>
constexpr bool checkExtraTarget() {
  if constexpr (std::is_same_v<decltype(Target), std::nullptr_t>) {
    return true;
  } else {
    using Pointer = MemberPointer<std::remove_cv_t<decltype(Target)>>;
    constexpr bool ownMember = Pointer::valid && std::is_same_v<typename Pointer::Class, M>;
    static_assert(
        ownMember,
        "kith: the member that receives a relation count or aggregate must be a data member of the model, like &User::postsCount");
    if constexpr (ownMember) {
      constexpr bool notColumn = !Meta<M>::template has<Target>;
      static_assert(notColumn,
                    "kith: the member that receives a relation count or aggregate must not be one of the model's columns: the value is "
                    "computed by a query and never saved; declare a separate member for it");
      return notColumn;
    } else {
      return false;
    }
  }
}

/// An ExtraColumn's reader that keeps the value in the row's extras, under the extra's name
/// (`row.extra<T>(name)`).
template <class M>
void readIntoExtras(Statement& st, int column, void* row, const ExtraColumn& self) {
  Persist<M>::state(*static_cast<M*>(row)).setExtra(self.name, readValue(st, column));
}

/// An aggregate over a related column, for withAggregate: kith::sum<&Post::views>().
template <auto Column>
struct Aggregate {
  std::string_view function;
  bool distinct = false;
};
}  // namespace detail

template <auto Column>
constexpr detail::Aggregate<Column> sum() {
  return {"sum"};
}
template <auto Column>
constexpr detail::Aggregate<Column> min() {
  return {"min"};
}
template <auto Column>
constexpr detail::Aggregate<Column> max() {
  return {"max"};
}
/// The average; NULL (an empty std::optional, or an error for a plain double) when there are no rows.
template <auto Column>
constexpr detail::Aggregate<Column> avg() {
  return {"avg"};
}
template <auto Column>
constexpr detail::Aggregate<Column> countDistinct() {
  return {"count", true};
}

/// The tag of an untracked find: `User::find(db, id, kith::untracked)` (see Query::untracked()).
struct Untracked {
  explicit Untracked() = default;
};
inline constexpr Untracked untracked{};

/// The tag of a find that finds a trashed row too: `Post::find(db, id, kith::withTrashed)` (a
/// model with soft deletes; see Query::withTrashed()).
struct WithTrashed {
  explicit WithTrashed() = default;
};
inline constexpr WithTrashed withTrashed{};

namespace detail {
template <class M>
constexpr bool requireSoftDeletes() {
  static_assert(SoftDeletes<M>::enabled,
                "kith: withTrashed(), onlyTrashed(), restore(), forceDelete() and trashed() are for models that declare "
                "`static constexpr auto softDeletes = kith::softDeletes<&Model::deletedAt>;`; this one does not (remove() and "
                "destroy() delete its rows)");
  return SoftDeletes<M>::enabled;
}
}  // namespace detail

/// One page of a query's rows and where it sits among all of them: `q.paginate(2, 20)`.
template <class M>
struct Page {
  std::vector<M> rows;
  std::int64_t total = 0;  // rows matching the query, over all pages
  std::int64_t perPage = 0;
  std::int64_t currentPage = 1;  // pages count from 1
  std::int64_t lastPage = 1;     // 1 when there are no rows

  bool hasMorePages() const noexcept { return currentPage < lastPage; }
  bool hasPages() const noexcept { return lastPage > 1; }
  bool empty() const noexcept { return rows.empty(); }
  std::size_t size() const noexcept { return rows.size(); }
  auto begin() noexcept { return rows.begin(); }
  auto end() noexcept { return rows.end(); }
  auto begin() const noexcept { return rows.begin(); }
  auto end() const noexcept { return rows.end(); }
  M& operator[](std::size_t i) { return rows[i]; }
  const M& operator[](std::size_t i) const { return rows[i]; }
};

/// One column assignment for Query::update: `q.update(kith::set<&Post::title>("New"))`.
template <auto Member, class V>
detail::Assignment<Member> set(V&& value) {
  return {detail::toValueAs<detail::ColumnType<Member>>(std::forward<V>(value))};
}

/// A SELECT, UPDATE or DELETE on model M's table. Conditions name columns by member pointer;
/// every value is bound, every identifier quoted.
template <class M>
class Query : private detail::QueryCore {
  using Meta = detail::Meta<M>;
  using Sql = detail::Sql<M>;

 public:
  /// The model queried: what a generic callback names columns of (`&std::remove_cvref_t<decltype(q)>::model_type::title`).
  using model_type = M;

  explicit Query(Connection connection) : QueryCore(std::move(connection), Sql::info()) {
    [[maybe_unused]] detail::CheckModel<M> modelChecked;  // the message when the model's declaration is wrong
  }

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

  /// Applies a query scope: a function that adds conditions to a query of M (and may order,
  /// join, limit or preload), declared where you like, typically in the model:
  /// `static void published(kith::Query<Post>& q) { q.where<&Post::published>(true); }`, with any
  /// arguments after the query. `Post::query(db).apply<&Post::published>()`,
  /// `.apply<&Post::byAuthor>(id)`; on a relation query and in a preload callback alike. The
  /// conditions a scope adds are one AND group: an orWhere inside it cannot widen the query.
  template <auto Scope, class... Args>
  Query& apply(Args&&... args) {
    constexpr bool callable = std::is_invocable_v<decltype(Scope), Query&, Args&&...>;
    static_assert(callable,
                  "kith: apply<scope>(args...) needs a function callable as scope(kith::Query<Model>&, args...) for the model queried, "
                  "like `static void published(kith::Query<Post>& q)` in Post");
    if constexpr (callable) {
      const std::size_t mark = conditionMark();
      Scope(*this, std::forward<Args>(args)...);
      groupSince(mark);
    }
    return *this;
  }

  template <auto Member, detail::ValueRange R>
  Query& whereIn(const R& values) {
    return inList<Member>(false, false, values);
  }
  template <auto Member, detail::ValueRange R>
  Query& orWhereIn(const R& values) {
    return inList<Member>(true, false, values);
  }
  template <auto Member, detail::ValueRange R>
  Query& whereNotIn(const R& values) {
    return inList<Member>(false, true, values);
  }
  template <auto Member, detail::ValueRange R>
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

  /// Rows with at least one related row: `has<&User::posts>()` is `EXISTS (SELECT 1 FROM posts ...)`.
  template <auto Relation>
  Query& has() {
    return relationExists<Relation>(false, false, detail::NoConstraint{});
  }
  /// Rows whose related rows number `op count`: `has<&User::posts>(">", 1)`, a count subquery.
  template <auto Relation>
  Query& has(std::string_view op, std::int64_t count) {
    return relationCount<Relation>(false, detail::NoConstraint{}, op, count);
  }
  template <auto Relation>
  Query& orHas() {
    return relationExists<Relation>(true, false, detail::NoConstraint{});
  }
  template <auto Relation>
  Query& orHas(std::string_view op, std::int64_t count) {
    return relationCount<Relation>(true, detail::NoConstraint{}, op, count);
  }
  /// Rows without any related row: NOT EXISTS.
  template <auto Relation>
  Query& doesntHave() {
    return relationExists<Relation>(false, true, detail::NoConstraint{});
  }
  template <auto Relation>
  Query& orDoesntHave() {
    return relationExists<Relation>(true, true, detail::NoConstraint{});
  }
  /// has(), counting only the related rows that the callback's conditions keep:
  /// `whereHas<&User::posts>([](auto& q) { q.template where<&Post::title>("x"); })`.
  template <auto Relation, class F>
  Query& whereHas(F constraint) {
    return relationExists<Relation>(false, false, constraint);
  }
  template <auto Relation, class F>
  Query& whereHas(F constraint, std::string_view op, std::int64_t count) {
    return relationCount<Relation>(false, constraint, op, count);
  }
  template <auto Relation, class F>
  Query& orWhereHas(F constraint) {
    return relationExists<Relation>(true, false, constraint);
  }
  template <auto Relation, class F>
  Query& orWhereHas(F constraint, std::string_view op, std::int64_t count) {
    return relationCount<Relation>(true, constraint, op, count);
  }
  template <auto Relation, class F>
  Query& whereDoesntHave(F constraint) {
    return relationExists<Relation>(false, true, constraint);
  }
  template <auto Relation, class F>
  Query& orWhereDoesntHave(F constraint) {
    return relationExists<Relation>(true, true, constraint);
  }
  /// Of a MorphTo: whereHas() over the owner types named (a subset of those its type lists):
  /// `whereHasMorph<&Comment::commentable, Post>([](auto& q) { ... })` — rows whose owner is a
  /// Post that the callback's conditions keep. whereHas() on a MorphTo is this over every type.
  template <auto Relation, class... Owners, class F = detail::NoConstraint>
  Query& whereHasMorph(F constraint = {}) {
    static_assert(sizeof...(Owners) > 0, "kith: whereHasMorph<&Model::relation, Owner...>() names the owner types to look in");
    if constexpr (checkRelation<Relation>()) {
      constexpr bool morphTo = requires { detail::RelationInfo<Relation>::morphTo; };
      static_assert(morphTo, "kith: whereHasMorph<...>() is for a MorphTo; use whereHas<...>() for other relations");
      if constexpr (morphTo) morphExists<Relation, Owners...>(false, false, constraint);
    }
    return *this;
  }

  /// Reads the number of related rows with each row, in the same statement (a correlated
  /// subquery). It lands in `Target`, a member of M that is not a column, when one is named
  /// (`withCount<&User::posts, &User::postsCount>()`), else in the row's extras under
  /// "<relation>_count": `user.extra<std::int64_t>("posts_count")`. The callback's conditions
  /// restrict what is counted.
  template <auto Relation, auto Target = nullptr, class F = detail::NoConstraint>
  requires(!std::convertible_to<F, std::string_view>) Query& withCount(F constraint = {}) {
    if constexpr (checkCounted<Relation>() && detail::checkExtraTarget<M, Target>())
      addAggregate<Relation, Target>("count(*)", detail::RelationInfo<Relation>::countAlias(), constraint);
    return *this;
  }
  /// withCount() into the extras under `alias`.
  template <auto Relation, class F = detail::NoConstraint>
  Query& withCount(std::string alias, F constraint = {}) {
    if constexpr (checkCounted<Relation>()) addAggregate<Relation, nullptr>("count(*)", std::move(alias), constraint);
    return *this;
  }

  /// An aggregate over a related column, read with each row:
  /// `withAggregate<&User::posts, &User::totalViews>(kith::sum<&Post::views>())`. Sums, minimums,
  /// maximums and averages over no rows are NULL: read them into a std::optional.
  template <auto Relation, auto Target, auto Column, class F = detail::NoConstraint>
  requires(!std::convertible_to<F, std::string_view>) Query& withAggregate(detail::Aggregate<Column> aggregate, F constraint = {}) {
    if constexpr (checkCounted<Relation>()) {
      if constexpr (detail::checkExtraTarget<M, Target>() && checkAggregate<Relation, Column>())
        addAggregate<Relation, Target>(aggregateSql<Relation, Column>(aggregate), {}, constraint);
    }
    return *this;
  }
  /// withAggregate() into the extras under `alias` (Lucid's withAggregate needs one too).
  template <auto Relation, auto Column, class F = detail::NoConstraint>
  Query& withAggregate(detail::Aggregate<Column> aggregate, std::string alias, F constraint = {}) {
    if constexpr (checkCounted<Relation>()) {
      if constexpr (checkAggregate<Relation, Column>())
        addAggregate<Relation, nullptr>(aggregateSql<Relation, Column>(aggregate), std::move(alias), constraint);
    }
    return *this;
  }

  /// Reads only these columns; the others keep their default values in the models returned.
  template <auto... Members>
  Query& select() {
    static_assert(sizeof...(Members) > 0, "kith: select<...>() needs at least one column");
    if ((detail::requireColumn<M, Members>() && ...)) selected_ = {Meta::template indexOf<Members>()...};
    return *this;
  }

  /// Orders by a column of this model or of a joined one.
  template <auto Member>
  Query& orderBy(Order order = asc) {
    if constexpr (detail::requireQueryColumn<M, Member>()) addOrder(order_, " ORDER BY ", columnRef<Member>(), order);
    return *this;
  }

  /// INNER JOIN on two columns compared equal, one of a model this query already has (M, or one
  /// joined before), the other of the model it joins:
  /// `Post::query(db).join<&Post::userId, &User::id>().where<&User::name>("Ann")` is
  /// `SELECT "posts"."id", ... FROM "posts" INNER JOIN "users" ON "users"."id" = "posts"."user_id"
  /// WHERE "users"."name" = ?`. Conditions and orderBy may then name the joined model's columns;
  /// every column is qualified by its table, and the rows are still M's (one per row the join
  /// gives: joining the many side of a relation repeats them; whereHas tests existence instead).
  template <auto Left, auto Right>
  Query& join() {
    return typedJoin<Left, Right>(false);
  }
  /// LEFT JOIN: rows of M without a match are kept, the joined model's columns NULL for them.
  template <auto Left, auto Right>
  Query& leftJoin() {
    return typedJoin<Left, Right>(true);
  }

  /// Eager-loads a relation of every row this query returns, with one more query per relation
  /// (and per level when nested): `User::query(db).preload<&User::posts>()`. The optional callback
  /// constrains the related query: where, orderBy, select (the foreign key is added when missing),
  /// withCount, groupLimit, and nested preload.
  template <auto Relation, class F = detail::NoConstraint>
  Query& preload(F constraint = {}) {
    preloads_.push_back(
        [constraint = std::move(constraint)](std::span<M> parents, const Connection& connection, detail::PreloadBatch* batch) {
          detail::preloadRelation<Relation>(parents, connection, constraint, batch);
        });
    return *this;
  }

  /// Reads models that keep no record of the values read (EF Core's AsNoTracking, Lucid's
  /// pojo()): no hashing of each column, and a state of 24 bytes per row instead of 24 + 8 per
  /// column. For rows that are shown and never saved. Such a model refuses save(), saveQuietly(),
  /// markDirty() and being saved through a relation (kith::UsageError: kith cannot tell which
  /// columns changed, and writing them all could overwrite other writers' changes); destroy() and
  /// refresh() work, and refresh() makes it tracked. Its preloaded relations are read untracked too.
  Query& untracked() {
    tracked_ = false;
    return *this;
  }

  /// Reads from the primary server of a connection with read replicas (kith/replicas.hpp), with
  /// this query's preloads and counts: for a read that must see the latest writes of other
  /// clients. Without replicas it changes nothing.
  Query& onPrimary() {
    onPrimary_ = true;
    return *this;
  }

  /// Of a model with soft deletes: reads (and update() writes) trashed rows too.
  Query& withTrashed() {
    if constexpr (detail::requireSoftDeletes<M>()) trashed_ = detail::Trashed::With;
    return *this;
  }
  /// Of a model with soft deletes: reads (and update() writes) trashed rows only.
  Query& onlyTrashed() {
    if constexpr (detail::requireSoftDeletes<M>()) trashed_ = detail::Trashed::Only;
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

  /// In a preload callback: at most `n` related rows per parent, in one statement (a window
  /// function numbers each parent's rows in groupOrderBy order, by default primary key descending).
  /// Elsewhere it is limit(n).
  Query& groupLimit(std::int64_t n) {
    if (partition_.empty()) return limit(n);
    groupLimit_ = n;
    return *this;
  }
  /// The order in which groupLimit picks each parent's rows, and lists them; elsewhere orderBy.
  template <auto Member>
  Query& groupOrderBy(Order order = asc) {
    if (partition_.empty()) return orderBy<Member>(order);
    if constexpr (detail::requireColumn<M, Member>()) addOrder(groupOrder_, "", columnRef<Member>(), order);
    return *this;
  }

  /// The matching rows, with their preloads; then the model's afterFetch hook, when it has one.
  std::vector<M> all() const {
    auto rows = fetch();
    runPreloads(rows);
    detail::Lifecycle<M>::afterFetch(rows, connection_);
    return rows;
  }

  /// The first matching row, with its preloads; then the model's afterFind hook, when it has one.
  std::optional<M> first() const {
    Query one = *this;
    one.limit_ = 1;
    auto rows = one.fetch();
    one.runPreloads(rows);
    if (rows.empty()) return std::nullopt;
    detail::Lifecycle<M>::afterFind(rows.front(), connection_);
    return std::optional<M>(std::move(rows.front()));
  }

  /// The first row, or kith::NotFound.
  M firstOrFail() const {
    if (auto row = first()) return std::move(*row);
    throw NotFound("kith: no " + std::string(detail::typeName<M>) + " matches: " + toSql());
  }

  /// Page `page` (from 1) of `perPage` rows, with the total: a count, then the page's rows (no
  /// second statement when the page lies past the last row). Inside a transaction both see the
  /// same data; outside one, a write between them can make the total and the rows disagree.
  Page<M> paginate(std::int64_t page, std::int64_t perPage) const {
    checkPaginate(page, perPage);
    Page<M> out;
    out.total = count();
    out.perPage = perPage;
    out.currentPage = page;
    const std::int64_t pages = out.total / perPage + (out.total % perPage != 0);
    out.lastPage = std::max<std::int64_t>(1, pages);
    if (page <= pages) {  // the page holds rows (and (page - 1) * perPage < total cannot overflow)
      Query rows = *this;
      rows.limit_ = perPage;
      rows.offset_ = (page - 1) * perPage;
      out.rows = rows.all();
    }
    return out;
  }

  /// Bulk UPDATE of the matching rows: `q.update(kith::set<&Post::title>("x"))`; a model with an
  /// updatedAt timestamp gets it stamped too, unless the call sets it. No hook runs (no model is
  /// read). Returns rows changed. On a ManyToMany's query (`user.related<&User::skills>().query()`) it sets pivot
  /// columns of the pivot rows the query selects: `update(kith::set<&SkillUser::proficiency>(5))`.
  template <auto... Members>
  std::int64_t update(const detail::Assignment<Members>&... assignments) const {
    static_assert(sizeof...(Members) > 0, "kith: update() needs at least one kith::set<&Model::column>(value)");
    if constexpr ((checkUpdated<Members>() && ...)) {
      // The model's updatedAt timestamp, unless the call sets it (not on a pivot write: its rows are not M's).
      using Life = detail::Lifecycle<M>;
      if constexpr (Life::hasUpdated && (!detail::sameMember<Members, Life::updated>() && ...)) {
        if (!writesPivot()) {
          using Stamped = detail::ColumnType<Life::updated>;
          const Value now = detail::Codec<typename detail::Unwrap<Stamped>::type>::toValue(detail::stampAs<Stamped>(detail::stampNow()));
          const detail::ColumnRef columns[] = {columnRef<Members>()..., columnRef<Life::updated>()};
          const Value* values[] = {&assignments.value..., &now};
          return updateColumns(columns, values);
        }
      }
      const detail::ColumnRef columns[] = {columnRef<Members>()...};
      const Value* values[] = {&assignments.value...};
      return updateColumns(columns, values);
    } else {
      return 0;
    }
  }

  /// Bulk DELETE of the matching rows; returns rows deleted. Of a model with soft deletes it
  /// trashes the matching rows that are not yet (an UPDATE that sets the soft-delete column, and
  /// updatedAt, to now): forceDelete() deletes them. On a ManyToMany's query it deletes the pivot
  /// rows of the related rows it selects (detach). No hook runs.
  std::int64_t remove() const {
    if constexpr (detail::SoftDeletes<M>::enabled) {
      if (!writesPivot()) {
        if (trashed_ == detail::Trashed::Only)
          throw UsageError("kith: remove() on onlyTrashed() would trash rows that are trashed already; forceDelete() deletes them");
        Query live = *this;
        live.trashed_ = detail::Trashed::Without;
        return live.update(kith::set<detail::SoftDeletes<M>::column>(stampedNow<detail::SoftDeletes<M>::column>()));
      }
    }
    return QueryCore::remove();
  }

  /// Of a model with soft deletes: DELETE of the matching rows (the live ones, or as withTrashed()
  /// and onlyTrashed() say). Returns rows deleted. No hook runs.
  std::int64_t forceDelete() const {
    if constexpr (detail::requireSoftDeletes<M>()) {
      requireOwnRows("forceDelete");
      return QueryCore::remove();
    }
    return 0;
  }

  /// Of a model with soft deletes: brings back the trashed rows among the matching ones (their
  /// soft-delete column set to NULL, updatedAt stamped). Returns rows restored. No hook runs.
  std::int64_t restore() const {
    if constexpr (detail::requireSoftDeletes<M>()) {
      requireOwnRows("restore");
      Query trashed = *this;
      trashed.trashed_ = detail::Trashed::Only;
      return trashed.update(kith::set<detail::SoftDeletes<M>::column>(std::nullopt));
    }
    return 0;
  }

  using QueryCore::bindings;
  using QueryCore::connection;
  using QueryCore::count;
  using QueryCore::exists;
  using QueryCore::selected;
  using QueryCore::toSql;

  /// Adds a condition that stays in its own AND group whatever the user's conditions say (a
  /// relation's foreign key, say).
  Query& scope(std::string sql, std::vector<Value> values) {
    addScope(std::move(sql), std::move(values));
    return *this;
  }

 private:
  template <class>
  friend class Query;
  friend struct detail::QueryAccess;

  /// The current UTC time as column `Member` holds it.
  template <auto Member>
  static auto stampedNow() {
    return detail::stampAs<detail::ColumnType<Member>>(detail::stampNow());
  }

  void requireOwnRows(const char* action) const {
    if (writesPivot())
      throw UsageError(detail::format("kith: {}() acts on rows of {}; a ManyToMany's query writes its pivot rows: query {} itself for this",
                                      action, detail::typeName<M>, detail::typeName<M>));
  }

  /// An empty query on the same table reference and joins, for a condition group.
  Query sibling() const {
    Query q(connection_);
    q.alias_ = alias_;
    q.depth_ = depth_;
    q.joins_ = joins_;
    return q;
  }

  /// A column of M or of a joined model (checked at compile time to be a column), for the core.
  template <auto Member>
  static detail::ColumnRef columnRef() {
    using Class = typename detail::MemberPointer<std::remove_cv_t<decltype(Member)>>::Class;
    return {&detail::Sql<Class>::info(), detail::Meta<Class>::template indexOf<Member>(), detail::memberName<Member>};
  }

  /// update()'s check on a column: one of M's, or of a pivot columns struct (a ManyToMany's query
  /// writes its pivot rows; which pivot is checked when it runs). Another model's is an error.
  template <auto Member>
  static constexpr bool checkUpdated() {
    using Pointer = detail::MemberPointer<std::remove_cv_t<decltype(Member)>>;
    if constexpr (Pointer::valid && !std::is_same_v<typename Pointer::Class, M>) {
      constexpr bool model = requires(const typename Pointer::Class& c) { c.isPersisted(); };
      static_assert(!model,
                    "kith: update() sets columns of the queried model (on a ManyToMany's query: of its pivot columns struct); a joined "
                    "model's rows are updated through that model's own query");
      if constexpr (model) return false;
    }
    return detail::requireQueryColumn<M, Member>();
  }

  template <auto Left, auto Right>
  Query& typedJoin(bool left) {
    if constexpr (detail::requireJoinColumns<Left, Right>()) addJoin(left, columnRef<Left>(), columnRef<Right>());
    return *this;
  }

  /// Runs the SELECT; each row is read into the model `slot()` returns, then handed to `done`.
  template <class Slot, class Done>
  void readRows(Slot&& slot, Done&& done, detail::Run* ahead = nullptr) const {
    if (ahead) return readFrom(*ahead, slot, done);
    const std::string sql = toSql();
    detail::PrimaryScope primary(connection_, onPrimary_);
    detail::Run run(connection_.backend(), sql);
    bindSelect(run);
    readFrom(run, slot, done);
  }

  /// Sends this query in the open pipeline (Run::sendAhead); its rows are read by fetch(run) or
  /// forEachRow(sink, run) later. False when it was not sent (they run it then).
  bool sendAhead(std::optional<detail::Run>& run) const {
    run.emplace(connection_.backend(), toSql());
    bindSelect(*run);
    return run->sendAhead();
  }

  template <class Slot, class Done>
  void readFrom(detail::Run& run, Slot& slot, Done& done) const {
    detail::StateArena states(connection_, detail::Persist<M>::readStride(tracked_, selected_));
    while (run.step()) {
      M& row = slot();
      if (tracked_)
        detail::Persist<M>::read(run.statement(), selected_, row, states);
      else
        detail::Persist<M>::readUntracked(run.statement(), selected_, row, states);
      if (!extras_.empty()) readExtras(run.statement(), &row);
      done(row);
    }
  }

  std::vector<M> fetch(detail::Run* ahead = nullptr) const {
    std::vector<M> rows;
    readRows([&]() -> M& { return rows.emplace_back(); }, [](M&) {}, ahead);
    return rows;
  }

  /// Reads each row into a model and hands it to `sink`, without collecting them.
  template <class Sink>
  void forEachRow(Sink&& sink, detail::Run* ahead = nullptr) const {
    std::optional<M> row;
    readRows([&]() -> M& { return row.emplace(); }, [&](M& r) { sink(std::move(r)); }, ahead);
  }

  /// Several relations' queries go in one pipeline where the adapter has them (PostgreSQL): one
  /// round trip for all of them after the parents are read, instead of one each.
  void runPreloads(std::span<M> rows) const {
    detail::PrimaryScope primary(connection_, onPrimary_ && !preloads_.empty());
    if (preloads_.size() < 2 || rows.empty() || !connection_.backend().pipelinesReads()) {
      for (const auto& load : preloads_) load(rows, connection_, nullptr);
      return;
    }
    detail::PreloadBatch batch;
    for (const auto& load : preloads_) load(rows, connection_, &batch);
    batch.run(connection_.backend());
  }

  template <auto Member, class V>
  Query& condition(bool isOr, std::string_view op, V&& value) {
    if constexpr (detail::requireQueryColumn<M, Member>())
      addCondition(isOr, columnRef<Member>(), op, detail::toValueAs<detail::ColumnType<Member>>(std::forward<V>(value)));
    return *this;
  }

  template <auto Member, class R>
  Query& inList(bool isOr, bool negate, const R& values) {
    if constexpr (detail::requireQueryColumn<M, Member>()) {
      const std::size_t first = bindings_.size();
      if constexpr (requires { std::size(values); }) bindings_.reserve(first + std::size(values));
      for (auto&& v : values) bindings_.push_back(detail::toValueAs<detail::ColumnType<Member>>(v));
      addIn(isOr, negate, columnRef<Member>(), first);
    }
    return *this;
  }

  template <auto Member>
  Query& nullCheck(bool isOr, std::string_view test) {
    if constexpr (detail::requireQueryColumn<M, Member>()) addNullCheck(isOr, columnRef<Member>(), test);
    return *this;
  }

  template <class... Args>
  Query& raw(bool isOr, std::string_view sql, const Args&... params) {
    addRaw(isOr, sql);
    (bindings_.push_back(detail::parameterValue(params)), ...);
    return *this;
  }

  template <class F>
  Query& addGroup(bool isOr, F&& group) {
    Query inner = sibling();
    group(inner);
    inner.requireOnlyConditions(isOr ? "the callback of orWhere(group)" : "the callback of where(group)", joins_.size());
    QueryCore::addGroup(isOr, inner);
    return *this;
  }

  // --- Relationship queries ---------------------------------------------------------------

  template <auto Relation>
  static constexpr bool checkRelation() {
    constexpr bool isRelation = detail::isRelationMember<Relation>();
    static_assert(isRelation,
                  "kith: has<...>(), whereHas<...>(), withCount<...>() and withAggregate<...>() need a relation member of the queried "
                  "model, like &User::posts");
    if constexpr (isRelation) {
      using Info = detail::RelationInfo<Relation>;
      constexpr bool ownRelation = std::is_same_v<typename Info::Parent, M>;
      static_assert(ownRelation, "kith: this relation belongs to another model than the one queried");
      if constexpr (ownRelation && !Info::ok) {
        [[maybe_unused]] typename Info::Check keysChecked{};  // the message when the keys are wrong
      }
      return ownRelation && Info::ok;
    } else {
      return false;
    }
  }

  /// has/whereHas with a count, withCount and withAggregate: not on a MorphTo, which has one
  /// owner or none.
  template <auto Relation>
  static constexpr bool checkCounted() {
    if constexpr (checkRelation<Relation>()) {
      constexpr bool morphTo = requires { detail::RelationInfo<Relation>::morphTo; };
      static_assert(!morphTo,
                    "kith: a MorphTo has one owner or none: has<...>() and whereHas<...>() on it take no count, and withCount and "
                    "withAggregate do not apply; use has<...>(), doesntHave<...>() or whereHas<...>(callback)");
      return !morphTo;
    } else {
      return false;
    }
  }

  template <auto Relation, auto Column>
  static constexpr bool checkAggregate() {
    return detail::requireColumn<typename detail::RelationInfo<Relation>::Related, Column>();
  }

  /// `sum(<column>)`, the column marked as the subquery's own: qualified when the subquery joins
  /// (a HasManyThrough's joins its intermediate table).
  template <auto Relation, auto Column>
  static std::string aggregateSql(const detail::Aggregate<Column>& aggregate) {
    using Related = typename detail::RelationInfo<Relation>::Related;
    return std::string(aggregate.function) + (aggregate.distinct ? "(DISTINCT " : "(") + detail::reservedMark +
           detail::Sql<Related>::column(detail::Meta<Related>::template indexOf<Column>()) + ")";
  }

  /// Refuses what a condition-only callback set besides conditions (QueryCore's check, with this
  /// query's preloads).
  void requireOnlyConditions(std::string_view what, std::size_t joinsBefore = 0) const {
    QueryCore::requireOnlyConditions(what, !preloads_.empty(), joinsBefore);
  }

  /// Adds a relation's onQuery conditions as their own AND group of the scope.
  template <auto OnQuery>
  void constrainBy(std::string_view relation) {
    Query c = sibling();
    OnQuery(c);
    c.requireOnlyConditions(detail::format("the onQuery of relation \"{}\"", relation), joins_.size());
    if (!c.where_.empty()) addScope("(" + c.where_ + ")", std::move(c.bindings_), true);
  }

  /// `<head> FROM <related> WHERE (<constraint>) AND (<onQuery> AND <the relation's correlation>)`,
  /// and its bindings in order.
  template <auto Relation, class F>
  std::pair<std::string, std::vector<Value>> relationSubquery(std::string_view head, const F& constraint, std::string_view what) const {
    using Info = detail::RelationInfo<Relation>;
    // The relation's joins first, so that the callback may name the joined tables' columns (a
    // ManyToMany's pivot columns).
    return nestedSubquery<typename Info::Related>(
        head, [](auto& inner) { Info::constrain(inner); }, constraint, what,
        [&](const std::string& innerRef) { return Info::correlate(innerRef, ref()); });
  }

  /// `<head> FROM <Related> WHERE ...` nested in this query, and its bindings in order: `prepare`
  /// (a relation's joins and onQuery), the callback's conditions (only conditions), then
  /// `correlate(inner table reference)`, the condition that ties it to this query's row.
  template <class Related, class Prepare, class F, class Correlate>
  std::pair<std::string, std::vector<Value>> nestedSubquery(std::string_view head, Prepare&& prepare, const F& constraint,
                                                            std::string_view what, Correlate&& correlate) const {
    Query<Related> inner(connection_);
    inner.depth_ = depth_ + 1;
    // The inner table shadows the outer one of the same name: alias it (a self relation).
    if (detail::Sql<Related>::table() == Sql::table()) inner.alias_ = detail::quote("kith_t" + std::to_string(inner.depth_));
    prepare(inner);
    const std::size_t joins = inner.joins_.size();
    constraint(inner);
    inner.requireOnlyConditions(what, joins);
    inner.addScope(correlate(inner.ref()), {}, true);
    std::vector<Value> values = std::move(inner.bindings_);
    values.insert(values.end(), std::make_move_iterator(inner.scopeBindings_.begin()), std::make_move_iterator(inner.scopeBindings_.end()));
    return {inner.resolve(std::string(head) + " FROM " + inner.from() + inner.whereClause()), std::move(values)};
  }

  template <auto Relation, class F>
  Query& relationExists(bool isOr, bool negate, const F& constraint) {
    if constexpr (checkRelation<Relation>()) {
      if constexpr (requires { detail::RelationInfo<Relation>::morphTo; }) {
        morphExists<Relation>(isOr, negate, constraint);
      } else {
        auto [sql, values] = relationSubquery<Relation>("SELECT 1", constraint, "the callback of whereHas<...>()");
        append(isOr, (negate ? "NOT EXISTS (" : "EXISTS (") + sql + ")");
        bindings_.insert(bindings_.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
      }
    }
    return *this;
  }

  /// A MorphTo's has/whereHas: for each owner type (of `Only`, or every listed one), `type = ? AND
  /// EXISTS (SELECT 1 FROM <owner table> WHERE <owner key> = <id column> AND <callback>)`, OR-ed
  /// in one group; a row whose type is none of them matches none.
  template <auto Relation, class... Only, class F>
  void morphExists(bool isOr, bool negate, const F& constraint) {
    using Info = detail::RelationInfo<Relation>;
    static_assert((Info::template lists<Only> && ...),
                  "kith: whereHasMorph<&Model::relation, Owner...>() names owner types its MorphTo lists");
    std::string sql;
    std::vector<Value> values;
    Info::forEachOwner([&]<class Owner, std::size_t I>() {
      if constexpr (sizeof...(Only) == 0 || (std::is_same_v<Owner, Only> || ...)) {
        auto [exists, bound] = nestedSubquery<Owner>(
            "SELECT 1", [](auto&) {}, constraint, "the callback of whereHas<...>()",
            [&](const std::string& innerRef) {
              return innerRef + "." + detail::Sql<Owner>::column(detail::Meta<Owner>::primaryKey) + " = " + ref() + "." + Info::idColumn();
            });
        sql += (sql.empty() ? "(" : " OR (") + ref() + "." + Info::typeColumn() + " = ? AND EXISTS (" + exists + "))";
        values.emplace_back(std::string(Info::morphNames[I]));
        values.insert(values.end(), std::make_move_iterator(bound.begin()), std::make_move_iterator(bound.end()));
      }
    });
    append(isOr, (negate ? "NOT (" : "(") + sql + ")");
    bindings_.insert(bindings_.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
  }

  template <auto Relation, class F>
  Query& relationCount(bool isOr, const F& constraint, std::string_view op, std::int64_t count) {
    if constexpr (checkCounted<Relation>()) {
      static constexpr std::string_view allowed[] = {"=", "!=", "<>", "<", "<=", ">", ">="};
      if (std::find(std::begin(allowed), std::end(allowed), op) == std::end(allowed))
        throw UsageError("kith: unknown operator \"" + std::string(op) + "\" in has<>()/whereHas<>(); use one of =, !=, <>, <, <=, >, >=");
      auto [sql, values] = relationSubquery<Relation>("SELECT count(*)", constraint, "the callback of whereHas<...>()");
      append(isOr, "(" + sql + ") " + std::string(op) + " ?");
      bindings_.insert(bindings_.end(), std::make_move_iterator(values.begin()), std::make_move_iterator(values.end()));
      bindings_.emplace_back(count);
    }
    return *this;
  }

  template <auto Relation, auto Target, class F>
  void addAggregate(std::string_view function, std::string name, const F& constraint) {
    auto [sql, values] =
        relationSubquery<Relation>("SELECT " + std::string(function), constraint, "the callback of withCount/withAggregate");
    detail::ExtraColumn e{"(" + sql + ")", {}, {}, std::move(values), nullptr, nullptr};
    if constexpr (std::is_same_v<decltype(Target), std::nullptr_t>) {
      if (name.empty()) throw UsageError("kith: withCount/withAggregate needs a non-empty alias");
      e.read = detail::readIntoExtras<M>;
      e.name = std::move(name);
    } else {
      e.name = std::string(detail::memberName<Target>);
      e.read = [](detail::Statement& st, int column, void* row, const detail::ExtraColumn& self) {
        using C = detail::Codec<detail::ColumnType<Target>>;
        if constexpr (!C::nullable) {
          if (st.isNull(column))
            throw Error(
                detail::format("kith: {}::{} cannot hold NULL, which the aggregate gives when there are no related rows; declare "
                               "it std::optional",
                               detail::typeName<M>, self.name));
        }
        C::read(st, column, static_cast<M*>(row)->*Target);
      };
    }
    addExtra(std::move(e));
  }

  std::vector<std::function<void(std::span<M>, const Connection&, detail::PreloadBatch*)>> preloads_;
  bool tracked_ = true;
};

}  // namespace kith
