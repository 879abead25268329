// kith's exception hierarchy: every failure kith reports is a kith::Error.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace kith {

/// Root of every exception kith throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The API was used in a way that cannot work: no connection, a finished transaction, a closed
/// connection. The message says what to do instead.
class UsageError : public Error {
 public:
  using Error::Error;
};

/// A lookup that had to find a row found none (`findOrFail`, `firstOrFail`, `refresh`).
class NotFound : public Error {
 public:
  using Error::Error;
};

/// The database refused a statement. Carries the SQL text, the database's own message and codes:
/// SQLite's primary and extended result codes (0 on PostgreSQL), and the SQLSTATE, which
/// PostgreSQL always gives and the SQLite adapter gives for constraint violations ("23505" for
/// UNIQUE, say), empty otherwise.
class DatabaseError : public Error {
 public:
  DatabaseError(std::string what, std::string sql, int code, int extendedCode, std::string dbMessage, std::string sqlstate = {})
      : Error(std::move(what)),
        sql_(std::move(sql)),
        dbMessage_(std::move(dbMessage)),
        sqlstate_(std::move(sqlstate)),
        code_(code),
        extendedCode_(extendedCode) {}

  const std::string& sql() const noexcept { return sql_; }
  int code() const noexcept { return code_; }
  int extendedCode() const noexcept { return extendedCode_; }
  const std::string& dbMessage() const noexcept { return dbMessage_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sql_;
  std::string dbMessage_;
  std::string sqlstate_;
  int code_;
  int extendedCode_;
};

/// A NOT NULL, UNIQUE, CHECK, PRIMARY KEY or FOREIGN KEY constraint was violated.
class ConstraintError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// A UNIQUE or PRIMARY KEY constraint was violated, on any database.
class UniqueViolation : public ConstraintError {
 public:
  using ConstraintError::ConstraintError;
};

/// A NOT NULL constraint was violated, on any database.
class NotNullViolation : public ConstraintError {
 public:
  using ConstraintError::ConstraintError;
};

/// A value the database cannot store, refused by kith before sending it or by the database: a NUL
/// or invalid UTF-8 in PostgreSQL text, an integer beyond the column's range (an unsigned 64-bit
/// value past 2^63 - 1 anywhere, a PostgreSQL INTEGER or SMALLINT overflow), a time outside the
/// years 0001-9999, NaN on SQLite, a value over a size the database rejects (PostgreSQL's index row
/// limit, a VARCHAR(n), SQLite's SQLITE_MAX_LENGTH). The statement wrote nothing. The SQLSTATE says
/// which, on both databases: "22021" bad text, "22003" integer range, "22008" time range, "22000"
/// NaN, "22001" or "54000" size; `code()` is SQLite's result code when SQLite refused it, 0 when
/// kith did. An application answers it as the client's fault (HTTP 422), other DatabaseErrors as its own.
class DataError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

namespace detail {

/// Throws the DataError for a value kith refuses before sending it; `sql` and the 1-based
/// `parameter` name where it was bound, when known (empty SQL: a value of a query being built).
[[noreturn]] inline void refuseValue(std::string problem, std::string_view sql, int parameter, const char* sqlstate) {
  std::string what = "kith: " + problem;
  if (!sql.empty()) what += "; nothing was sent (parameter " + std::to_string(parameter) + " of: " + std::string(sql) + ")";
  throw DataError(std::move(what), std::string(sql), 0, 0, std::move(problem), sqlstate);
}

}  // namespace detail

/// The database stayed locked by another connection for longer than the busy timeout (or, on
/// PostgreSQL, a lock, deadlock or serialization failure ended the statement).
class BusyError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// The connection to a database server could not be made or was lost; open a new one.
class ConnectionError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

}  // namespace kith
