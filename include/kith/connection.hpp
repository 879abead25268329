// Connections and transactions as the core sees them: the statement cache, the query hook and
// transaction nesting. Adapters (kith/sqlite.hpp) supply a detail::Backend.
#pragma once

#include <kith/detail/config.hpp>
#include <kith/detail/statement.hpp>
#include <kith/detail/std.hpp>
#include <kith/error.hpp>
#include <kith/types.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kith {

/// What the query hook receives for every statement run: its SQL, the values bound to it and how
/// long it took.
struct QueryEvent {
  std::string_view sql;
  std::span<const Value> bindings;
  std::chrono::nanoseconds duration;  // of a pipelined statement: the time to send it
  /// Sent in a pipeline (PostgreSQL's pipeline mode): without waiting for its answer, which came
  /// with the others' at the end of the batch (a failure there is thrown by the call that sent it).
  bool pipelined = false;
};

using QueryHook = std::function<void(const QueryEvent&)>;

/// Something that happened to a connection or a pool besides a statement, for a log: a connection
/// that kith reconnected or replaced, a pool lease held longer than its threshold.
struct ConnectionEvent {
  enum class Kind {
    Reconnected,    // a connection whose server went away was opened again before its next statement
    Replaced,       // a pool discarded a connection (dead, past its lifetime, or left broken) for a new one
    LeaseHeldLong,  // a pool lease has been held longer than PoolOptions::leakThreshold
    Retrying,       // db.transaction(fn, {.retries}) runs fn again after a serialization failure or deadlock
    ReplicaDown,    // a replica failed a read (kith/replicas.hpp): left out for a while, its reads served elsewhere
  };
  Kind kind;
  std::string_view message;             // what happened, in a sentence
  std::string_view acquiredAt;          // LeaseHeldLong: "file:line (function)" where the lease was taken
  std::chrono::milliseconds heldFor{};  // LeaseHeldLong: how long it has been held
};

using ConnectionHook = std::function<void(const ConnectionEvent&)>;

/// The isolation level an outermost transaction asks for. PostgreSQL runs each as it is named
/// (`BEGIN ISOLATION LEVEL ...`); Default is the server's own (READ COMMITTED unless configured).
/// SQLite runs every transaction serializably, which gives every level what it promises.
enum class Isolation { Default, ReadCommitted, RepeatableRead, Serializable };

/// How `db.transaction(fn, options)` and `db.begin(options)` run a transaction.
struct TransactionOptions {
  Isolation isolation = Isolation::Default;
  /// How many times to run `fn` again when the database aborted the transaction for a
  /// serialization failure (SQLSTATE 40001) or a deadlock (40P01): the whole transaction again,
  /// from its BEGIN. After the last attempt that error reaches the caller. Only for an outermost
  /// transaction (such a failure aborts everything around a savepoint too).
  int retries = 0;
  /// The wait before the first retry; each later one doubles it, up to maxBackoff. Each wait is
  /// drawn between half of it and all of it, so that two clients that collided do not again.
  std::chrono::milliseconds backoff{10};
  std::chrono::milliseconds maxBackoff{500};
};

class Connection;
class Transaction;

namespace detail {

/// The shared state of one transaction or savepoint. Models saved inside a transaction keep a
/// reference, so that after a rollback they know their row is gone.
struct TxState {
  /// Failed: the database ended the transaction on its own after an error (a failed COMMIT, a
  /// constraint declared ON CONFLICT ROLLBACK, SQLITE_FULL or SQLITE_INTERRUPT, a lost server);
  /// everything in it was rolled back, and kith refuses any further use of it.
  enum class Status { Active, Committed, RolledBack, Failed };

  std::shared_ptr<TxState> parent;
  int depth = 0;  // 1 for the outermost transaction
  Status status = Status::Active;
  std::string failure;  // when Failed: the error that ended it

  /// True when this transaction, or one it was committed into, was rolled back.
  bool undone() const noexcept {
    for (const TxState* t = this; t; t = t->parent.get())
      if (t->status == Status::RolledBack || t->status == Status::Failed) return true;
    return false;
  }

  /// This transaction, or the one around it that the database ended after an error; null when none was.
  const TxState* failedOne() const noexcept {
    for (const TxState* t = this; t; t = t->parent.get())
      if (t->status == Status::Failed) return t;
    return nullptr;
  }

  /// Why a finished transaction cannot be used, for UsageError.
  std::string finishedMessage() const;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// What a column holds, for CREATE TABLE: each adapter names the database's type for each.
enum class ColumnKind { GeneratedKey, Integer, Boolean, Real, Text, Blob, Timestamp };

/// One open database connection, as an adapter implements it. The core owns the statement cache,
/// the hook and the transaction stack; the adapter compiles statements and reports its state.
class Backend {
 public:
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  virtual ~Backend() = default;

  virtual std::unique_ptr<Statement> compile(std::string_view sql, bool persistent) = 0;
  virtual std::int64_t lastInsertId() = 0;
  virtual std::int64_t changes() = 0;
  /// The most host parameters one statement may have, read from the database at run time.
  virtual int variableLimit() = 0;
  /// True while the database itself has a transaction open (it may end one on its own after
  /// some errors).
  virtual bool nativeTransactionActive() = 0;
  virtual void closeHandle() noexcept = 0;
  /// Where the connection points, for messages.
  virtual std::string describe() const = 0;

  // Where databases differ in SQL; the defaults are SQLite's.

  /// "sqlite" or "postgresql": for what differs beyond these hooks (migrations' DDL).
  virtual std::string_view dialect() const;

  /// The statement that opens an outermost transaction at `isolation`.
  virtual std::string_view beginSql(Isolation isolation) const;
  /// True when a one-row INSERT with a generated key returns the key (INSERT ... RETURNING);
  /// false when lastInsertId() reads it afterwards.
  virtual bool insertReturnsKey() const;
  /// Keys for `count` rows about to be inserted into `table`, whose `column` the database
  /// generates, taken before the insert; empty when the keys of a multi-row INSERT follow from
  /// lastInsertId() (SQLite: consecutive rowids ending with it).
  virtual std::vector<std::int64_t> reserveKeys(std::string_view /*table*/, std::string_view /*column*/, std::size_t /*count*/);
  /// Takes a lock on `key` that other connections asking for the same key wait for, held until the
  /// outermost transaction ends: the find-or-create methods take one per (table, relation, parent)
  /// so that two of them never both miss a row and both insert it. SQLite needs none: a write
  /// transaction (BEGIN IMMEDIATE) already excludes every other writer.
  virtual void lockKey(std::int64_t /*key*/);
  /// True when a write transaction excludes every other writer (SQLite), so that a unique
  /// violation cannot come from a row another connection inserted meanwhile.
  virtual bool writersExclusive() const;
  /// When reserveKeys() gave none: true when a multi-row INSERT of `count` rows into `table`
  /// without their keys gets consecutive keys ending with lastInsertId(), so that one statement can
  /// insert many of them; false makes kith insert such rows one statement each. SQLite answers
  /// from the largest key (past 9223372036854775807 - count it picks keys at random).
  virtual bool consecutiveKeys(std::string_view /*table*/, std::string_view /*column*/, std::size_t /*count*/);
  /// The database's type for a column of this kind.
  /// A parameter where the database cannot tell its type from the context (a CASE branch): `?`,
  /// or one cast to the column type where the database needs it.
  virtual std::string typedParameter(ColumnKind /*kind*/) const;
  virtual std::string columnType(ColumnKind kind) const;
  /// True when a statement failed inside the open transaction and the database will now only
  /// roll it back (PostgreSQL); SQLite keeps the transaction usable.
  virtual bool transactionFailed();
  /// True when a list of keys goes as one array parameter (`column = ANY(?)`, PostgreSQL) rather
  /// than as an IN list of parameters (SQLite).
  virtual bool takesArrays() const;
  /// The array parameter holding `values`, when takesArrays(); nothing for values it cannot hold,
  /// which then go as an IN list.
  virtual std::optional<Value> arrayOf(std::span<const Value> /*values*/) const;

  bool isOpen() const noexcept { return open_; }

  /// False when the connection is known to be unusable (PostgreSQL: the server closed it); may ask
  /// the database (`probe`: a round trip) rather than only what the client has seen. Pools ask it
  /// before handing a connection out.
  virtual bool alive(bool /*probe*/);

  /// Set by the adapter when the server went away. Outside a transaction, the next statement first
  /// reconnects (once: when that fails, its error reaches the caller, and the statement after it tries
  /// again); inside one, the statement fails as the transaction did.
  bool lost = false;

  /// Counts the pool leases this connection was handed out under: handles made under a lease carry
  /// the count, so that one used after its lease ended is refused instead of touching a connection
  /// that may be another thread's by then. 0 for connections outside pools.
  std::atomic<std::uint64_t> generation{0};

  /// Told of reconnects (and, for a pool's connections, what the pool does with them).
  ConnectionHook events;

  /// Pipelines (PostgreSQL's pipeline mode): the statements a bulk write sends with Run::send()
  /// between beginPipeline() and endPipeline() go without waiting for each answer, and
  /// endPipeline() waits for them all, throwing the first failure (naming its statement; the
  /// server ran nothing after it). An adapter without pipelines runs each statement at send() and
  /// leaves these alone. abandonPipeline() ends one that an exception interrupted.
  virtual bool pipelines() const { return false; }
  virtual void beginPipeline() {}
  virtual void endPipeline() {}
  /// endPipeline() whose answers wait for the next statement: a COMMIT joins the pipeline and
  /// its failure, or the pipeline's, is thrown there; any other statement reads them first.
  virtual void endPipelineLater() { endPipeline(); }
  virtual void abandonPipeline() noexcept {}
  /// Whether statements that return rows may be sent ahead in a pipeline (Run::sendAhead); a
  /// connection with replicas says no: its reads go to other servers than its pipeline's.
  virtual bool pipelinesReads() const { return pipelines(); }
  /// After endPipeline(): the rows each statement sent in it changed, in the order sent.
  virtual std::span<const std::int64_t> pipelinedChanges() const { return {}; }

  /// Open kith::OnPrimary scopes (and Query::onPrimary() reads): while above 0, a connection with
  /// replicas sends its reads to the primary. Other connections have one server and ignore it.
  int primaryScopes = 0;

  /// Called after any statement failed: when the database no longer has the transaction kith
  /// thinks is open (it rolled back on its own), every open transaction becomes Failed, so that
  /// the models written in it stop claiming their rows and no later write lands outside it.
  void afterFailure(std::string_view error) noexcept {
    if (transactions.empty() || !open_) return;
    try {
      if (nativeTransactionActive()) return;
      endTransactions(TxState::Status::Failed, error);
    } catch (...) {  // out of memory for the message: still end them
      for (auto& t : transactions) t->status = TxState::Status::Failed;
      transactions.clear();
    }
  }

  /// Marks every open transaction finished with `status` and forgets them.
  void endTransactions(TxState::Status status, std::string_view why = {});

  /// Closes the handle. The database rolls back a transaction left open, so kith marks it rolled
  /// back: models inserted in it are no longer persisted. Refused while a statement of this
  /// connection runs (from the query hook, say): closing would destroy it under its caller.
  void close();

  /// The cached statement for `sql`, or a fresh one in `owned` when the cached one is already
  /// running (a query run from inside the hook, say).
  Statement& acquire(std::string_view sql, std::unique_ptr<Statement>& owned);

  std::size_t cachedStatements() const noexcept { return cache_.size(); }

  /// Opens the connection again after its server went away, with the options it was opened with;
  /// throws ConnectionError when it cannot. Adapters whose connections cannot be lost keep this.
  virtual void reconnect();

  /// Replaces the query hook; refused from inside a statement's run, where the hook being
  /// replaced may be the one running.
  void setHook(QueryHook h);

  /// Before a statement on a lost connection: reconnects when no transaction and no statement is
  /// open (their failure is the caller's to see), forgets the statements prepared on the old
  /// session, and says so through the event hook.
  void recover();

  QueryHook hook;
  std::vector<std::shared_ptr<TxState>> transactions;  // innermost last

  static constexpr std::size_t maxCachedStatements = 512;

 private:
  void evictIdle();

  friend class Run;

  std::unordered_map<std::string, std::unique_ptr<Statement>, StringHash, std::equal_to<>> cache_;
  Statement* last_ = nullptr;  // the statement acquire() returned last, while it stays cached
  int running_ = 0;            // Runs alive, their hook calls included
  bool open_ = true;
};

/// Runs one statement: binds, steps, reads, then resets it and reports it to the hook.
class Run {
 public:
  Run(Backend& backend, std::string_view sql) : backend_(backend), statement_(acquire(backend, sql, owned_)) {
    statement_->inUse = true;
    ++backend_.running_;
    if (backend_.hook) start_ = std::chrono::steady_clock::now();
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  ~Run() {
    statement_->reset();
    if (backend_.hook) {  // the statement stays in use meanwhile: the event refers to its SQL
      try {
        backend_.hook(QueryEvent{statement_->sql(), recorded_, std::chrono::steady_clock::now() - start_, pipelined_});
      } catch (...) {  // a hook must not turn a finished statement into a failure
      }
    }
    statement_->inUse = false;
    --backend_.running_;
  }

  template <class T>
  void bind(int index, const T& value) {
    if constexpr (SupportedColumnType<T>) {
      Codec<T>::bind(*statement_, index, value);
      if (backend_.hook) recorded_.push_back(Codec<T>::toValue(value));
    } else if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>) {
      bindValue(index, Value{nullptr});
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      const std::string_view text(value);  // the caller's argument outlives this statement's run
      statement_->bindText(index, text);
      if (backend_.hook) recorded_.emplace_back(std::string(text));
    } else {
      bindValue(index, parameterValue(value));  // a readable error for what cannot be bound
    }
  }

  void bindValue(int index, const Value& value) {
    detail::bindValue(*statement_, index, value);
    if (backend_.hook) recorded_.push_back(value);
  }

  bool step() {
    try {
      return statement_->step();
    } catch (const std::exception& e) {
      backend_.afterFailure(e.what());
      throw;
    }
  }

  /// Steps through to the end; for statements that return no rows.
  void finish() {
    while (step()) {
    }
  }

  /// finish() for a statement whose answer the caller does not read: inside a pipeline, sent
  /// without waiting (its failure comes from endPipeline()).
  void send() {
    try {
      pipelined_ = statement_->send();
    } catch (const std::exception& e) {
      backend_.afterFailure(e.what());
      throw;
    }
  }

  /// Sends a statement whose rows step() reads later: inside a pipeline, sent now, its answer
  /// read in the order the pipeline's statements were sent (after those before it). False when
  /// the adapter does not: step() runs it then.
  bool sendAhead() {
    try {
      pipelined_ = statement_->sendAhead();
      return pipelined_;
    } catch (const std::exception& e) {
      backend_.afterFailure(e.what());
      throw;
    }
  }

  Statement& statement() noexcept { return *statement_; }
  Backend& backend() noexcept { return backend_; }

 private:
  static Statement* acquire(Backend& backend, std::string_view sql, std::unique_ptr<Statement>& owned) {
    try {
      return &backend.acquire(sql, owned);
    } catch (const std::exception& e) {  // preparing can fail too (PostgreSQL: a lost server)
      backend.afterFailure(e.what());
      throw;
    }
  }

  Backend& backend_;
  std::unique_ptr<Statement> owned_;
  Statement* statement_;
  std::vector<Value> recorded_;
  std::chrono::steady_clock::time_point start_{};
  bool pipelined_ = false;
};

/// A pipeline on `backend` for one bulk write, when `wanted` and the adapter has them: begun here,
/// finish() waits for its answers (throwing the first failure); ended without them if the write
/// throws first.
class Pipeline {
 public:
  Pipeline(Backend& backend, bool wanted) : backend_(wanted && backend.pipelines() ? &backend : nullptr) {
    if (backend_) backend_->beginPipeline();
  }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;
  ~Pipeline() {
    if (backend_) backend_->abandonPipeline();
  }
  /// Called after each Run::send() whose count of changed rows the caller wants: without a
  /// pipeline the statement has run, and its count is kept now.
  void counted(Backend& backend) {
    if (!backend_) changes_.push_back(backend.changes());
  }
  void finish() {
    if (Backend* b = std::exchange(backend_, nullptr)) {
      b->endPipeline();
      const auto changes = b->pipelinedChanges();
      changes_.assign(changes.begin(), changes.end());
    }
  }
  /// finish() for the last write of a transaction that needs no answer from it: the answers are
  /// read with the COMMIT, which goes in the same flight (one round trip less); a failure is
  /// thrown by the commit, which then rolls back as after any failed write. Outside a
  /// transaction, finish().
  void finishWithCommit() {
    if (Backend* b = std::exchange(backend_, nullptr)) b->transactions.empty() ? b->endPipeline() : b->endPipelineLater();
  }
  /// After finish(): the rows each statement changed, in the order sent (with counted() when
  /// there was no pipeline).
  const std::vector<std::int64_t>& changes() const noexcept { return changes_; }

 private:
  Backend* backend_;
  std::vector<std::int64_t> changes_;
};

/// Runs a statement that takes no parameters and returns no rows (BEGIN, COMMIT, DDL).
void executeSql(Backend& backend, std::string_view sql);

}  // namespace detail

/// A handle to an open database connection. Copies share the connection. A connection belongs
/// to one thread at a time: give each thread its own (kith opens SQLite without per-call mutexes).
/// Everything that takes a Connection also takes a Transaction.
class Connection {
 public:
  Connection() = default;
  explicit Connection(std::shared_ptr<detail::Backend> backend)
      : backend_(std::move(backend)), generation_(backend_ ? backend_->generation.load(std::memory_order_acquire) : 0) {}

  /// Calls `hook` for every statement this connection runs, with its SQL, bindings and duration.
  /// Pass nullptr to remove it.
  void onQuery(QueryHook hook) const;

  /// Calls `hook` when kith reconnects this connection after its server went away (PostgreSQL).
  void onEvent(ConnectionHook hook) const;

  /// Starts a transaction: BEGIN IMMEDIATE, or a SAVEPOINT inside one already open. It rolls back
  /// when destroyed without commit().
  Transaction begin() const;
  /// begin() at an isolation level (an outermost transaction only: a savepoint has its
  /// transaction's). options.retries is for transaction(fn, options); here it is an error.
  Transaction begin(const TransactionOptions& options) const;

  /// Runs `fn(trx)` in a transaction: commits when it returns (unless fn called trx.rollback()),
  /// rolls back and rethrows when it throws.
  template <class F>
  auto transaction(F&& fn) const -> std::invoke_result_t<F, Transaction&>;

  /// transaction(fn) at `options.isolation`, running `fn` again, in a new transaction, up to
  /// `options.retries` times when the database aborts it for a serialization failure or a
  /// deadlock (the retry is told to onEvent). The models an aborted attempt wrote are as after any
  /// rollback: one it inserted is new again (its next save inserts it, with a new key), one it
  /// updated is dirty in every column, one it destroyed exists again. Everything else `fn` did
  /// is done again, so `fn` should read what it decides on inside the transaction.
  template <class F>
  auto transaction(F&& fn, const TransactionOptions& options) const -> std::invoke_result_t<F, Transaction&>;

  /// Runs one SQL statement with bound parameters; returns the number of rows it changed.
  template <class... Args>
  std::int64_t execute(std::string_view sql, const Args&... params) const {
    auto& b = backend();
    detail::Run run(b, sql);
    int index = 0;
    (run.bind(++index, params), ...);
    run.finish();
    return b.changes();
  }

  /// Closes the connection for every handle that shares it; later use is a kith::UsageError.
  void close() const;

  bool isOpen() const noexcept { return backend_ && backend_->isOpen(); }
  bool inTransaction() const noexcept { return backend_ && !backend_->transactions.empty(); }

  /// The adapter's connection; throws kith::UsageError when this handle has none, is closed or
  /// is a finished transaction.
  detail::Backend& backend() const;

  /// The handle a model keeps: a committed or rolled-back transaction gives way to the innermost
  /// one still open around it, or to the connection itself (Lucid's behaviour after commit). One
  /// the database ended after an error does not: a write meant for it must not land outside it,
  /// so using the handle is a UsageError that says what happened.
  Connection live() const;

  bool hasBackend() const noexcept { return backend_ != nullptr; }
  /// The shared adapter connection itself, for kith's own types (Pool) that hand it on.
  const std::shared_ptr<detail::Backend>& backendPointer() const noexcept { return backend_; }
  /// The same connection and transaction as `other`, under the same pool lease.
  bool sameHandle(const Connection& other) const noexcept {
    return backend_ == other.backend_ && tx_ == other.tx_ && generation_ == other.generation_;
  }
  /// The adapter when backend() would give it, else null: for choices made before a statement runs
  /// (the error comes when it runs).
  detail::Backend* usableBackend() const noexcept {
    const bool usable = ownsBackend() && backend_->isOpen() && (!tx_ || tx_->status == detail::TxState::Status::Active);
    return usable ? backend_.get() : nullptr;
  }
  const std::shared_ptr<detail::TxState>& transactionState() const noexcept { return tx_; }

  /// True unless this handle came from a pool lease that has ended (or is empty): checked before
  /// anything else of the connection is read, since it may be in another thread's hands.
  bool ownsBackend() const noexcept { return backend_ && generation_ == backend_->generation.load(std::memory_order_acquire); }

 protected:
  /// transaction(fn, options)'s refusals, before anything is sent: retries below zero, or asked
  /// for inside a transaction already open.
  void checkRetries(const TransactionOptions& options) const;
  /// After attempt `attempt` failed with `error`: false when it is not a serialization failure or
  /// deadlock, or no retry is left; otherwise tells onEvent, waits the backoff, and returns true.
  bool retryAfter(const DatabaseError& error, int attempt, const TransactionOptions& options) const;

  std::shared_ptr<detail::Backend> backend_;
  std::shared_ptr<detail::TxState> tx_;
  std::uint64_t generation_ = 0;  // the backend's lease count when this handle was made
};

/// A transaction or savepoint; a Connection that runs inside it. Rolls back when destroyed
/// uncommitted. Transactions finish innermost first.
class Transaction : public Connection {
 public:
  Transaction(Transaction&& other) noexcept : Connection(std::move(other)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction() {
    if (tx_ && tx_->status == detail::TxState::Status::Active && ownsBackend() && backend_->isOpen()) {
      try {
        rollback();
      } catch (...) {  // nothing useful to do in a destructor; the database rolls back on close
      }
    }
  }

  void commit();
  void rollback();
  bool isActive() const noexcept { return tx_ && tx_->status == detail::TxState::Status::Active; }

 private:
  friend class Connection;
  Transaction(const Connection& connection, std::shared_ptr<detail::TxState> state) : Connection(connection) { tx_ = std::move(state); }

  static std::string savepointName(int depth);

  /// After the body of Connection::transaction: commits, unless the body rolled back on purpose;
  /// a transaction the database ended after an error (that the body caught) is not a success.
  void commitUnlessFinished();

  void finish(bool commit);
};

/// While alive, the reads of `connection` go to its primary server, for a connection with read
/// replicas (kith/replicas.hpp): `kith::OnPrimary primary(db);`. Query::onPrimary() does the same
/// for one query and its preloads. A no-op for a connection to one server.
class OnPrimary {
 public:
  explicit OnPrimary(const Connection& connection) : backend_(connection.ownsBackend() ? connection.backendPointer() : nullptr) {
    if (backend_) ++backend_->primaryScopes;
  }
  OnPrimary(const OnPrimary&) = delete;
  OnPrimary& operator=(const OnPrimary&) = delete;
  ~OnPrimary() {
    if (backend_) --backend_->primaryScopes;
  }

 private:
  std::shared_ptr<detail::Backend> backend_;
};

namespace detail {
/// OnPrimary when `onPrimary` is set, nothing otherwise: for Query::onPrimary().
class PrimaryScope {
 public:
  PrimaryScope(const Connection& connection, bool onPrimary) {
    if (onPrimary) scope_.emplace(connection);
  }

 private:
  std::optional<OnPrimary> scope_;
};
}  // namespace detail

template <class F>
auto Connection::transaction(F&& fn) const -> std::invoke_result_t<F, Transaction&> {
  Transaction trx = begin();
  if constexpr (std::is_void_v<std::invoke_result_t<F, Transaction&>>) {
    std::forward<F>(fn)(trx);
    trx.commitUnlessFinished();
  } else {
    auto result = std::forward<F>(fn)(trx);
    trx.commitUnlessFinished();
    return result;
  }
}

template <class F>
auto Connection::transaction(F&& fn, const TransactionOptions& options) const -> std::invoke_result_t<F, Transaction&> {
  checkRetries(options);
  for (int attempt = 1;; ++attempt) {
    try {
      Transaction trx = begin(TransactionOptions{options.isolation});
      if constexpr (std::is_void_v<std::invoke_result_t<F, Transaction&>>) {
        fn(trx);
        trx.commitUnlessFinished();
        return;
      } else {
        auto result = fn(trx);
        trx.commitUnlessFinished();
        return result;
      }
    } catch (const DatabaseError& e) {
      if (!retryAfter(e, attempt, options)) throw;
    }
  }
}

}  // namespace kith

#ifndef KITH_COMPILED_LIB
#include <kith/connection-inl.hpp>
#endif
