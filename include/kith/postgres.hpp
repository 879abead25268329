// The PostgreSQL adapter: kith::postgres::open and the statements behind it, on libpq. The only
// kith header that includes <libpq-fe.h>.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/format.hpp>
#include <kith/detail/meta.hpp>
#include <kith/error.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace kith::postgres {

namespace detail {

// The built-in type OIDs the adapter reads specially (catalog/pg_type_d.h is a server header).
inline constexpr Oid boolOid = 16, byteaOid = 17, int8Oid = 20, int2Oid = 21, int4Oid = 23, oidOid = 26, float4Oid = 700, float8Oid = 701,
                     timestamptzOid = 1184, numericOid = 1700;

struct ResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultClear>;

struct ConnectionCloser {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};

/// kith writes `?` placeholders; PostgreSQL numbers them. Quoted text and identifiers are copied
/// as they are (a doubled quote inside them closes and reopens, which comes to the same).
inline std::string numberPlaceholders(std::string_view sql, int& count) {
  std::string out;
  out.reserve(sql.size() + 8);
  char quote = 0;
  for (const char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++count);
      continue;
    }
    out += c;
  }
  return out;
}

inline std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline const char* field(const PGresult* r, int code) {
  const char* value = r ? PQresultErrorField(r, code) : nullptr;
  return value ? value : "";
}

/// The SQLSTATEs of a value the server cannot store (kith::DataError): too long for its type
/// (22001), an integer or numeric out of range (22003), a time out of range (22008), bad bytes for
/// the encoding (22021, 22P05), a string length mismatch (22026), and the program limit that an
/// index row or a field too large meets (54000). Other data exceptions (a division by zero in
/// raw SQL, text that is no number) are mistakes in the statement, and stay DatabaseErrors.
inline bool isDataException(std::string_view state) {
  for (const std::string_view s : {"22001", "22003", "22008", "22021", "22P05", "22026", "54000"})
    if (state == s) return true;
  return false;
}

/// Throws the kith error for a failed statement: ConnectionError when the server is gone,
/// UniqueViolation / NotNullViolation / ConstraintError for SQLSTATE class 23, DataError for a
/// value the server cannot store, BusyError for lock and serialization failures, DatabaseError
/// otherwise; each carries the SQLSTATE.
/// `note` ends the message (where in a pipeline the statement stood).
[[noreturn]] inline void fail(PGconn* conn, const PGresult* r, std::string_view sql, std::string_view note = {}) {
  std::string state = field(r, PG_DIAG_SQLSTATE);
  std::string dbMessage = field(r, PG_DIAG_MESSAGE_PRIMARY);
  if (dbMessage.empty()) dbMessage = trimmed(PQerrorMessage(conn));
  std::string what = kith::detail::format("kith: {} (SQLSTATE {})", dbMessage, state.empty() ? "none" : state);
  if (!sql.empty()) what += kith::detail::format(" in: {}", sql);
  what += note;
  if (PQstatus(conn) == CONNECTION_BAD) {
    what += "; the connection to the server is lost: the next statement outside a transaction opens it again";
    throw ConnectionError(std::move(what), std::string(sql), 0, 0, std::move(dbMessage), state.empty() ? "08006" : state);
  }
  if (state == "23505") throw UniqueViolation(std::move(what), std::string(sql), 0, 0, std::move(dbMessage), std::move(state));
  if (state == "23502") throw NotNullViolation(std::move(what), std::string(sql), 0, 0, std::move(dbMessage), std::move(state));
  if (state.starts_with("23")) throw ConstraintError(std::move(what), std::string(sql), 0, 0, std::move(dbMessage), std::move(state));
  if (isDataException(state)) throw DataError(std::move(what), std::string(sql), 0, 0, std::move(dbMessage), std::move(state));
  if (state == "55P03" || state == "40001" || state == "40P01")
    throw BusyError(std::move(what), std::string(sql), 0, 0, std::move(dbMessage), std::move(state));
  throw DatabaseError(std::move(what), std::string(sql), 0, 0, std::move(dbMessage), std::move(state));
}

/// A number as PostgreSQL reads it, written into `buffer`: shortest round-trip digits, and
/// NaN / Infinity / -Infinity spelled as the server spells them.
template <class T>
std::string_view numberText(T v, char (&buffer)[32]) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  }
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  return {buffer, static_cast<std::size_t>(end - buffer)};
}

class Backend;

/// One statement: a named server-side prepared statement when cached, an unnamed one otherwise.
/// Parameters go as text (blobs as binary) with their types left to the server, which infers
/// them from where they stand; results come back as text.
class Statement final : public kith::detail::Statement {
 public:
  Statement(Backend& backend, std::string_view sql, bool persistent);
  ~Statement() override;

  void bindNull(int i) override { param(i).isNull = true; }
  void bindInteger(int i, std::int64_t v) override {
    char buffer[32];
    setText(i, numberText(v, buffer));
  }
  void bindReal(int i, double v) override {
    char buffer[32];
    setText(i, numberText(v, buffer));
  }
  void bindText(int i, std::string_view v) override {
    // Text parameters travel as C strings: a NUL would cut the value short without a word.
    if (v.find('\0') != std::string_view::npos)
      kith::detail::refuseValue("PostgreSQL text cannot hold a NUL character; store such values in a kith::Blob column", sql(), i, "22021");
    setText(i, v);
  }
  void bindBlob(int i, std::span<const std::byte> v) override {
    Param& p = param(i);
    p.isNull = false;
    p.binary = true;
    p.blob = v;  // the caller keeps it alive until reset()
  }

  bool step() override;
  bool send() override;
  bool sendAhead() override;

  Kind kind(int c) override {
    if (PQgetisnull(result_.get(), row_, c)) return Kind::Null;
    switch (PQftype(result_.get(), c)) {
      case boolOid:
      case int2Oid:
      case int4Oid:
      case int8Oid:
      case oidOid:
        return Kind::Integer;
      case float4Oid:
      case float8Oid:
        return Kind::Real;
      case numericOid:  // sum() and avg() of integers: whole numbers read as integers
        return std::string_view(PQgetvalue(result_.get(), row_, c)).find_first_of(".eEN") == std::string_view::npos ? Kind::Integer
                                                                                                                    : Kind::Real;
      case byteaOid:
        return Kind::Blob;
      default:
        return Kind::Text;
    }
  }
  bool isNull(int c) override { return PQgetisnull(result_.get(), row_, c) != 0; }
  std::int64_t integer(int c) override {
    const std::string_view s = value(c);
    if (PQftype(result_.get(), c) == boolOid) return s == "t";
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc{} && end == s.data() + s.size()) return out;
    return static_cast<std::int64_t>(real(c));  // a numeric with a fraction, as SQLite would truncate it
  }
  double real(int c) override {
    const std::string_view s = value(c);
    if (s == "NaN") return std::nan("");
    if (s == "Infinity") return HUGE_VAL;
    if (s == "-Infinity") return -HUGE_VAL;
    if (PQftype(result_.get(), c) == boolOid) return s == "t";
    double out = 0;
    std::from_chars(s.data(), s.data() + s.size(), out);
    return out;
  }
  std::string_view text(int c) override {
    std::string_view s = value(c);
    // The session's time zone is UTC: drop the offset that kith's timestamp format does not have.
    if (PQftype(result_.get(), c) == timestamptzOid && s.ends_with("+00")) s.remove_suffix(3);
    return s;
  }
  std::span<const std::byte> blob(int c) override {
    const std::string_view s = value(c);
    if (PQftype(result_.get(), c) != byteaOid) return std::as_bytes(std::span<const char>(s.data(), s.size()));
    std::size_t length = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row_, c)), &length);
    if (!raw) throw Error("kith: PostgreSQL sent a bytea value that does not decode");
    auto& out = decoded_.emplace_back(reinterpret_cast<const std::byte*>(raw), reinterpret_cast<const std::byte*>(raw) + length);
    PQfreemem(raw);
    return out;
  }

 protected:
  void resetStatement() noexcept override {
    result_.reset();
    row_ = -1;
    rows_ = 0;
    ahead_ = noPlace;
    for (auto& p : params_) p = Param{};
    decoded_.clear();
  }

 private:
  struct Param {
    std::string text;
    std::span<const std::byte> blob;
    bool isNull = true;
    bool binary = false;
  };

  Param& param(int i) {
    if (i < 1 || static_cast<std::size_t>(i) > params_.size())
      throw Error(kith::detail::format("kith: parameter {} is out of range (the statement has {}) in: {}", i, params_.size(), sql()));
    return params_[static_cast<std::size_t>(i - 1)];
  }
  void setText(int i, std::string_view v) {
    Param& p = param(i);
    p.isNull = false;
    p.binary = false;
    p.text.assign(v.data(), v.size());
  }
  std::string_view value(int c) const {
    return {PQgetvalue(result_.get(), row_, c), static_cast<std::size_t>(PQgetlength(result_.get(), row_, c))};
  }
  /// Forgets its name when the pipeline that prepared it failed first (the server has no such
  /// statement): it is prepared again at its next run.
  void checkPrepared();
  void sendInPipeline();
  /// Runs it, outside a pipeline. What must reach the server first — the transaction's deferred
  /// BEGIN, this statement's preparation at its first run — goes in the same flight (a pipeline
  /// of its own): one round trip, not one for each.
  Result execute();
  /// The parameters as libpq takes them.
  struct Arguments {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
  };
  Arguments arguments() const;

  Backend& backend_;
  std::string text_;             // the SQL with $n placeholders
  std::string name_;             // of the prepared statement; empty for an unnamed one
  bool preparePending_ = false;  // not prepared yet: prepared with its first run, in the same round trip
  enum class Control { None, Begin, End };
  Control control_ = Control::None;  // BEGIN (deferred to the next statement), COMMIT or ROLLBACK
  static constexpr std::size_t noPlace = static_cast<std::size_t>(-1);
  std::size_t ahead_ = noPlace;  // sent ahead in the open pipeline: its place there
  std::vector<Param> params_;
  Result result_;
  int row_ = -1;
  int rows_ = 0;
  std::deque<std::vector<std::byte>> decoded_;
};

inline constexpr const char* reserveKeysSql =
    R"(WITH "kith_sequence" AS MATERIALIZED (SELECT pg_get_serial_sequence(?, ?)::regclass AS "s") )"
    R"(SELECT nextval("s") FROM "kith_sequence", generate_series(1, ?))";

class Backend final : public kith::detail::Backend {
 public:
  Backend(std::unique_ptr<PGconn, ConnectionCloser> conn, std::string description)
      : conn_(std::move(conn)), description_(std::move(description)) {}
  // The cached statements go first, while this object is whole: they hand it their names.
  ~Backend() override {
    closing_ = true;
    if (isOpen()) close();
  }

  std::unique_ptr<kith::detail::Statement> compile(std::string_view sql, bool persistent) override {
    return std::make_unique<Statement>(*this, sql, persistent);
  }
  std::int64_t lastInsertId() override {
    settle();
    Result r(PQexec(conn_.get(), "SELECT lastval()"));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) fail(conn_.get(), r.get(), "SELECT lastval()");
    return std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10);
  }
  std::int64_t changes() override { return changes_; }
  int variableLimit() override { return 65535; }  // the protocol's 16-bit parameter count
  bool nativeTransactionActive() override {
    if (!pendingBegin_.empty()) return true;  // begun, its BEGIN on its way with the next statement
    // IDLE: ended (a failed COMMIT, say); UNKNOWN: the connection is lost, and its transaction with it.
    const PGTransactionStatusType status = PQtransactionStatus(conn_.get());
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
  }
  bool transactionFailed() override { return pendingBegin_.empty() && PQtransactionStatus(conn_.get()) == PQTRANS_INERROR; }
  void closeHandle() noexcept override {
    unused_.clear();
    pendingBegin_.clear();
    inPipeline_ = ending_ = false;
    conn_.reset();
  }
  std::string describe() const override { return description_; }

  std::string_view dialect() const override { return "postgresql"; }
  std::string_view beginSql(Isolation isolation) const override {
    switch (isolation) {
      case Isolation::ReadCommitted:
        return "BEGIN ISOLATION LEVEL READ COMMITTED";
      case Isolation::RepeatableRead:
        return "BEGIN ISOLATION LEVEL REPEATABLE READ";
      case Isolation::Serializable:
        return "BEGIN ISOLATION LEVEL SERIALIZABLE";
      case Isolation::Default:
        break;
    }
    return "BEGIN";
  }
  bool insertReturnsKey() const override { return true; }
  std::vector<std::int64_t> reserveKeys(std::string_view table, std::string_view column, std::size_t count) override {
    // Taken from the key column's sequence before the insert, so that each row's key is known for
    // certain (the order of RETURNING rows is not promised). The sequence is looked up once, not
    // per row: 10,000 keys take 3 ms rather than 25.
    std::vector<std::int64_t> keys;
    keys.reserve(count);
    kith::detail::Run run(*this, reserveKeysSql);
    run.bind(1, kith::detail::quote(table));
    run.bind(2, column);
    run.bind(3, static_cast<std::int64_t>(count));
    while (run.step()) {
      if (run.statement().isNull(0))
        throw UsageError(
            kith::detail::format("kith: {}.{} has no sequence to generate keys from; declare it BIGSERIAL (createTables does), "
                                 "or give every row its key",
                                 table, column));
      keys.push_back(run.statement().integer(0));
    }
    if (keys.size() != count)
      throw Error(kith::detail::format("kith: PostgreSQL gave {} keys for {} rows of {}", keys.size(), count, table));
    return keys;
  }
  void lockKey(std::int64_t key) override {
    // Transaction-scoped: released by COMMIT or ROLLBACK, never by hand.
    kith::detail::Run run(*this, "SELECT pg_advisory_xact_lock(?)");
    run.bind(1, key);
    run.finish();
  }
  bool writersExclusive() const override { return false; }
  bool takesArrays() const override { return true; }
  /// An array literal ('{1,2,3}', '{"a","b\\"c"}') that the server reads as the column's array
  /// type where it stands (`"user_id" = ANY($1)`); blobs go as IN lists instead.
  std::optional<Value> arrayOf(std::span<const Value> values) const override {
    std::string out = "{";
    char buffer[32];
    for (const Value& v : values) {
      if (out.size() > 1) out += ',';
      switch (v.index()) {
        case 0:
          out += "NULL";
          break;
        case 1:
          out += numberText(std::get<1>(v), buffer);
          break;
        case 2:
          out += numberText(std::get<2>(v), buffer);
          break;
        case 3:
          out += '"';
          for (const char c : std::get<3>(v)) {
            if (c == '\0') return std::nullopt;  // text cannot hold it; the IN list reports it
            if (c == '"' || c == '\\') out += '\\';
            out += c;
          }
          out += '"';
          break;
        default:
          return std::nullopt;
      }
    }
    return Value{out + "}"};
  }
  // Parameters go untyped: in a CASE branch the server would take one for text.
  std::string typedParameter(kith::detail::ColumnKind kind) const override { return "CAST(? AS " + columnType(kind) + ")"; }
  std::string columnType(kith::detail::ColumnKind kind) const override {
    using K = kith::detail::ColumnKind;
    switch (kind) {
      case K::GeneratedKey:
        return "BIGSERIAL";
      case K::Integer:
        return "BIGINT";
      case K::Boolean:
        return "BOOLEAN";
      case K::Real:
        return "DOUBLE PRECISION";
      case K::Text:
        return "TEXT";
      case K::Blob:
        return "BYTEA";
      case K::Timestamp:
        return "TIMESTAMPTZ";
    }
    return "TEXT";
  }

  PGconn* handle() const noexcept { return conn_.get(); }

  /// After a failed statement: a connection the server closed is reopened before the next one.
  void noteIfLost() noexcept {
    if (PQstatus(conn_.get()) == CONNECTION_BAD) lost = true;
  }

  /// PQreset: the same conninfo, a new session, set up as open() set up the first.
  void reconnect() override {
    unused_.clear();  // the prepared statements went with the old session
    pendingBegin_.clear();
    abandonPipeline();
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      const std::string dbMessage = trimmed(PQerrorMessage(conn_.get()));
      throw ConnectionError(
          kith::detail::format("kith: the connection to {} was lost and could not be opened again: {}", description_, dbMessage), "", 0, 0,
          dbMessage, "08001");
    }
    setUpSession(conn_.get());
  }

  /// Whether the server still has this connection. Looks, without waiting, whether anything has
  /// arrived on the socket: a server that closed the connection (a restart, pg_terminate_backend)
  /// has said so there, and a round trip (SELECT 1) tells. With `probe`, the round trip always,
  /// which also finds a connection whose network is gone.
  bool alive(bool probe) override {
    if (ending_) abandonPipeline();  // not reached: a transaction's pipeline ends with its COMMIT
    if (!isOpen() || lost || PQstatus(conn_.get()) != CONNECTION_OK) return false;
    // An idle session is sent nothing; anything readable (the server's goodbye, the end of the
    // stream, a notification) is looked at with a round trip.
    pollfd socket{PQsocket(conn_.get()), POLLIN, 0};
    if (::poll(&socket, 1, 0) != 0) {
      if (!PQconsumeInput(conn_.get()) || PQstatus(conn_.get()) != CONNECTION_OK) return false;
      probe = true;
    }
    if (!probe) return true;
    Result r(PQexec(conn_.get(), "SELECT 1"));
    return PQresultStatus(r.get()) == PGRES_TUPLES_OK;
  }

  /// What open() sets on a new session: UTF-8 text, UTC times, no notices printed.
  static void setUpSession(PGconn* conn) {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    if (PQsetClientEncoding(conn, "UTF8") != 0) fail(conn, nullptr, "SET client_encoding");
    Result r(PQexec(conn, "SET TimeZone TO 'UTC'"));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) fail(conn, r.get(), "SET TimeZone TO 'UTC'");
  }
  void setChanges(std::int64_t n) noexcept { changes_ = n; }

  /// BEGIN is not sent on its own: it goes in the same round trip as the transaction's first
  /// statement (or first pipeline), and a transaction that sends nothing sends neither BEGIN nor
  /// its COMMIT or ROLLBACK. The server takes a transaction's snapshot at its first statement
  /// anyway, so nothing else changes.
  void deferBegin(std::string_view sql) {
    pendingBegin_.assign(sql);
    changes_ = 0;
  }
  bool beginPending() const noexcept { return !pendingBegin_.empty(); }
  std::string takeBegin() { return std::exchange(pendingBegin_, {}); }
  /// A COMMIT or ROLLBACK: true (and nothing to send) when its BEGIN never left.
  bool dropBegin() noexcept {
    if (pendingBegin_.empty()) return false;
    pendingBegin_.clear();
    changes_ = 0;
    return true;
  }
  /// Sends a deferred BEGIN now, for what talks to the server without kith (the raw handle).
  void flushBegin() {
    settle();
    if (pendingBegin_.empty()) return;
    const std::string begin = takeBegin();
    Result r(PQexec(conn_.get(), begin.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      noteIfLost();
      fail(conn_.get(), r.get(), begin);
    }
  }

  bool pipelines() const override { return pipelines_; }
  bool inPipeline() const noexcept { return inPipeline_; }
  void beginPipeline() override {
    settle();
    if (PQenterPipelineMode(conn_.get()) != 1) fail(conn_.get(), nullptr, "(entering pipeline mode)");
    inPipeline_ = true;
    sent_.clear();
    pipelineChanges_.clear();
    consumed_ = answered_ = 0;
    synced_ = false;
    failed_ = {};
    if (!pendingBegin_.empty()) {  // the transaction's BEGIN, first in the same flight
      const std::string begin = takeBegin();
      if (!sendControl(begin)) {
        noteIfLost();
        drainPipeline(false);
        fail(conn_.get(), nullptr, begin);
      }
    }
  }
  /// A statement sent in the pipeline, for the error that names it; `prepared`: the name a
  /// PQsendPrepare gave it, which is forgotten if that fails (or never runs).
  /// Returns its place, for takeResult().
  std::size_t sentInPipeline(std::string_view sql, std::string_view prepared = {}) {
    sent_.push_back({std::string(sql), std::string(prepared)});
    return sent_.size() - 1;
  }
  /// The answer of the statement sent `at` that place in the open pipeline, whose rows its
  /// step() reads: the pipeline is synced (sent whole) first if it was not, and the answers before
  /// it are read on the way. Throws that statement's failure, or the earlier one that stopped it.
  Result takeResult(std::size_t at) {
    PGconn* conn = conn_.get();
    if (!synced_) {
      if (PQpipelineSync(conn) != 1) {
        noteIfLost();
        fail(conn, nullptr, sent_[at].sql);
      }
      synced_ = true;
    }
    Result kept;
    while (consumed_ <= at && PQstatus(conn) == CONNECTION_OK) {
      const bool mine = consumed_ == at;
      Result r = readAnswer();
      if (mine) kept = std::move(r);
    }
    if (kept) return kept;
    noteIfLost();
    if (!failed_.result) fail(conn, nullptr, sent_[at].sql);
    throwFailed();
  }
  /// True when the prepared statement `name` was lost with a failed pipeline.
  bool unprepared(const std::string& name) const noexcept {
    return !unprepared_.empty() && std::find(unprepared_.begin(), unprepared_.end(), name) != unprepared_.end();
  }
  void forgetUnprepared(const std::string& name) { std::erase(unprepared_, name); }
  void endPipeline() override {
    ending_ = false;
    drainPipeline(true);
  }
  void endPipelineLater() override { ending_ = inPipeline_; }
  /// A pipeline whose answers wait for the next statement (endPipelineLater).
  bool ending() const noexcept { return ending_; }
  /// Before any other use of the connection: the answers of an ending pipeline read, its first
  /// failure thrown.
  void settle() {
    if (ending_) endPipeline();
  }
  /// The COMMIT of an ending pipeline's transaction, sent in it: one round trip for both.
  void commitInPipeline(const std::string& commit) {
    ending_ = false;
    const bool sent = sendControl(commit);
    drainPipeline(true);
    if (!sent) {  // the statements before it succeeded, but the COMMIT never left: not committed
      noteIfLost();
      fail(conn_.get(), nullptr, commit);
    }
  }
  std::span<const std::int64_t> pipelinedChanges() const override { return pipelineChanges_; }
  void abandonPipeline() noexcept override {
    ending_ = false;
    try {
      drainPipeline(false);
    } catch (...) {  // the connection is gone: nothing to drain
    }
  }
  void setPipelines(bool on) noexcept { pipelines_ = on; }
  std::string nextName() { return "kith_" + std::to_string(++statements_); }

  /// Prepared statements evicted from the cache are dropped on the server in one round trip,
  /// before the next one is prepared, and never inside a failed transaction (it would refuse).
  void dropLater(std::string name) {
    if (!closing_ && conn_) unused_.push_back(std::move(name));  // closing: the server drops them with the session
  }
  void dropUnused() {
    if (unused_.empty() || PQtransactionStatus(conn_.get()) == PQTRANS_INERROR) return;
    std::string sql;
    for (const auto& name : unused_) sql += "DEALLOCATE " + name + ";";
    unused_.clear();
    Result r(PQexec(conn_.get(), sql.c_str()));  // a failure here costs only server memory
  }

 private:
  std::unique_ptr<PGconn, ConnectionCloser> conn_;
  std::string description_;
  std::int64_t changes_ = 0;
  std::uint64_t statements_ = 0;
  std::vector<std::string> unused_;
  std::string pendingBegin_;  // a BEGIN not sent yet (deferBegin)
  bool closing_ = false;
  bool pipelines_ = true;
  bool inPipeline_ = false;
  bool ending_ = false;  // its statements all sent, its answers read with the next statement
  struct Sent {
    std::string sql;
    std::string prepared;  // the name, for a PQsendPrepare
    bool control = false;  // a deferred BEGIN, sent first, or the COMMIT that ends it: not counted
  };
  std::vector<Sent> sent_;                     // each statement sent in the open pipeline
  std::vector<std::string> unprepared_;        // names whose PQsendPrepare a failed pipeline lost
  std::vector<std::int64_t> pipelineChanges_;  // the rows each statement of the last pipeline changed
  std::size_t consumed_ = 0;                   // the answers read so far, in sent_'s order
  std::size_t answered_ = 0;                   // of them, the statements' (not the preparations')
  bool synced_ = false;                        // the pipeline's sync is sent: the server answers everything before it
  struct Failed {
    Result result;
    std::string sql;
    std::size_t at = 0;  // among the statements, without the preparations
    bool preparing = false;
    bool control = false;
  } failed_;  // the pipeline's first failure

  /// Sends BEGIN or COMMIT in the open pipeline, as an entry not counted among its statements.
  bool sendControl(const std::string& sql) {
    if (PQsendQueryParams(conn_.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) return false;
    sent_.push_back({sql, {}, true});
    return true;
  }

  /// Reads the answer of sent_[consumed_] (a statement's result, then null) and moves past it;
  /// returns the result when it succeeded, else records the first failure.
  Result readAnswer() {
    PGconn* conn = conn_.get();
    const Sent& sent = sent_[consumed_];
    Result kept;
    bool ok = false;
    while (PGresult* raw = PQgetResult(conn)) {
      Result r(raw);
      const ExecStatusType status = PQresultStatus(raw);
      if (status == PGRES_FATAL_ERROR && !failed_.result) {
        failed_ = {std::move(r), sent.sql, answered_, !sent.prepared.empty(), sent.control};
      } else if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        ok = true;
        if (sent.prepared.empty() && !sent.control) {
          const char* changed = PQcmdTuples(raw);
          changes_ = changed && *changed ? std::strtoll(changed, nullptr, 10) : 0;
          pipelineChanges_.push_back(changes_);
          kept = std::move(r);
        }
      }
    }
    if (!ok && !sent.prepared.empty()) unprepared_.push_back(sent.prepared);
    if (sent.prepared.empty() && !sent.control) ++answered_;
    ++consumed_;
    return kept;
  }

  /// Throws the pipeline's first failure: where in the batch it failed, and that nothing after it ran.
  [[noreturn]] void throwFailed() {
    if (failed_.control) fail(conn_.get(), failed_.result.get(), failed_.sql);
    std::size_t sent = 0;
    for (const Sent& item : sent_) sent += item.prepared.empty() && !item.control;
    if (failed_.preparing)
      fail(conn_.get(), failed_.result.get(), failed_.sql,
           kith::detail::format("; preparing it in a pipeline of {} statements failed: none from it on ran", sent));
    fail(conn_.get(), failed_.result.get(), failed_.sql,
         kith::detail::format("; statement {} of {} sent in one pipeline: the {} after it did not run", failed_.at + 1, sent,
                              sent - failed_.at - 1));
  }

  /// Sends the sync (unless takeResult() did), reads every answer up to it and leaves pipeline
  /// mode; with `report`, throws the first failure, naming its statement (the server skipped the rest).
  void drainPipeline(bool report) {
    if (!inPipeline_) return;
    PGconn* conn = conn_.get();
    const bool empty = sent_.empty() && !synced_;  // nothing was sent: no round trip to end it
    const bool synced = empty || synced_ || PQpipelineSync(conn) == 1;
    while (synced && consumed_ < sent_.size() && PQstatus(conn) == CONNECTION_OK) readAnswer();
    if (!synced || PQstatus(conn) != CONNECTION_OK)  // the answers that never came: their preparations too
      for (const Sent& sent : sent_)
        if (!sent.prepared.empty()) unprepared_.push_back(sent.prepared);
    while (synced && !empty && PQstatus(conn) == CONNECTION_OK) {  // up to the sync's own result
      Result r(PQgetResult(conn));
      if (!r || PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) break;
    }
    PQexitPipelineMode(conn);
    inPipeline_ = false;
    if (!report) return;
    if (!synced || PQstatus(conn) != CONNECTION_OK) {
      noteIfLost();
      fail(conn, failed_.result.get(), failed_.result ? std::string_view(failed_.sql) : std::string_view("(the end of a pipeline)"));
    }
    if (failed_.result) throwFailed();
  }
};

inline Statement::Statement(Backend& backend, std::string_view sql, bool persistent)
    : kith::detail::Statement(std::string(sql)), backend_(backend) {
  int count = 0;
  text_ = numberPlaceholders(sql, count);
  params_.resize(static_cast<std::size_t>(count));
  if (sql == "BEGIN" || sql.starts_with("BEGIN ISOLATION LEVEL ")) {
    control_ = Control::Begin;  // never prepared: it travels with the statement after it
    return;
  }
  if (sql == "COMMIT" || sql == "ROLLBACK") control_ = Control::End;
  preparePending_ = persistent;
}

inline Statement::Arguments Statement::arguments() const {
  Arguments a{std::vector<const char*>(params_.size()), std::vector<int>(params_.size()), std::vector<int>(params_.size())};
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Param& p = params_[i];
    if (p.isNull) continue;
    if (p.binary) {
      a.values[i] = p.blob.empty() ? "" : reinterpret_cast<const char*>(p.blob.data());
      a.lengths[i] = static_cast<int>(p.blob.size());
      a.formats[i] = 1;
    } else {
      a.values[i] = p.text.c_str();
    }
  }
  return a;
}

inline void Statement::checkPrepared() {
  if (!name_.empty() && backend_.unprepared(name_)) {  // its PQsendPrepare failed with a pipeline
    backend_.forgetUnprepared(name_);
    name_.clear();
    preparePending_ = true;
  }
}

/// Sends it in the open pipeline with its parameters as bound now (libpq copies them); prepared
/// in the same pipeline at its first run, that answer read with the others'.
inline void Statement::sendInPipeline() {
  checkPrepared();
  PGconn* conn = backend_.handle();
  if (preparePending_) {
    name_ = backend_.nextName();
    if (PQsendPrepare(conn, name_.c_str(), text_.c_str(), 0, nullptr) != 1) {
      name_.clear();
      backend_.noteIfLost();
      fail(conn, nullptr, sql());
    }
    preparePending_ = false;
    backend_.sentInPipeline(sql(), name_);
  }
  const Arguments a = arguments();
  const int n = static_cast<int>(params_.size());
  const int sent = name_.empty()
                       ? PQsendQueryParams(conn, text_.c_str(), n, nullptr, a.values.data(), a.lengths.data(), a.formats.data(), 0)
                       : PQsendQueryPrepared(conn, name_.c_str(), n, a.values.data(), a.lengths.data(), a.formats.data(), 0);
  if (sent != 1) {
    backend_.noteIfLost();
    fail(conn, nullptr, sql());
  }
}

inline bool Statement::send() {
  backend_.settle();
  if (!backend_.inPipeline()) return kith::detail::Statement::send();
  sendInPipeline();
  backend_.sentInPipeline(sql());
  return true;
}

inline bool Statement::sendAhead() {
  backend_.settle();
  if (!backend_.inPipeline()) return false;
  sendInPipeline();
  ahead_ = backend_.sentInPipeline(sql());
  return true;
}

inline Result Statement::execute() {
  checkPrepared();
  const Arguments a = arguments();
  const int n = static_cast<int>(params_.size());
  PGconn* conn = backend_.handle();
  const auto run = [&] {
    return Result(name_.empty() ? PQexecParams(conn, text_.c_str(), n, nullptr, a.values.data(), a.lengths.data(), a.formats.data(), 0)
                                : PQexecPrepared(conn, name_.c_str(), n, a.values.data(), a.lengths.data(), a.formats.data(), 0));
  };
  if (!preparePending_ && !backend_.beginPending()) return run();
  if (preparePending_) backend_.dropUnused();
  if (!backend_.pipelines()) {  // pipelines off: a round trip each, as without them
    backend_.flushBegin();
    if (preparePending_) {
      name_ = backend_.nextName();
      Result r(PQprepare(conn, name_.c_str(), text_.c_str(), 0, nullptr));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        name_.clear();
        backend_.noteIfLost();
        fail(conn, r.get(), sql());
      }
      preparePending_ = false;
    }
    return run();
  }
  const std::string begin = backend_.takeBegin();
  const bool preparing = preparePending_;
  if (preparing) name_ = backend_.nextName();
  bool sent = PQenterPipelineMode(conn) == 1;
  const int queued = sent;
  sent = sent && (begin.empty() || PQsendQueryParams(conn, begin.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1);
  sent = sent && (!preparing || PQsendPrepare(conn, name_.c_str(), text_.c_str(), 0, nullptr) == 1);
  sent = sent && (name_.empty() ? PQsendQueryParams(conn, text_.c_str(), n, nullptr, a.values.data(), a.lengths.data(), a.formats.data(), 0)
                                : PQsendQueryPrepared(conn, name_.c_str(), n, a.values.data(), a.lengths.data(), a.formats.data(), 0)) == 1;
  const bool synced = queued && PQpipelineSync(conn) == 1;
  // Each query's answer (one result, then null), up to the sync's.
  const auto answer = [&] {
    Result kept;
    while (PGresult* raw = PQgetResult(conn)) {
      Result r(raw);
      if (!kept) kept = std::move(r);
    }
    return kept;
  };
  Result began, prepared, result;
  if (synced) {
    if (!begin.empty()) began = answer();
    if (preparing) prepared = answer();
    if (sent) result = answer();
    while (PQstatus(conn) == CONNECTION_OK) {
      Result r(PQgetResult(conn));
      if (!r || PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) break;
    }
  }
  if (queued) PQexitPipelineMode(conn);
  if (preparing && prepared && PQresultStatus(prepared.get()) == PGRES_COMMAND_OK)
    preparePending_ = false;
  else if (preparing)
    name_.clear();
  if (!sent || !synced || PQstatus(conn) != CONNECTION_OK) {
    backend_.noteIfLost();
    fail(conn, nullptr, begin.empty() ? std::string_view(sql()) : std::string_view(begin));
  }
  if (!begin.empty() && PQresultStatus(began.get()) != PGRES_COMMAND_OK) fail(conn, began.get(), begin);
  if (preparing && preparePending_) fail(conn, prepared.get(), sql());
  return result;
}

inline Statement::~Statement() {
  if (!name_.empty()) backend_.dropLater(std::move(name_));
}

inline bool Statement::step() {
  if (!result_ && ahead_ != noPlace) {  // sent ahead: its answer comes from the pipeline
    result_ = backend_.takeResult(std::exchange(ahead_, noPlace));
    rows_ = PQntuples(result_.get());
    row_ = -1;
  }
  if (!result_) {
    if (backend_.ending()) {  // the transaction's last writes, their answers not read yet
      if (control_ == Control::End && sql() == "COMMIT") {
        backend_.commitInPipeline(text_);
        return false;
      }
      if (control_ == Control::End)
        backend_.abandonPipeline();  // ROLLBACK: what the pipeline did goes with the transaction
      else
        backend_.settle();
    }
    if (backend_.inPipeline())
      throw UsageError(kith::detail::format("kith: a statement that returns rows cannot run inside a pipeline: {}", sql()));
    // BEGIN waits for the next statement; COMMIT or ROLLBACK of a transaction that sent nothing
    // has nothing to end.
    if (control_ == Control::Begin && params_.empty()) {
      backend_.deferBegin(text_);
      return false;
    }
    if (control_ == Control::End && backend_.dropBegin()) return false;
    result_ = execute();
    PGconn* conn = backend_.handle();
    const ExecStatusType status = PQresultStatus(result_.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      Result failed = std::move(result_);
      backend_.noteIfLost();
      fail(conn, failed.get(), sql());
    }
    rows_ = PQntuples(result_.get());
    const char* changed = PQcmdTuples(result_.get());
    backend_.setChanges(changed && *changed ? std::strtoll(changed, nullptr, 10) : 0);
    row_ = -1;
  }
  return ++row_ < rows_;
}

}  // namespace detail

/// How a PostgreSQL connection works, beyond its conninfo.
struct Options {
  /// Sends the statements of a bulk write (createMany's and saveMany's multi-row INSERTs) in one
  /// pipeline, one round trip instead of one per statement (libpq's pipeline mode). Off: one
  /// round trip each, as before.
  bool pipeline = true;
};

/// Opens a connection to a PostgreSQL server: a URI (`postgresql://user@host:5432/db`) or
/// key=value pairs (`host=/tmp port=5433 dbname=app`), as libpq reads them. The session runs in
/// UTC with UTF-8 text, and the server's notices are not printed. When the server closes the
/// connection (a restart), the next statement outside a transaction opens it again (once; the
/// event hook is told); the statement that found it closed fails with ConnectionError, as does any
/// statement of a transaction that was open then.
inline Connection open(std::string_view conninfo, const Options& options = {}) {
  const std::string info(conninfo);
  std::unique_ptr<PGconn, detail::ConnectionCloser> conn(PQconnectdb(info.c_str()));
  if (!conn) throw ConnectionError("kith: cannot connect to PostgreSQL: out of memory", "", 0, 0, "out of memory", "08000");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    const std::string dbMessage = detail::trimmed(PQerrorMessage(conn.get()));
    throw ConnectionError(kith::detail::format("kith: cannot connect to PostgreSQL with \"{}\": {}; check that the server runs and "
                                               "accepts this user and database",
                                               info, dbMessage),
                          "", 0, 0, dbMessage, "08001");
  }
  detail::Backend::setUpSession(conn.get());
  std::string description = kith::detail::format("PostgreSQL database \"{}\" on {}", PQdb(conn.get()),
                                                 PQhost(conn.get()) ? PQhost(conn.get()) : "the default host");
  if (const char* port = PQport(conn.get()); port && *port) description += kith::detail::format(" port {}", port);
  auto backend = std::make_shared<detail::Backend>(std::move(conn), std::move(description));
  backend->setPipelines(options.pipeline);
  return Connection(std::move(backend));
}

/// The raw libpq handle behind a connection, for what kith does not wrap.
inline PGconn* handle(const Connection& connection) {
  auto* backend = dynamic_cast<detail::Backend*>(&connection.backend());
  if (!backend) throw UsageError("kith: kith::postgres::handle needs a connection opened by kith::postgres::open");
  backend->flushBegin();  // what the caller sends runs inside the transaction kith has begun
  return backend->handle();
}

}  // namespace kith::postgres
