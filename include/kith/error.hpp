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

/// The database refused a statement. Carries the SQL text, the database's primary and extended
/// result codes, and its own message.
class DatabaseError : public Error {
 public:
  DatabaseError(std::string what, std::string sql, int code, int extendedCode, std::string dbMessage)
      : Error(std::move(what)), sql_(std::move(sql)), dbMessage_(std::move(dbMessage)), code_(code), extendedCode_(extendedCode) {}

  const std::string& sql() const noexcept { return sql_; }
  int code() const noexcept { return code_; }
  int extendedCode() const noexcept { return extendedCode_; }
  const std::string& dbMessage() const noexcept { return dbMessage_; }

 private:
  std::string sql_;
  std::string dbMessage_;
  int code_;
  int extendedCode_;
};

/// A NOT NULL, UNIQUE, CHECK, PRIMARY KEY or FOREIGN KEY constraint was violated.
class ConstraintError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

/// The database stayed locked by another connection for longer than the busy timeout.
class BusyError : public DatabaseError {
 public:
  using DatabaseError::DatabaseError;
};

}  // namespace kith
