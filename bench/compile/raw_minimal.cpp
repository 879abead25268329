// Compile-time baseline: minimal.cpp's work (open a database, run one query into structs) with the
// sqlite3 C API and the standard containers an application would use anyway. Measured, not run.
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

struct User {
  std::int64_t id = 0;
  std::string email;
};

int main() {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)", nullptr, nullptr, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT id, email FROM users WHERE email LIKE ?", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, "%@example.com", -1, SQLITE_STATIC);
  std::vector<User> users;
  while (sqlite3_step(s) == SQLITE_ROW) {
    User& u = users.emplace_back();
    u.id = sqlite3_column_int64(s, 0);
    u.email.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)), static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  std::printf("%zu users\n", users.size());
}
