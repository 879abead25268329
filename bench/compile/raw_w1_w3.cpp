// Compile-time baseline: kith_w1_w3.cpp's work (W1-W3 on users and posts) written with the sqlite3
// C API and the standard containers an application would use anyway. Measured, not run.
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

struct Post {
  std::int64_t id = 0, userId = 0;
  std::string title, body;
};
struct User {
  std::int64_t id = 0;
  std::string email, name;
  std::vector<Post> posts;
};

static std::string text(sqlite3_stmt* s, int column) {
  return {reinterpret_cast<const char*>(sqlite3_column_text(s, column)), static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

int main() {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  sqlite3_exec(db,
               "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);"
               "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO users (email, name) VALUES (?, ?)", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, "virk@adonisjs.com", -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, "Virk", -1, SQLITE_STATIC);
  sqlite3_step(s);
  sqlite3_finalize(s);
  const auto userId = sqlite3_last_insert_rowid(db);

  // W1: 100 posts in one transaction, ids read back.
  std::vector<Post> rows;
  for (int i = 0; i < 100; ++i) rows.push_back({0, userId, "Post " + std::to_string(i), "body"});
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ?)", -1, &s, nullptr);
  for (auto& p : rows) {
    sqlite3_bind_int64(s, 1, p.userId);
    sqlite3_bind_text(s, 2, p.title.c_str(), static_cast<int>(p.title.size()), SQLITE_STATIC);
    sqlite3_bind_text(s, 3, p.body.c_str(), static_cast<int>(p.body.size()), SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) std::fprintf(stderr, "%s\n", sqlite3_errmsg(db));
    sqlite3_reset(s);
    p.id = sqlite3_last_insert_rowid(db);
  }
  sqlite3_finalize(s);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);

  // W2: every user with their posts, two queries.
  std::vector<User> users;
  std::unordered_map<std::int64_t, std::size_t> byId;
  sqlite3_prepare_v2(db, "SELECT id, email, name FROM users", -1, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    users.push_back({sqlite3_column_int64(s, 0), text(s, 1), text(s, 2), {}});
    byId[users.back().id] = users.size() - 1;
  }
  sqlite3_finalize(s);
  std::string sql = "SELECT id, user_id, title, body FROM posts WHERE user_id IN (";
  for (std::size_t i = 0; i < users.size(); ++i) sql += i ? ", ?" : "?";
  sqlite3_prepare_v2(db, (sql + ")").c_str(), -1, &s, nullptr);
  for (std::size_t i = 0; i < users.size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 1, users[i].id);
  std::size_t loaded = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    Post p{sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), text(s, 2), text(s, 3)};
    users[byId[p.userId]].posts.push_back(std::move(p));
    ++loaded;
  }
  sqlite3_finalize(s);

  // W3: lookups by primary key.
  std::int64_t found = 0;
  sqlite3_prepare_v2(db, "SELECT id, email, name FROM users WHERE id = ?", -1, &s, nullptr);
  for (std::int64_t key = 1; key <= 10; ++key) {
    sqlite3_bind_int64(s, 1, key);
    if (sqlite3_step(s) == SQLITE_ROW) {
      User u{sqlite3_column_int64(s, 0), text(s, 1), text(s, 2), {}};
      found += u.id;
    }
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  std::printf("%zu created, %zu loaded, %lld found\n", rows.size(), loaded, static_cast<long long>(found));
}
