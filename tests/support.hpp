// Shared by kith's tests: the Catch2 header (v2 or v3), a statement log, and the models most tests use.
#pragma once

#ifdef KITH_CATCH_V3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <kith/kith.hpp>

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace test {

#ifdef KITH_CATCH_V3
inline auto Contains(const std::string& s) { return Catch::Matchers::ContainsSubstring(s); }
#else
inline auto Contains(const std::string& s) { return Catch::Matchers::Contains(s); }
#endif

/// Records every statement a connection runs, through the query hook.
struct StatementLog {
  struct Entry {
    std::string sql;
    std::vector<kith::Value> bindings;
  };
  std::vector<Entry> entries;

  explicit StatementLog(const kith::Connection& db) {
    db.onQuery([this](const kith::QueryEvent& e) { entries.push_back({std::string(e.sql), {e.bindings.begin(), e.bindings.end()}}); });
  }
  std::size_t count() const { return entries.size(); }
  std::vector<std::string> sql() const {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.sql);
    return out;
  }
  void clear() { entries.clear(); }
};

/// A row count straight from SQLite, bypassing kith's models.
inline std::int64_t rows(const kith::Connection& db, const std::string& table) {
  std::int64_t n = -1;
  sqlite3_exec(
      kith::sqlite::handle(db), ("SELECT count(*) FROM \"" + table + "\"").c_str(),
      [](void* out, int, char** values, char**) {
        *static_cast<std::int64_t*>(out) = std::stoll(values[0]);
        return 0;
      },
      &n, nullptr);
  return n;
}

/// A fresh directory under the system's temporary directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("kith-test-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::optional<std::string> name;

  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;

  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body>;
};

/// A fresh in-memory database with users (email UNIQUE) and posts tables.
inline kith::Connection blogDatabase() {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT)");
  db.execute(
      "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL CHECK (title <> ''), body TEXT NOT NULL)");
  return db;
}

}  // namespace test
