// The SQLite adapter: kith::sqlite::open. The statements and the backend behind it are in
// kith/sqlite-inl.hpp (compiled into the kith library in compiled mode). With it, the only kith
// headers that include <sqlite3.h>.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/config.hpp>
#include <kith/detail/format.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/std.hpp>
#include <kith/error.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

namespace kith::sqlite {

enum class Synchronous { Default, Off, Normal, Full };

struct Options {
  /// Create the file when it does not exist.
  bool create = true;
  bool readOnly = false;
  /// How long a statement waits for another connection's lock before failing with kith::BusyError.
  std::chrono::milliseconds busyTimeout{5000};
  /// Write-ahead logging: readers do not block the writer. Ignored for ":memory:".
  bool wal = false;
  Synchronous synchronous = Synchronous::Default;
  /// PRAGMA foreign_keys; SQLite's own default is off.
  bool foreignKeys = true;
};

/// Opens (and by default creates) a SQLite database; ":memory:" gives a private in-memory one.
/// The connection is opened with SQLITE_OPEN_NOMUTEX: SQLite's per-call mutex is skipped, which is
/// safe because a kith connection is used by one thread at a time. Extended result codes are on,
/// and a busy timeout (5 s unless set) makes writers wait for each other instead of failing.
Connection open(std::string_view path, const Options& options = {});

/// The raw sqlite3 handle behind a connection, for what kith does not wrap (sqlite3_limit, say).
sqlite3* handle(const Connection& connection);

}  // namespace kith::sqlite

#ifndef KITH_COMPILED_LIB
#include <kith/sqlite-inl.hpp>
#endif
