// Read replicas: one connection made of a primary and any number of replicas (PostgreSQL streaming
// standbys). Reads outside a transaction go to the replicas in turn; writes, transactions and the
// reads after a write (read-your-writes) go to the primary. Not included by kith.hpp.
//
//   kith::Connection db = kith::withReplicas(kith::postgres::open(primary),
//                                            {kith::postgres::open(replica1), kith::postgres::open(replica2)});
//   kith::Pool pool([&] { return kith::withReplicas(...); }, {.max = 16});   // each lease: a primary and its replicas
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/format.hpp>
#include <kith/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kith {

/// How a connection with replicas routes its reads.
struct ReplicaOptions {
  /// Read-your-writes: after a write, reads go to the primary for the rest of the pool lease (the
  /// request), and for this long after the write whatever the lease. A replica may be behind the
  /// primary by more than this: a read of another client's recent write can still miss it.
  std::chrono::milliseconds sticky{2000};
  /// A replica that failed (its server gone, or it cancelled a read) is left out for this long;
  /// then the next read tries it again, reconnecting.
  std::chrono::milliseconds retryAfter{5000};
};

namespace detail {

/// True for a statement that only reads and may run on a replica: a SELECT that locks no rows
/// (no FOR UPDATE / FOR NO KEY UPDATE / FOR SHARE / FOR KEY SHARE outside quotes). Anything else
/// runs on the primary; so does a SELECT the replica refuses as a write (nextval(), say: SQLSTATE
/// 25006), from its first refusal on — the same net catches a lock this test did not see.
inline bool readOnlySql(std::string_view sql) noexcept {
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  const auto wordAt = [&](std::size_t at, std::string_view word) {
    if (sql.size() - at < word.size()) return false;
    for (std::size_t k = 0; k < word.size(); ++k)
      if (lower(sql[at + k]) != word[k]) return false;
    return true;
  };
  std::size_t at = sql.find_first_not_of(" \t\r\n(");
  if (at == std::string_view::npos || !wordAt(at, "select")) return false;
  for (std::size_t i = at + 6; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {  // a string or a quoted name: skipped to its closing quote
      const std::size_t close = sql.find(c, i + 1);
      if (close == std::string_view::npos) return false;
      i = close;
      continue;
    }
    const bool boundary = sql[i - 1] == ' ' || sql[i - 1] == ')' || sql[i - 1] == '\n' || sql[i - 1] == '\t';
    if (!boundary || !wordAt(i, "for ")) continue;
    std::size_t next = sql.find_first_not_of(" \t\r\n", i + 4);
    if (next == std::string_view::npos) return true;
    if (wordAt(next, "update") || wordAt(next, "share") || wordAt(next, "no ") || wordAt(next, "key ")) return false;
  }
  return true;
}

/// Transaction control: neither a read nor a write of its own (the statements inside decide).
inline bool transactionControl(std::string_view sql) noexcept {
  return sql.starts_with("BEGIN") || sql == "COMMIT" || sql == "ROLLBACK" || sql.starts_with("SAVEPOINT ") || sql.starts_with("RELEASE ") ||
         sql.starts_with("ROLLBACK TO ");
}

class RoutingBackend;

/// A statement of a connection with replicas: prepared on each server the first time it runs
/// there, bound by replaying what it was given, run where RoutingBackend::route says. A read that
/// fails on a replica before its first row (the server gone, a cancellation by recovery, a write
/// the replica refuses) runs again elsewhere, so that the caller never sees the replica's failure.
class RoutedStatement final : public Statement {
 public:
  RoutedStatement(RoutingBackend& router, std::string_view sql) : Statement(std::string(sql)), router_(router), read_(readOnlySql(sql)) {}

  void bindNull(int i) override { bindings_.push_back({i, Binding::Null, 0, 0, {}, {}}); }
  void bindInteger(int i, std::int64_t v) override { bindings_.push_back({i, Binding::Integer, v, 0, {}, {}}); }
  void bindReal(int i, double v) override { bindings_.push_back({i, Binding::Real, 0, v, {}, {}}); }
  void bindText(int i, std::string_view v) override { bindings_.push_back({i, Binding::Text, 0, 0, v, {}}); }
  void bindBlob(int i, std::span<const std::byte> v) override { bindings_.push_back({i, Binding::Blob, 0, 0, {}, v}); }

  bool step() override;
  /// A statement whose answer is not read is a write: the primary's, in its pipeline if one is open.
  bool send() override;

  Kind kind(int c) override { return active_->kind(c); }
  bool isNull(int c) override { return active_->isNull(c); }
  std::int64_t integer(int c) override { return active_->integer(c); }
  double real(int c) override { return active_->real(c); }
  std::string_view text(int c) override { return active_->text(c); }
  std::span<const std::byte> blob(int c) override { return active_->blob(c); }

 protected:
  void resetStatement() noexcept override {
    if (active_) active_->reset();
    active_ = nullptr;
    bindings_.clear();
  }

 private:
  struct Binding {
    int index;
    enum Kind { Null, Integer, Real, Text, Blob } kind;
    std::int64_t integer;
    double real;
    std::string_view text;  // the caller keeps text and blobs alive until reset()
    std::span<const std::byte> blob;
  };
  struct OnServer {
    std::unique_ptr<Statement> statement;
    std::uint64_t session = 0;  // the server's reconnect count when it was prepared
  };

  Statement& on(int server);
  bool start();
  void replay(Statement& s) const;

  RoutingBackend& router_;
  bool read_;
  std::vector<Binding> bindings_;
  std::vector<OnServer> servers_;  // [0] the primary, [1 + i] replica i
  Statement* active_ = nullptr;
};

/// The backend of a connection with replicas: a Backend (statement cache, transactions, hooks) over
/// the primary's and the replicas' own. Everything but the choice of server is the primary's.
class RoutingBackend final : public Backend {
 public:
  struct Server {
    std::shared_ptr<Backend> backend;
    std::uint64_t session = 0;  // counts reconnects: statements prepared before are gone
    bool down = false;
    std::chrono::steady_clock::time_point retryAt{};
  };

  RoutingBackend(std::vector<Server> servers, ReplicaOptions options) : servers_(std::move(servers)), options_(options) {}
  ~RoutingBackend() override {
    try {
      if (isOpen()) close();  // the routed statements first, while the servers they were prepared on are here
    } catch (...) {
    }
  }

  /// Where a statement runs: 0 for the primary, 1 + i for replica i (the next one up, in turn).
  int route(bool read) {
    if (!read || servers_.size() == 1 || primaryScopes > 0 || !transactions.empty()) return 0;
    const auto now = std::chrono::steady_clock::now();
    const bool pinned = servers_[0].backend->nativeTransactionActive() ||
                        (wroteIn_ != 0 && wroteIn_ == generation.load(std::memory_order_relaxed)) || now - lastWrite_ < options_.sticky;
    if (pinned) return 0;
    for (std::size_t tried = 1; tried < servers_.size(); ++tried) {
      next_ = next_ % (servers_.size() - 1) + 1;
      Server& s = servers_[next_];
      if (!s.down) return static_cast<int>(next_);
      if (now >= s.retryAt && revive(s)) return static_cast<int>(next_);
    }
    return 0;  // every replica is down: the primary serves its reads
  }

  /// A statement that is not a read ran on the primary: the reads of this pool lease, and of the
  /// next `sticky`, follow it there. (Outside a pool the generation stays 0: the window alone.)
  void noteWrite(std::string_view sql) {
    if (transactionControl(sql)) return;
    wroteIn_ = generation.load(std::memory_order_relaxed);
    lastWrite_ = std::chrono::steady_clock::now();
  }

  /// A replica failed: left out until retryAfter has passed, and said so through onEvent.
  void markDown(int server, std::string_view why) {
    Server& s = servers_[static_cast<std::size_t>(server)];
    s.down = true;
    s.retryAt = std::chrono::steady_clock::now() + options_.retryAfter;
    tell(format("kith: replica {} ({}) left out for {} ms after: {}", server, s.backend->describe(), options_.retryAfter.count(), why));
  }

  /// The primary's server closed its session: like any connection, the next statement outside a
  /// transaction reconnects first (Backend::recover, through reconnect() below).
  void notePrimaryLost() noexcept {
    if (servers_[0].backend->lost) lost = true;
  }

  Server& server(int i) { return servers_[static_cast<std::size_t>(i)]; }
  std::size_t servers() const noexcept { return servers_.size(); }

  // The primary's, for everything but the choice of server.
  std::unique_ptr<Statement> compile(std::string_view sql, bool) override { return std::make_unique<RoutedStatement>(*this, sql); }
  std::int64_t lastInsertId() override { return primary().lastInsertId(); }
  std::int64_t changes() override { return primary().changes(); }
  int variableLimit() override { return primary().variableLimit(); }
  bool nativeTransactionActive() override { return primary().nativeTransactionActive(); }
  void closeHandle() noexcept override {
    for (auto& s : servers_)
      if (s.backend && s.backend->isOpen()) {
        try {
          s.backend->close();
        } catch (...) {
        }
      }
  }
  std::string describe() const override {
    return format("{} with {} replica{}", servers_[0].backend->describe(), servers_.size() - 1, servers_.size() == 2 ? "" : "s");
  }
  std::string_view dialect() const override { return servers_[0].backend->dialect(); }
  std::string_view beginSql(Isolation isolation) const override { return servers_[0].backend->beginSql(isolation); }
  bool insertReturnsKey() const override { return servers_[0].backend->insertReturnsKey(); }
  std::vector<std::int64_t> reserveKeys(std::string_view table, std::string_view column, std::size_t count) override {
    noteWrite("reserveKeys");
    return withOurHook([&](Backend& p) { return p.reserveKeys(table, column, count); });
  }
  void lockKey(std::int64_t key) override {
    withOurHook([&](Backend& p) { p.lockKey(key); });
  }
  bool writersExclusive() const override { return servers_[0].backend->writersExclusive(); }
  bool consecutiveKeys(std::string_view table, std::string_view column, std::size_t count) override {
    return primary().consecutiveKeys(table, column, count);
  }
  std::string typedParameter(ColumnKind kind) const override { return servers_[0].backend->typedParameter(kind); }
  std::string columnType(ColumnKind kind) const override { return servers_[0].backend->columnType(kind); }
  bool transactionFailed() override { return primary().transactionFailed(); }
  bool takesArrays() const override { return servers_[0].backend->takesArrays(); }
  std::optional<Value> arrayOf(std::span<const Value> values) const override { return servers_[0].backend->arrayOf(values); }
  bool alive(bool probe) override { return primary().alive(probe); }
  bool pipelines() const override { return servers_[0].backend->pipelines(); }
  bool pipelinesReads() const override { return false; }
  void beginPipeline() override { primary().beginPipeline(); }
  void endPipeline() override { primary().endPipeline(); }
  void endPipelineLater() override { primary().endPipelineLater(); }
  void abandonPipeline() noexcept override { primary().abandonPipeline(); }
  std::span<const std::int64_t> pipelinedChanges() const override { return servers_[0].backend->pipelinedChanges(); }
  void reconnect() override {
    Server& p = servers_[0];
    p.backend->lost = true;
    p.backend->recover();
    ++p.session;
  }

 private:
  Backend& primary() { return *servers_[0].backend; }

  /// Opens a replica that was down again; false (and down for another retryAfter) when it cannot.
  bool revive(Server& s) {
    try {
      if (s.backend->lost || !s.backend->alive(true)) {
        s.backend->lost = true;
        s.backend->recover();  // a new session, its own statement cache emptied
        ++s.session;
      }
      s.down = false;
      return true;
    } catch (const std::exception& e) {
      s.retryAt = std::chrono::steady_clock::now() + options_.retryAfter;
      tell(format("kith: replica {} is still unavailable: {}", s.backend->describe(), e.what()));
      return false;
    }
  }

  /// Runs `f` on the primary's own backend with this connection's query hook lent to it, so that
  /// the statements it runs there itself (the key reservation, the advisory lock) reach the hook
  /// as every other statement of this connection does.
  template <class F>
  std::invoke_result_t<F&, Backend&> withOurHook(F&& f) {
    Backend& p = primary();
    if (!hook) return f(p);
    struct Lent {
      Backend& backend;
      QueryHook saved;
      ~Lent() { backend.hook = std::move(saved); }
    } lent{p, std::exchange(p.hook, hook)};
    return f(p);
  }

  void tell(const std::string& message) noexcept {
    if (!events) return;
    try {
      events(ConnectionEvent{ConnectionEvent::Kind::ReplicaDown, message, {}, {}});
    } catch (...) {  // a hook must not turn a read served elsewhere into a failure
    }
  }

  std::vector<Server> servers_;
  ReplicaOptions options_;
  std::size_t next_ = 0;
  std::uint64_t wroteIn_ = 0;  // the pool lease (generation) of the last write; 0: none, or no pool
  std::chrono::steady_clock::time_point lastWrite_{};
};

inline Statement& RoutedStatement::on(int server) {
  auto& s = router_.server(server);
  if (servers_.size() < router_.servers()) servers_.resize(router_.servers());
  OnServer& here = servers_[static_cast<std::size_t>(server)];
  if (!here.statement || here.session != s.session) {
    here.statement.reset();
    here.statement = s.backend->compile(sql(), true);
    here.session = s.session;
  }
  return *here.statement;
}

inline bool RoutedStatement::step() {
  if (active_) return active_->step();  // a failure after the first row is the caller's: rows were read
  return start();
}

inline bool RoutedStatement::send() {
  Statement& s = on(0);
  active_ = &s;
  replay(s);
  try {
    const bool pipelined = s.send();
    router_.noteWrite(sql());
    return pipelined;
  } catch (const DatabaseError&) {
    router_.noteWrite(sql());
    router_.notePrimaryLost();
    throw;
  }
}

inline void RoutedStatement::replay(Statement& s) const {
  for (const Binding& b : bindings_) {
    switch (b.kind) {
      case Binding::Null:
        s.bindNull(b.index);
        break;
      case Binding::Integer:
        s.bindInteger(b.index, b.integer);
        break;
      case Binding::Real:
        s.bindReal(b.index, b.real);
        break;
      case Binding::Text:
        s.bindText(b.index, b.text);
        break;
      case Binding::Blob:
        s.bindBlob(b.index, b.blob);
        break;
    }
  }
}

inline bool RoutedStatement::start() {
  for (;;) {
    const int server = router_.route(read_);
    try {
      Statement& s = on(server);
      active_ = &s;
      replay(s);
      const bool row = s.step();
      if (server == 0 && !read_) router_.noteWrite(sql());
      return row;
    } catch (const DatabaseError& e) {
      if (active_) active_->reset();
      active_ = nullptr;
      if (server == 0) {
        if (!read_) router_.noteWrite(sql());  // it may have written before it failed
        router_.notePrimaryLost();
        throw;
      }
      const std::string& state = e.sqlstate();
      if (state == "25006") {
        read_ = false;  // a write a replica refuses (nextval(), a function that writes): the primary's from now on
      } else if (dynamic_cast<const ConnectionError*>(&e) || state.starts_with("08") || state == "40001" || state.starts_with("57P")) {
        router_.markDown(server, e.what());  // gone, or cancelled by recovery: the others, or the primary, serve it
      } else {
        throw;  // the statement's own error: the primary would give the same
      }
    }
  }
}

}  // namespace detail

/// A connection whose reads go to `replicas` and everything else to `primary` (see ReplicaOptions
/// for read-your-writes). Reads are SELECTs outside a transaction, without FOR UPDATE or FOR SHARE;
/// the replicas take them in turn, and one that fails is left out (ReplicaOptions::retryAfter)
/// while the others, or the primary, serve its reads — the caller sees no error. `kith::OnPrimary`
/// and Query::onPrimary() send reads to the primary. Give each connection to one thread at a time,
/// as any connection; in a kith::Pool each lease is a primary with its replicas.
inline Connection withReplicas(Connection primary, std::vector<Connection> replicas, ReplicaOptions options = {}) {
  if (!primary.hasBackend()) throw UsageError("kith: withReplicas needs an open primary connection");
  std::vector<detail::RoutingBackend::Server> servers;
  servers.push_back({primary.backendPointer(), 0, false, {}});
  for (const Connection& r : replicas) {
    if (!r.hasBackend() || r.inTransaction()) throw UsageError("kith: withReplicas takes open replica connections outside a transaction");
    if (r.backendPointer() == primary.backendPointer()) throw UsageError("kith: a replica connection cannot be the primary's own");
    servers.push_back({r.backendPointer(), 0, false, {}});
  }
  if (primary.inTransaction()) throw UsageError("kith: withReplicas takes a primary connection outside a transaction");
  return Connection(std::make_shared<detail::RoutingBackend>(std::move(servers), options));
}

}  // namespace kith
