// kith's exception hierarchy: every failure kith reports is a kith::Error.
#pragma once

#include <stdexcept>
#include <string>
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
