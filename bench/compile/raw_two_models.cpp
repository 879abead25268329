// Compile-time baseline: the same kind of work as four_models.cpp with the raw sqlite3 C API and
// the standard library containers an application would use anyway.
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

struct Post {
  std::int64_t id = 0, userId = 0;
  std::string title, body;
};
struct User {
  std::int64_t id = 0;
  std::string email;
  std::optional<std::string> name;
  std::vector<Post> posts;
};

int main() {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db,
               "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);"
               "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO users (email) VALUES (?)", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, "virk@adonisjs.com", -1, SQLITE_STATIC);
  sqlite3_step(s);
  sqlite3_finalize(s);
  const auto userId = sqlite3_last_insert_rowid(db);
  sqlite3_prepare_v2(db, "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ''), (?, ?, '')", -1, &s, nullptr);
  sqlite3_bind_int64(s, 1, userId);
  sqlite3_bind_text(s, 2, "Adonis 101", -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, userId);
  sqlite3_bind_text(s, 4, "Lucid 101", -1, SQLITE_STATIC);
  sqlite3_step(s);
  sqlite3_finalize(s);
  std::vector<User> users;
  std::unordered_map<std::int64_t, std::size_t> byId;
  sqlite3_prepare_v2(db, "SELECT id, email, name FROM users", -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    User u;
    u.id = sqlite3_column_int64(s, 0);
    u.email = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    if (sqlite3_column_type(s, 2) != SQLITE_NULL) u.name = reinterpret_cast<const char*>(sqlite3_column_text(s, 2));
    byId[u.id] = users.size();
    users.push_back(std::move(u));
  }
  sqlite3_finalize(s);
  sqlite3_prepare_v2(db, "SELECT id, user_id, title, body FROM posts", -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    Post p;
    p.id = sqlite3_column_int64(s, 0);
    p.userId = sqlite3_column_int64(s, 1);
    p.title = reinterpret_cast<const char*>(sqlite3_column_text(s, 2));
    p.body = reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
    users[byId[p.userId]].posts.push_back(std::move(p));
  }
  sqlite3_finalize(s);
  std::printf("%zu users, %zu posts\n", users.size(), users[0].posts.size());
  sqlite3_close(db);
}
