// The definitions of kith/connection.hpp's backend, connection and transaction code: included by
// that header in header-only mode (inline), compiled once into the kith library in compiled mode
// (KITH_COMPILED_LIB; src/kith.cpp).
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/format.hpp>

#include <time.h>
#include <cerrno>

namespace kith {
namespace detail {

KITH_INLINE std::string TxState::finishedMessage() const {
  if (const TxState* f = failedOne(); f && f != this) return f->finishedMessage();
  switch (status) {
    case Status::Committed:
      return "kith: this transaction was already committed; start a new one with db.transaction(...) or db.begin()";
    case Status::Failed:
      return "kith: the database ended this transaction after an error and rolled back everything in it (" + failure +
             "); nothing in it was committed: start a new one with db.transaction(...) or db.begin() and write again";
    default:
      return "kith: this transaction was already rolled back; start a new one with db.transaction(...) or db.begin()";
  }
}

KITH_INLINE std::string_view Backend::dialect() const { return "sqlite"; }

// Every SQLite transaction is serializable: each level gets at least what it asks for.
KITH_INLINE std::string_view Backend::beginSql(Isolation) const { return "BEGIN IMMEDIATE"; }

KITH_INLINE bool Backend::insertReturnsKey() const { return false; }

KITH_INLINE std::vector<std::int64_t> Backend::reserveKeys(std::string_view /*table*/, std::string_view /*column*/, std::size_t /*count*/) {
  return {};
}

KITH_INLINE void Backend::lockKey(std::int64_t /*key*/) {}

KITH_INLINE bool Backend::writersExclusive() const { return true; }

KITH_INLINE bool Backend::consecutiveKeys(std::string_view /*table*/, std::string_view /*column*/, std::size_t /*count*/) { return false; }

KITH_INLINE std::string Backend::typedParameter(ColumnKind /*kind*/) const { return "?"; }

KITH_INLINE std::string Backend::columnType(ColumnKind kind) const {
  switch (kind) {
    case ColumnKind::GeneratedKey:
    case ColumnKind::Integer:
    case ColumnKind::Boolean:
      return "INTEGER";  // INTEGER PRIMARY KEY is the rowid, generated when not given
    case ColumnKind::Real:
      return "REAL";
    case ColumnKind::Text:
    case ColumnKind::Timestamp:
      return "TEXT";
    case ColumnKind::Blob:
      return "BLOB";
  }
  return "BLOB";
}

KITH_INLINE bool Backend::transactionFailed() { return false; }

KITH_INLINE bool Backend::takesArrays() const { return false; }

KITH_INLINE std::optional<Value> Backend::arrayOf(std::span<const Value> /*values*/) const { return std::nullopt; }

KITH_INLINE bool Backend::alive(bool /*probe*/) { return open_; }

KITH_INLINE void Backend::endTransactions(TxState::Status status, std::string_view why) {
  for (auto& t : transactions) {
    t->status = status;
    if (status == TxState::Status::Failed) t->failure = why;
  }
  transactions.clear();
}

KITH_INLINE void Backend::close() {
  if (running_ > 0)
    throw UsageError(
        "kith: cannot close the connection while one of its statements is running (from the query hook); close it after the "
        "call returns");
  endTransactions(TxState::Status::RolledBack);
  last_ = nullptr;
  cache_.clear();
  closeHandle();
  open_ = false;
}

KITH_INLINE Statement& Backend::acquire(std::string_view sql, std::unique_ptr<Statement>& owned) {
  if (!open_) throw UsageError("kith: the connection to " + describe() + " is closed; open a new one");
  if (lost) [[unlikely]]
    recover();
  // Loops run one statement many times: comparing with the last one costs less than hashing.
  if (last_ && !last_->inUse && last_->sql() == sql) return *last_;
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    if (cache_.size() >= maxCachedStatements) evictIdle();
    it = cache_.emplace(std::string(sql), compile(sql, true)).first;
  }
  if (!it->second->inUse) return *(last_ = it->second.get());
  owned = compile(sql, false);
  return *owned;
}

KITH_INLINE void Backend::reconnect() {
  throw ConnectionError("kith: the connection to " + describe() + " is lost", "", 0, 0, "lost", "08006");
}

KITH_INLINE void Backend::setHook(QueryHook h) {
  if (running_ > 0) throw UsageError("kith: cannot replace the query hook while one of this connection's statements is running");
  hook = std::move(h);
}

KITH_INLINE void Backend::evictIdle() {
  last_ = nullptr;
  std::erase_if(cache_, [](const auto& entry) { return !entry.second->inUse; });
}

KITH_INLINE void Backend::recover() {
  if (!transactions.empty() || running_ > 0) return;
  last_ = nullptr;
  cache_.clear();
  reconnect();
  lost = false;
  if (events) {
    const std::string message = "kith: reconnected to " + describe() + " after its server closed the connection";
    try {
      events(ConnectionEvent{ConnectionEvent::Kind::Reconnected, message, {}, {}});
    } catch (...) {  // a hook must not fail the statement it precedes
    }
  }
}

KITH_INLINE void executeSql(Backend& backend, std::string_view sql) {
  Run run(backend, sql);
  run.finish();
}

}  // namespace detail

KITH_INLINE void Connection::onQuery(QueryHook hook) const { backend().setHook(std::move(hook)); }

KITH_INLINE void Connection::onEvent(ConnectionHook hook) const { backend().events = std::move(hook); }

KITH_INLINE void Connection::close() const {
  if (backend_ && backend_->isOpen()) backend_->close();
}

KITH_INLINE detail::Backend& Connection::backend() const {
  if (!backend_)
    throw UsageError(
        "kith: this connection handle is empty (default-constructed or moved from); pass one from kith::sqlite::open or a "
        "transaction");
  if (!ownsBackend()) [[unlikely]]
    throw UsageError(
        "kith: this handle came from a pool lease that has ended: its connection went back to the pool and may be another "
        "thread's now; pass a connection of your own (model.save(lease), Model::query(lease)), or read the model again under "
        "the lease that writes it");
  if (tx_ && tx_->status != detail::TxState::Status::Active) throw UsageError(tx_->finishedMessage());
  if (!backend_->isOpen()) throw UsageError("kith: the connection to " + backend_->describe() + " is closed; open a new one");
  return *backend_;
}

KITH_INLINE Connection Connection::live() const {
  Connection c = *this;
  if (c.tx_ && c.tx_->failedOne()) return c;
  while (c.tx_ && c.tx_->status != detail::TxState::Status::Active) c.tx_ = c.tx_->parent;
  return c;
}

KITH_INLINE void Connection::checkRetries(const TransactionOptions& options) const {
  if (options.retries < 0) throw UsageError("kith: TransactionOptions::retries is " + std::to_string(options.retries) + "; pass 0 or more");
  if (options.backoff.count() < 0 || options.maxBackoff.count() < 0)
    throw UsageError("kith: TransactionOptions::backoff and maxBackoff cannot be negative");
  if (options.retries > 0 && inTransaction())
    throw UsageError(
        "kith: a transaction with retries must be the outermost one: a serialization failure or deadlock aborts the "
        "transaction around it too, so only the whole of it can run again; call transaction(fn, {.retries}) outside any "
        "other");
}

KITH_INLINE bool Connection::retryAfter(const DatabaseError& error, int attempt, const TransactionOptions& options) const {
  const std::string& state = error.sqlstate();
  if (attempt > options.retries || (state != "40001" && state != "40P01")) return false;
  detail::Backend* b = usableBackend();
  if (!b || !b->transactions.empty()) return false;  // the attempt could not be undone: nothing may run again
  // The wait: backoff doubled per retry, capped, and drawn from its upper half (a per-thread
  // xorshift seeded by the clock: no <random> in every translation unit for this).
  const auto cap = std::max<std::int64_t>(options.maxBackoff.count(), 0);
  std::int64_t wait = std::min<std::int64_t>(options.backoff.count(), cap);
  for (int i = 1; i < attempt && wait < cap; ++i) wait = std::min<std::int64_t>(wait * 2, cap);
  thread_local std::uint64_t seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) | 1;
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  const std::int64_t micros = wait * 1000;
  const std::int64_t drawn =
      micros / 2 + (micros > 1 ? static_cast<std::int64_t>(seed % static_cast<std::uint64_t>(micros - micros / 2)) : 0);
  if (b->events) {
    const std::string message =
        detail::format("kith: the database aborted a transaction (SQLSTATE {}, attempt {} of {}); running it again after {} ms: {}", state,
                       attempt, options.retries + 1, drawn / 1000, error.what());
    try {
      b->events(ConnectionEvent{ConnectionEvent::Kind::Retrying, message, {}, {}});
    } catch (...) {  // a hook must not turn a retry into a failure
    }
  }
  if (drawn > 0) {
    timespec pause{static_cast<time_t>(drawn / 1'000'000), static_cast<long>(drawn % 1'000'000) * 1000};
    while (::nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
  }
  return true;
}

KITH_INLINE void Transaction::commit() { finish(true); }

KITH_INLINE void Transaction::rollback() { finish(false); }

KITH_INLINE std::string Transaction::savepointName(int depth) { return "kith_" + std::to_string(depth); }

KITH_INLINE void Transaction::commitUnlessFinished() {
  if (isActive())
    commit();
  else if (tx_ && tx_->status == detail::TxState::Status::Failed)
    throw UsageError(tx_->finishedMessage());
}

KITH_INLINE void Transaction::finish(bool commit) {
  using Status = detail::TxState::Status;
  auto& b = backend();  // throws if already finished (the database ended it, say), moved from or closed
  auto& stack = b.transactions;
  const auto self = std::find(stack.begin(), stack.end(), tx_);
  if (!b.nativeTransactionActive()) {  // ended behind kith's back (through the raw handle, say)
    b.endTransactions(Status::Failed, "it was no longer open when kith came to finish it");
    if (commit) throw UsageError(tx_->finishedMessage());
    return;
  }
  if (commit && self + 1 != stack.end()) throw UsageError("kith: commit the inner transaction (savepoint) before the one around it");
  if (commit && b.transactionFailed()) {  // COMMIT would roll back and report success
    finish(false);
    throw Error(
        "kith: a statement failed earlier in this transaction and the database will only roll it back; it was rolled back, nothing "
        "was committed");
  }
  const bool outermost = tx_->depth == 1;
  if (commit) {
    detail::executeSql(b, outermost ? "COMMIT" : "RELEASE " + savepointName(tx_->depth));
  } else if (outermost) {
    detail::executeSql(b, "ROLLBACK");
  } else {
    detail::executeSql(b, "ROLLBACK TO " + savepointName(tx_->depth));
    detail::executeSql(b, "RELEASE " + savepointName(tx_->depth));
  }
  for (auto it = self + 1; it != stack.end(); ++it) (*it)->status = Status::RolledBack;
  tx_->status = commit ? Status::Committed : Status::RolledBack;
  stack.erase(self, stack.end());
}

KITH_INLINE Transaction Connection::begin() const { return begin(TransactionOptions{}); }

KITH_INLINE Transaction Connection::begin(const TransactionOptions& options) const {
  auto& b = backend();
  if (options.retries != 0)
    throw UsageError("kith: begin() runs a transaction once; for retries pass the body: db.transaction(fn, {.retries = N})");
  if (options.isolation != Isolation::Default && !b.transactions.empty())
    throw UsageError(
        "kith: a transaction inside another is a savepoint and runs at the isolation level of the outermost one; set "
        "the isolation level where the outermost transaction begins");
  auto state = std::make_shared<detail::TxState>();
  state->parent = b.transactions.empty() ? nullptr : b.transactions.back();
  state->depth = static_cast<int>(b.transactions.size()) + 1;
  detail::executeSql(
      b, state->depth == 1 ? std::string(b.beginSql(options.isolation)) : "SAVEPOINT " + Transaction::savepointName(state->depth));
  b.transactions.push_back(state);
  return Transaction(*this, std::move(state));
}

}  // namespace kith
