// The SQLite adapter's implementation: its statements, its backend, and kith::sqlite::open.
// Included by kith/sqlite.hpp in header-only mode; compiled once into the kith library in compiled
// mode (KITH_COMPILED_LIB; src/kith.cpp).
#pragma once

#include <kith/sqlite.hpp>

namespace kith::sqlite {

namespace detail {

inline std::string describeCode(int extendedCode) {
  switch (extendedCode) {
    case SQLITE_CONSTRAINT_NOTNULL:
      return "SQLITE_CONSTRAINT_NOTNULL";
    case SQLITE_CONSTRAINT_UNIQUE:
      return "SQLITE_CONSTRAINT_UNIQUE";
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return "SQLITE_CONSTRAINT_PRIMARYKEY";
    case SQLITE_CONSTRAINT_CHECK:
      return "SQLITE_CONSTRAINT_CHECK";
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return "SQLITE_CONSTRAINT_FOREIGNKEY";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    default:
      return sqlite3_errstr(extendedCode);
  }
}

/// The table of an `INSERT INTO "table" ...` that kith wrote; empty for other statements.
inline std::string insertTable(std::string_view sql) {
  constexpr std::string_view head = "INSERT INTO \"";
  if (!sql.starts_with(head)) return {};
  std::string table;
  for (std::size_t i = head.size(); i < sql.size(); ++i) {
    if (sql[i] == '"' && (i + 1 == sql.size() || sql[i + 1] != '"')) return table;
    if (sql[i] == '"') ++i;  // a doubled quote
    table += sql[i];
  }
  return {};
}

/// True when `table` is AUTOINCREMENT and has given out its largest key: SQLite then fails every
/// insert that needs a new key with SQLITE_FULL, whose message ("database or disk is full") misleads.
inline bool autoincrementExhausted(sqlite3* db, const std::string& table) {
  sqlite3_stmt* raw = nullptr;
  if (table.empty() || sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence WHERE name = ?", -1, &raw, nullptr) != SQLITE_OK)
    return false;  // no AUTOINCREMENT table in this database
  sqlite3_bind_text(raw, 1, table.data(), static_cast<int>(table.size()), SQLITE_STATIC);
  const bool exhausted = sqlite3_step(raw) == SQLITE_ROW && sqlite3_column_int64(raw, 0) == std::numeric_limits<std::int64_t>::max();
  sqlite3_finalize(raw);
  return exhausted;
}

[[noreturn]] inline void fail(sqlite3* db, int rc, std::string_view sql) {
  const int extended = db ? sqlite3_extended_errcode(db) : rc;
  const int primary = rc & 0xff;
  std::string dbMessage = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string what = kith::detail::format("kith: {} ({}, code {}/{})", dbMessage, describeCode(extended), primary, extended);
  if (primary == SQLITE_FULL && db) {
    if (const auto table = insertTable(sql); autoincrementExhausted(db, table))
      what = kith::detail::format(
          "kith: table \"{}\" is AUTOINCREMENT and has given out its largest key (9223372036854775807): SQLite cannot generate "
          "another (SQLITE_FULL, code {}/{}); give the rows their keys, or move the data to a table with room",
          table, primary, extended);
  }
  if (!sql.empty()) what += kith::detail::format(" in: {}", sql);
  if (primary == SQLITE_CONSTRAINT) {
    switch (extended) {  // the SQLSTATE PostgreSQL gives for the same violation
      case SQLITE_CONSTRAINT_UNIQUE:
      case SQLITE_CONSTRAINT_PRIMARYKEY:
        throw UniqueViolation(std::move(what), std::string(sql), primary, extended, std::move(dbMessage), "23505");
      case SQLITE_CONSTRAINT_NOTNULL:
        throw NotNullViolation(std::move(what), std::string(sql), primary, extended, std::move(dbMessage), "23502");
      case SQLITE_CONSTRAINT_CHECK:
        throw ConstraintError(std::move(what), std::string(sql), primary, extended, std::move(dbMessage), "23514");
      case SQLITE_CONSTRAINT_FOREIGNKEY:
        throw ConstraintError(std::move(what), std::string(sql), primary, extended, std::move(dbMessage), "23503");
      default:
        throw ConstraintError(std::move(what), std::string(sql), primary, extended, std::move(dbMessage), "23000");
    }
  }
  if (primary == SQLITE_TOOBIG)  // a text or blob past SQLITE_MAX_LENGTH: the SQLSTATE PostgreSQL gives for its limits
    throw DataError(std::move(what), std::string(sql), primary, extended, std::move(dbMessage), "54000");
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    what += "; another connection held the lock for longer than the busy timeout";
    throw BusyError(std::move(what), std::string(sql), primary, extended, std::move(dbMessage));
  }
  throw DatabaseError(std::move(what), std::string(sql), primary, extended, std::move(dbMessage));
}

struct DatabaseCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};

class Statement final : public kith::detail::Statement {
 public:
  Statement(sqlite3* db, std::string_view sql, bool persistent) : kith::detail::Statement(std::string(sql)), db_(db) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int rc =
        sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), persistent ? SQLITE_PREPARE_PERSISTENT : 0, &raw, &tail);
    stmt_.reset(raw);
    if (rc != SQLITE_OK) fail(db, rc, sql);
    if (tail && anotherStatement(std::string_view(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail))))
      throw UsageError(kith::detail::format(
          "kith: this SQL holds more than one statement, and SQLite would run the first alone: {}; pass them one at a time "
          "(PostgreSQL refuses them too)",
          sql));
    parameters_ = sqlite3_bind_parameter_count(raw);
  }

  /// Whether SQL follows the first statement (not only spaces, semicolons and comments).
  static bool anotherStatement(std::string_view rest) {
    for (std::size_t i = 0; i < rest.size(); ++i) {
      const char c = rest[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';') continue;
      if (rest.substr(i, 2) == "--") {
        i = rest.find('\n', i);
        if (i == std::string_view::npos) return false;
      } else if (rest.substr(i, 2) == "/*") {
        i = rest.find("*/", i + 2);
        if (i == std::string_view::npos) return false;
        ++i;
      } else {
        return true;
      }
    }
    return false;
  }

  void bindNull(int i) override { check(sqlite3_bind_null(stmt_.get(), note(i))); }
  void bindInteger(int i, std::int64_t v) override { check(sqlite3_bind_int64(stmt_.get(), note(i), v)); }
  void bindReal(int i, double v) override {
    // SQLite binds NaN as NULL: a model's double would not read back, a condition would match nothing.
    if (v != v)  // NaN (without <cmath> for one test)
      kith::detail::refuseValue("cannot store NaN: SQLite would write NULL, which reads back as an error; use a number or std::optional",
                                sql(), i, "22000");
    check(sqlite3_bind_double(stmt_.get(), note(i), v));
  }
  void bindText(int i, std::string_view v) override {
    // A null pointer would bind NULL; an empty string must stay an empty string.
    check(sqlite3_bind_text64(stmt_.get(), note(i), v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  void bindBlob(int i, std::span<const std::byte> v) override {
    if (v.empty())
      check(sqlite3_bind_zeroblob(stmt_.get(), note(i), 0));
    else
      check(sqlite3_bind_blob64(stmt_.get(), note(i), v.data(), v.size(), SQLITE_STATIC));
  }

  bool step() override {
    // Parameters past the last one bound in this run are NULL, as in a fresh statement, never a
    // previous run's value (whose text may be gone: bindings are SQLITE_STATIC). kith binds in
    // order from 1, so this replaces a sqlite3_clear_bindings() on every reset.
    if (bound_ < parameters_) {
      for (int i = bound_ + 1; i <= parameters_; ++i) sqlite3_bind_null(stmt_.get(), i);
      bound_ = parameters_;
    }
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, sql());
  }

  Kind kind(int c) override {
    switch (sqlite3_column_type(stmt_.get(), c)) {
      case SQLITE_INTEGER:
        return Kind::Integer;
      case SQLITE_FLOAT:
        return Kind::Real;
      case SQLITE_TEXT:
        return Kind::Text;
      case SQLITE_BLOB:
        return Kind::Blob;
      default:
        return Kind::Null;
    }
  }
  bool isNull(int c) override { return sqlite3_column_type(stmt_.get(), c) == SQLITE_NULL; }
  std::int64_t integer(int c) override { return sqlite3_column_int64(stmt_.get(), c); }
  double real(int c) override { return sqlite3_column_double(stmt_.get(), c); }
  std::string_view text(int c) override {
    const auto* p = sqlite3_column_text(stmt_.get(), c);
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), c));
    return p ? std::string_view(reinterpret_cast<const char*>(p), n) : std::string_view{};
  }
  std::span<const std::byte> blob(int c) override {
    const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(stmt_.get(), c));
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), c));
    return p ? std::span<const std::byte>(p, n) : std::span<const std::byte>{};
  }

 protected:
  void resetStatement() noexcept override {
    sqlite3_reset(stmt_.get());
    bound_ = 0;
  }

 private:
  /// Records that parameter `i` is bound in this run.
  int note(int i) noexcept {
    if (i > bound_) bound_ = i;
    return i;
  }

  void check(int rc) {
    if (rc != SQLITE_OK) fail(db_, rc, sql());
  }

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> stmt_;
  int parameters_ = 0;  // the statement's host parameters
  int bound_ = 0;       // the highest one bound in this run
};

class Backend final : public kith::detail::Backend {
 public:
  Backend(std::unique_ptr<sqlite3, DatabaseCloser> db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

  std::unique_ptr<kith::detail::Statement> compile(std::string_view sql, bool persistent) override {
    return std::make_unique<Statement>(db_.get(), sql, persistent);
  }
  std::int64_t lastInsertId() override { return sqlite3_last_insert_rowid(db_.get()); }
  std::int64_t changes() override { return sqlite3_changes64(db_.get()); }
  int variableLimit() override { return sqlite3_limit(db_.get(), SQLITE_LIMIT_VARIABLE_NUMBER, -1); }
  bool nativeTransactionActive() override { return sqlite3_get_autocommit(db_.get()) == 0; }
  bool consecutiveKeys(std::string_view table, std::string_view column, std::size_t count) override {
    // SQLite gives a new row max(rowid) + 1 until the largest rowid is INT64_MAX, then unused
    // rowids at random; AUTOINCREMENT tables always go up by one (or fail with SQLITE_FULL).
    kith::detail::Run run(*this, "SELECT max(" + kith::detail::quote(column) + ") FROM " + kith::detail::quote(table));
    if (!run.step() || run.statement().kind(0) != kith::detail::Statement::Kind::Integer) return true;  // no rows yet
    const std::int64_t largest = run.statement().integer(0);
    return largest <= std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(count);
  }
  void closeHandle() noexcept override { db_.reset(); }
  std::string describe() const override { return "\"" + path_ + "\""; }

  sqlite3* handle() const noexcept { return db_.get(); }

 private:
  std::unique_ptr<sqlite3, DatabaseCloser> db_;
  std::string path_;
};

/// Runs a PRAGMA. SQLite does not call the busy handler for every lock a PRAGMA takes (switching a
/// new file to WAL while another process opens it too fails at once with SQLITE_BUSY): such a
/// PRAGMA is tried again, every millisecond or so, until the busy timeout has passed.
inline void pragma(sqlite3* db, const std::string& sql, std::chrono::milliseconds busyTimeout = {}) {
  const auto deadline = std::chrono::steady_clock::now() + busyTimeout;
  while (true) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    sqlite3_free(message);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) fail(db, rc, sql);
    sqlite3_sleep(1);
  }
}

}  // namespace detail

KITH_INLINE Connection open(std::string_view path, const Options& options) {
  const std::string file(path);
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
  flags |= options.readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  std::unique_ptr<sqlite3, detail::DatabaseCloser> db(raw);
  if (rc != SQLITE_OK) {
    const std::string dbMessage = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    throw DatabaseError(
        kith::detail::format("kith: cannot open database \"{}\": {}; check that its directory exists and is writable", file, dbMessage), "",
        rc & 0xff, raw ? sqlite3_extended_errcode(raw) : rc, dbMessage);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(options.busyTimeout.count()));
  if (options.foreignKeys) detail::pragma(raw, "PRAGMA foreign_keys = ON");
  if (options.wal && !options.readOnly) detail::pragma(raw, "PRAGMA journal_mode = WAL", options.busyTimeout);
  switch (options.synchronous) {
    case Synchronous::Default:
      break;
    case Synchronous::Off:
      detail::pragma(raw, "PRAGMA synchronous = OFF");
      break;
    case Synchronous::Normal:
      detail::pragma(raw, "PRAGMA synchronous = NORMAL");
      break;
    case Synchronous::Full:
      detail::pragma(raw, "PRAGMA synchronous = FULL");
      break;
  }
  return Connection(std::make_shared<detail::Backend>(std::move(db), file));
}

KITH_INLINE sqlite3* handle(const Connection& connection) {
  auto* backend = dynamic_cast<detail::Backend*>(&connection.backend());
  if (!backend) throw UsageError("kith: kith::sqlite::handle needs a connection opened by kith::sqlite::open");
  return backend->handle();
}

}  // namespace kith::sqlite
