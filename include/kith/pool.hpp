// A pool of connections for serving many requests at once: kith::Pool hands out leases (RAII) of
// a bounded number of connections, made by the function it was given (an adapter's open with its
// options), and takes them back cleaned. Not included by kith.hpp: only files that use a pool pay
// for <thread>, <mutex> and <condition_variable>.
#pragma once

#include <kith/connection.hpp>
#include <kith/error.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kith {

/// How a pool sizes, times and checks its connections. The names and defaults are those users know
/// from tarn (Lucid's pool) and HikariCP.
struct PoolOptions {
  /// Most connections open at once; 0: twice the hardware threads (HikariCP's rule of thumb for a
  /// server's cores), at least 2.
  std::size_t max = 0;
  /// Idle connections the pool keeps open (opened ahead of need by its housekeeping thread).
  std::size_t minIdle = 0;
  /// How long acquire() waits for a connection before it throws kith::PoolTimeout.
  std::chrono::milliseconds acquireTimeout{5000};
  /// An idle connection past this (and past minIdle) is closed. 0: never.
  std::chrono::milliseconds idleTimeout{600'000};
  /// A connection is retired at its first return after this, so that none lives longer than the
  /// server or a proxy will keep it. 0: never.
  std::chrono::milliseconds maxLifetime{1'800'000};
  /// A connection idle longer than this is checked with a round trip before it is handed out (one
  /// idle for less only by what has arrived on its socket: a closed one is never handed out).
  std::chrono::milliseconds validationWindow{500};
  /// A lease held longer than this is reported through `onEvent` (ConnectionEvent::LeaseHeldLong)
  /// with where it was acquired. 0: never.
  std::chrono::milliseconds leakThreshold{0};
  /// Told of connections replaced and leases held long; called from the acquiring or returning
  /// thread or the pool's housekeeping thread: it must be thread-safe.
  ConnectionHook onEvent;
};

/// Where a call was made: acquire() records it for leak reports. std::source_location's job, done
/// with the builtins GCC and Clang share, since Clang 14 with libstdc++ 12 has no source_location.
struct CallSite {
  const char* file;
  unsigned line;
  const char* function;
  constexpr CallSite(const char* f = __builtin_FILE(), unsigned l = __builtin_LINE(), const char* fn = __builtin_FUNCTION()) noexcept
      : file(f), line(l), function(fn) {}
};

/// A pool's counts at one moment (PoolTimeout carries them).
struct PoolStats {
  std::size_t max = 0;
  std::size_t inUse = 0;       // leased
  std::size_t idle = 0;        // open, waiting for a lease
  std::size_t opening = 0;     // being opened for a lease or for minIdle
  std::size_t waiting = 0;     // threads in acquire() for want of a connection
  std::uint64_t created = 0;   // connections opened since the pool was made
  std::uint64_t replaced = 0;  // connections closed as dead, broken or past their lifetime
  std::uint64_t timedOut = 0;  // acquire() calls that gave up
};

/// acquire() waited acquireTimeout for a connection and none came free: every one was leased.
class PoolTimeout : public Error {
 public:
  PoolTimeout(std::string what, PoolStats stats) : Error(std::move(what)), stats_(stats) {}
  /// The pool's counts when it gave up.
  const PoolStats& stats() const noexcept { return stats_; }

 private:
  PoolStats stats_;
};

class Pool;

namespace detail {

/// What a pool shares with its leases and its housekeeping thread: leases keep it alive, so a
/// lease may outlive the Pool object (its connection is then closed when it returns).
struct PoolShared {
  using Clock = std::chrono::steady_clock;

  struct Idle {
    Connection connection;
    Clock::time_point since;    // returned to the pool
    Clock::time_point created;  // opened
  };
  struct Leased {
    Backend* backend;
    std::thread::id owner;
    Clock::time_point since;
    Clock::time_point created;
    CallSite where;
    bool reported = false;
  };

  std::function<Connection()> open;
  PoolOptions options;
  std::mutex mutex;
  std::condition_variable freed;  // a connection came back, or a slot came free
  std::condition_variable wake;   // for the housekeeping thread
  std::vector<Idle> idle;         // most recently returned last
  std::vector<Leased> leased;
  PoolStats counts;
  bool closed = false;

  std::size_t total() const noexcept { return idle.size() + leased.size() + counts.opening; }

  PoolStats snapshot() const noexcept {
    PoolStats s = counts;
    s.max = options.max;
    s.inUse = leased.size();
    s.idle = idle.size();
    return s;
  }

  void tell(ConnectionEvent::Kind kind, const std::string& message, std::string_view where = {},
            std::chrono::milliseconds heldFor = {}) const {
    if (!options.onEvent) return;
    try {
      options.onEvent(ConnectionEvent{kind, message, where, heldFor});
    } catch (...) {  // a hook must not break the pool
    }
  }

  /// A new connection, its events sent to the pool's hook.
  Connection make() {
    Connection c = open();
    if (options.onEvent) c.onEvent(options.onEvent);
    return c;
  }
};

inline std::string describeStats(const PoolStats& s) {
  return std::to_string(s.inUse) + " in use, " + std::to_string(s.idle) + " idle, " + std::to_string(s.opening) + " opening, " +
         std::to_string(s.waiting) + " waiting, max " + std::to_string(s.max);
}

inline std::string describeWhere(const CallSite& where) {
  return std::string(where.file) + ":" + std::to_string(where.line) + " (" + where.function + ")";
}

}  // namespace detail

/// A connection leased from a Pool: a Connection (queries, writes, transactions take it) that goes
/// back to the pool when the lease is destroyed. It belongs to the thread that acquired it. Models
/// read or written through it remember it; once it has gone back, using them without a connection
/// (`model.save()`) is a kith::UsageError, never a write on a connection another thread now holds:
/// pass the connection of the lease that writes them (`model.save(lease)`).
class Lease : public Connection {
 public:
  Lease(Lease&& other) noexcept : Connection(std::move(other)), shared_(std::move(other.shared_)), created_(other.created_) {}
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      giveBack();
      Connection::operator=(std::move(other));
      shared_ = std::move(other.shared_);
      created_ = other.created_;
    }
    return *this;
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { giveBack(); }

  /// Gives the connection back now; the lease is empty afterwards.
  void release() { giveBack(); }

 private:
  friend class Pool;
  Lease(Connection connection, std::shared_ptr<detail::PoolShared> shared, std::chrono::steady_clock::time_point created)
      : Connection(std::move(connection)), shared_(std::move(shared)), created_(created) {}

  void giveBack() noexcept;

  std::shared_ptr<detail::PoolShared> shared_;
  std::chrono::steady_clock::time_point created_;
};

/// A bounded set of connections to one database, shared by the threads of a server.
///
///     kith::Pool pool([&] { return kith::postgres::open(conninfo); }, {.max = 16});
///     auto lease = pool.acquire();                     // waits up to acquireTimeout, then PoolTimeout
///     auto user = User::findOrFail(lease, id);
///     pool.transaction([&](kith::Transaction& trx) { user.related<&User::posts>(trx).create(...); });
///
/// A lease given back has its transaction (if one was left open) rolled back, its query and event
/// hooks reset; a connection whose server is gone, or past maxLifetime, is closed and replaced.
/// A thread that holds a lease and asks for another while none is free gets a kith::UsageError at
/// once (it would wait for itself). SQLite: give every connection the same file in WAL mode
/// (`kith::sqlite::open(path, {.wal = true})`): readers run side by side, writers one at a time
/// (each waits up to the busy timeout); a pool of ":memory:" would be separate databases.
/// Thread-safe: every member may be called from any thread.
class Pool {
 public:
  explicit Pool(std::function<Connection()> open, PoolOptions options = {}) : shared_(std::make_shared<detail::PoolShared>()) {
    if (!open)
      throw UsageError("kith: a Pool needs a function that opens a connection, such as [&] { return kith::postgres::open(info); }");
    if (options.max == 0) options.max = std::max<std::size_t>(2, 2 * std::thread::hardware_concurrency());
    if (options.minIdle > options.max)
      throw UsageError("kith: PoolOptions::minIdle (" + std::to_string(options.minIdle) + ") is more than max (" +
                       std::to_string(options.max) + ")");
    shared_->open = std::move(open);
    shared_->options = std::move(options);
    housekeeper_ = std::thread([shared = shared_] { housekeep(*shared); });
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Closes the idle connections and stops the housekeeping; leases still out close theirs when
  /// they end. Threads waiting in acquire() get a UsageError.
  ~Pool() {
    std::vector<detail::PoolShared::Idle> closing;
    {
      std::lock_guard lock(shared_->mutex);
      shared_->closed = true;
      closing.swap(shared_->idle);
    }
    shared_->wake.notify_all();
    shared_->freed.notify_all();
    housekeeper_.join();
  }

  /// A connection of the pool: an idle one (checked first), a new one while fewer than max are
  /// open, or the first one given back within acquireTimeout; else kith::PoolTimeout. `where`
  /// (the caller, by default) is what a leak report names.
  Lease acquire(CallSite where = {}) {
    using Clock = detail::PoolShared::Clock;
    auto& s = *shared_;
    const auto deadline = Clock::now() + s.options.acquireTimeout;
    std::unique_lock lock(s.mutex);
    while (true) {
      if (s.closed) throw UsageError("kith: this pool is being destroyed; acquire from a pool that lives");
      if (!s.idle.empty()) {
        detail::PoolShared::Idle candidate = std::move(s.idle.back());
        s.idle.pop_back();
        const auto now = Clock::now();
        const bool probe = now - candidate.since > s.options.validationWindow;
        const bool expired = s.options.maxLifetime.count() > 0 && now - candidate.created > s.options.maxLifetime;
        ++s.counts.opening;  // counted while checked outside the lock
        lock.unlock();
        bool usable = !expired;
        try {
          usable = usable && candidate.connection.backend().alive(probe);
        } catch (...) {
          usable = false;
        }
        if (!usable) {
          const std::string why = expired ? "past its maximum lifetime" : "closed by its server";
          candidate.connection = Connection();  // closed here, outside the lock
          lock.lock();
          --s.counts.opening;
          ++s.counts.replaced;
          s.freed.notify_one();  // a slot came free
          lock.unlock();
          s.tell(ConnectionEvent::Kind::Replaced, "kith: the pool closed an idle connection " + why);
          lock.lock();
          continue;
        }
        lock.lock();
        --s.counts.opening;
        return leaseOut(lock, std::move(candidate.connection), candidate.created, where);
      }
      if (s.total() < s.options.max) {
        ++s.counts.opening;
        lock.unlock();
        Connection fresh;
        try {
          fresh = s.make();
        } catch (...) {
          lock.lock();
          --s.counts.opening;
          s.freed.notify_one();
          throw;
        }
        lock.lock();
        --s.counts.opening;
        ++s.counts.created;
        return leaseOut(lock, std::move(fresh), Clock::now(), where);
      }
      const auto self = std::this_thread::get_id();
      if (std::any_of(s.leased.begin(), s.leased.end(), [&](const auto& l) { return l.owner == self; }))
        throw UsageError("kith: this thread already holds a lease of this pool and asks for another while all " +
                         std::to_string(s.options.max) + " are leased (" + detail::describeStats(s.snapshot()) +
                         "): it would wait for itself. Pass the lease it holds down to the code that needs a connection, or "
                         "give it back first");
      ++s.counts.waiting;
      const bool woke = s.freed.wait_until(lock, deadline, [&] { return s.closed || !s.idle.empty() || s.total() < s.options.max; });
      --s.counts.waiting;
      if (!woke) {
        ++s.counts.timedOut;
        const PoolStats stats = s.snapshot();
        throw PoolTimeout("kith: no connection came free within " + std::to_string(s.options.acquireTimeout.count()) + " ms (" +
                              detail::describeStats(stats) +
                              "); give leases back sooner (one per request, not held across slow work), raise max, or look for a "
                              "leak (PoolOptions::leakThreshold reports where leases were taken)",
                          stats);
      }
    }
  }

  /// Runs `fn(trx)` in a transaction on a leased connection: commits when it returns, rolls back
  /// and rethrows when it throws, and gives the connection back either way.
  template <class F>
  auto transaction(F&& fn, CallSite where = {}) {
    Lease lease = acquire(where);
    return lease.transaction(std::forward<F>(fn));
  }
  /// transaction(fn) with options (Connection::transaction(fn, options)): an isolation level, and
  /// retries after serialization failures and deadlocks, on the same lease.
  template <class F>
  auto transaction(F&& fn, const TransactionOptions& options, CallSite where = {}) {
    Lease lease = acquire(where);
    return lease.transaction(std::forward<F>(fn), options);
  }

  PoolStats stats() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->snapshot();
  }

 private:
  Lease leaseOut(std::unique_lock<std::mutex>& lock, Connection connection, detail::PoolShared::Clock::time_point created,
                 const CallSite& where) {
    auto& s = *shared_;
    detail::Backend& backend = connection.backend();
    s.leased.push_back({&backend, std::this_thread::get_id(), detail::PoolShared::Clock::now(), created, where});
    lock.unlock();
    // A new lease count for the connection: handles made under the last lease stop working.
    backend.generation.fetch_add(1, std::memory_order_acq_rel);
    return Lease(Connection(connection.backendPointer()), shared_, created);
  }

  /// Every little while: reports leases held long, closes idle connections past idleTimeout (above
  /// minIdle) or maxLifetime, and opens connections up to minIdle.
  static void housekeep(detail::PoolShared& s) {
    using Clock = detail::PoolShared::Clock;
    using std::chrono::milliseconds;
    milliseconds interval{1000};
    for (const milliseconds limit : {s.options.leakThreshold, s.options.idleTimeout, s.options.maxLifetime})
      if (limit.count() > 0) interval = std::min(interval, std::max(milliseconds{10}, limit / 4));
    std::unique_lock lock(s.mutex);
    while (!s.closed) {
      s.wake.wait_for(lock, interval, [&] { return s.closed; });
      if (s.closed) break;
      const auto now = Clock::now();
      struct Report {
        std::string where;
        milliseconds held;
      };
      std::vector<Report> reports;
      if (s.options.leakThreshold.count() > 0)
        for (auto& l : s.leased)
          if (!l.reported && now - l.since > s.options.leakThreshold) {
            l.reported = true;
            reports.push_back({detail::describeWhere(l.where), std::chrono::duration_cast<milliseconds>(now - l.since)});
          }
      std::vector<detail::PoolShared::Idle> retired;
      for (auto it = s.idle.begin(); it != s.idle.end();) {
        const bool old = s.options.maxLifetime.count() > 0 && now - it->created > s.options.maxLifetime;
        const bool unused =
            s.options.idleTimeout.count() > 0 && now - it->since > s.options.idleTimeout && s.idle.size() > s.options.minIdle;
        if (old || unused) {
          retired.push_back(std::move(*it));
          it = s.idle.erase(it);
          if (old) ++s.counts.replaced;
        } else {
          ++it;
        }
      }
      const std::size_t missing = s.idle.size() + s.counts.opening < s.options.minIdle && s.total() < s.options.max
                                      ? std::min(s.options.minIdle - s.idle.size() - s.counts.opening, s.options.max - s.total())
                                      : 0;
      s.counts.opening += missing;
      if (!retired.empty()) s.freed.notify_all();
      lock.unlock();
      retired.clear();  // closed outside the lock
      for (const auto& r : reports)
        s.tell(ConnectionEvent::Kind::LeaseHeldLong,
               "kith: a pool lease taken at " + r.where + " has been held for " + std::to_string(r.held.count()) +
                   " ms; give leases back when the work that needs them is done",
               r.where, r.held);
      std::vector<detail::PoolShared::Idle> opened;
      for (std::size_t i = 0; i < missing; ++i) {
        try {
          opened.push_back({s.make(), Clock::now(), Clock::now()});
        } catch (...) {  // the server may be down: try again at the next round
        }
      }
      lock.lock();
      s.counts.opening -= missing;
      s.counts.created += opened.size();
      for (auto& o : opened) s.idle.push_back(std::move(o));
      if (missing > 0) s.freed.notify_all();
    }
  }

  std::shared_ptr<detail::PoolShared> shared_;
  std::thread housekeeper_;
};

inline void Lease::giveBack() noexcept {
  if (!shared_) return;
  auto shared = std::move(shared_);
  std::shared_ptr<detail::Backend> backend = backendPointer();
  *static_cast<Connection*>(this) = Connection();
  detail::Backend* raw = backend.get();
  // Handles made under this lease stop working before the connection can be anyone else's.
  raw->generation.fetch_add(1, std::memory_order_acq_rel);
  bool keep = raw->isOpen();
  std::string why;
  if (keep && (raw->lost || !raw->alive(false))) {
    keep = false;
    why = "closed by its server";
  }
  try {
    if (keep) {  // the lease's hooks go with it, before the rollback runs
      raw->setHook(nullptr);
      raw->events = shared->options.onEvent;
    }
    if (keep && (!raw->transactions.empty() || raw->nativeTransactionActive())) {
      // Left open (a Transaction object still alive, or a BEGIN run by hand): undone here, and the
      // models written in it know their rows are gone.
      raw->endTransactions(detail::TxState::Status::RolledBack);
      detail::executeSql(*raw, "ROLLBACK");
    }
  } catch (...) {
    keep = false;
    why = "left broken by its lease (its rollback failed)";
  }
  const auto now = detail::PoolShared::Clock::now();
  if (keep && shared->options.maxLifetime.count() > 0 && now - created_ > shared->options.maxLifetime) {
    keep = false;
    why = "past its maximum lifetime";
  }
  {
    std::lock_guard lock(shared->mutex);
    const auto it = std::find_if(shared->leased.begin(), shared->leased.end(), [&](const auto& l) { return l.backend == raw; });
    if (it != shared->leased.end()) shared->leased.erase(it);
    if (shared->closed) {
      why.clear();  // the pool is gone: the connection just closes
    } else if (keep) {
      shared->idle.push_back({Connection(std::move(backend)), now, created_});
    } else {
      ++shared->counts.replaced;
    }
  }
  shared->freed.notify_one();
  if (!why.empty()) shared->tell(ConnectionEvent::Kind::Replaced, "kith: the pool closed a connection " + why);
  // A connection not kept closes here, outside the lock, when `backend` goes.
}

}  // namespace kith
