// kith against hand-written sqlite3 code, in one process. Prints median times and the ratio
// kith/raw per workload; `--smoke` runs each once at a tiny size and checks the checksums agree.
// Instruction counts: run under `valgrind --tool=callgrind --toggle-collect='*workload*'`.
#include <kith/kith.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Post;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::string name;
  kith::HasMany<Post> posts;
  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;
  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body>;
};

const std::string title(20, 't');
const std::string body(100, 'b');

kith::Connection freshDatabase() {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)");
  db.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)");
  db.execute("CREATE INDEX posts_user_id ON posts (user_id)");
  db.execute("INSERT INTO users (email, name) VALUES ('a@b', 'A')");
  return db;
}

// W1: n posts for one user. Returns the sum of the ids written, as a checksum.
__attribute__((noinline)) std::int64_t workload_w1_raw(sqlite3* db, int n) {
  constexpr int perStatement = 100;
  std::string sql = "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ?)";
  for (int i = 1; i < perStatement; ++i) sql += ", (?, ?, ?)";
  sqlite3_stmt* many = nullptr;
  sqlite3_stmt* one = nullptr;
  sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &many, nullptr);
  sqlite3_prepare_v3(db, "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ?)", -1, SQLITE_PREPARE_PERSISTENT, &one, nullptr);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  std::int64_t sum = 0;
  int done = 0;
  while (done < n) {
    const int rows = n - done >= perStatement ? perStatement : 1;
    sqlite3_stmt* s = rows == perStatement ? many : one;
    for (int r = 0; r < rows; ++r) {
      sqlite3_bind_int64(s, 3 * r + 1, 1);
      sqlite3_bind_text(s, 3 * r + 2, title.data(), static_cast<int>(title.size()), SQLITE_STATIC);
      sqlite3_bind_text(s, 3 * r + 3, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
    }
    sqlite3_step(s);
    sqlite3_reset(s);
    const auto last = sqlite3_last_insert_rowid(db);
    for (int r = 0; r < rows; ++r) sum += last - (rows - 1 - r);
    done += rows;
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_finalize(many);
  sqlite3_finalize(one);
  return sum;
}

__attribute__((noinline)) std::int64_t workload_w1_kith(const kith::Connection& db, int n) {
  std::vector<Post> posts(static_cast<std::size_t>(n), Post{{}, 0, 1, title, body});
  std::int64_t sum = 0;
  for (const auto& p : Post::createMany(db, std::move(posts))) sum += p.id;
  return sum;
}

// W3: n lookups by random primary key. Returns the sum of the email lengths read.
__attribute__((noinline)) std::int64_t workload_w3_raw(sqlite3* db, const std::vector<std::int64_t>& keys) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v3(db, "SELECT id, email, name FROM users WHERE id = ?", -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  std::int64_t sum = 0;
  for (auto key : keys) {
    sqlite3_bind_int64(s, 1, key);
    if (sqlite3_step(s) == SQLITE_ROW) {
      User u;
      u.id = sqlite3_column_int64(s, 0);
      u.email.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)), static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
      u.name.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)), static_cast<std::size_t>(sqlite3_column_bytes(s, 2)));
      sum += static_cast<std::int64_t>(u.email.size());
    }
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  return sum;
}

__attribute__((noinline)) std::int64_t workload_w3_kith(const kith::Connection& db, const std::vector<std::int64_t>& keys) {
  std::int64_t sum = 0;
  for (auto key : keys)
    if (auto u = User::find(db, key)) sum += static_cast<std::int64_t>(u->email.size());
  return sum;
}

// W2: every user with their posts, in two queries. Returns the number of posts loaded plus the sum
// of their ids.
struct RawPost {
  std::int64_t id = 0, userId = 0;
  std::string title, body;
};
struct RawUser {
  std::int64_t id = 0;
  std::string email, name;
  std::vector<RawPost> posts;
};

__attribute__((noinline)) std::int64_t workload_w2_raw(sqlite3* db) {
  std::vector<RawUser> users;
  std::unordered_map<std::int64_t, std::size_t> byId;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v3(db, "SELECT id, email, name FROM users", -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  while (sqlite3_step(s) == SQLITE_ROW) {
    RawUser& u = users.emplace_back();
    u.id = sqlite3_column_int64(s, 0);
    u.email.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)), static_cast<std::size_t>(sqlite3_column_bytes(s, 1)));
    u.name.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)), static_cast<std::size_t>(sqlite3_column_bytes(s, 2)));
    byId.emplace(u.id, users.size() - 1);
  }
  sqlite3_finalize(s);
  std::string sql = "SELECT id, user_id, title, body FROM posts WHERE user_id IN (";
  for (std::size_t i = 0; i < users.size(); ++i) sql += i ? ", ?" : "?";
  sql += ")";
  sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  for (std::size_t i = 0; i < users.size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 1, users[i].id);
  std::int64_t sum = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    RawPost p;
    p.id = sqlite3_column_int64(s, 0);
    p.userId = sqlite3_column_int64(s, 1);
    p.title.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 2)), static_cast<std::size_t>(sqlite3_column_bytes(s, 2)));
    p.body.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, 3)), static_cast<std::size_t>(sqlite3_column_bytes(s, 3)));
    sum += p.id + 1;
    users[byId[p.userId]].posts.push_back(std::move(p));
  }
  sqlite3_finalize(s);
  return sum;
}

__attribute__((noinline)) std::int64_t workload_w2_kith(const kith::Connection& db) {
  std::int64_t sum = 0;
  for (const auto& user : User::query(db).preload<&User::posts>().all())
    for (const auto& post : user.posts) sum += post.id + 1;
  return sum;
}

struct Result {
  double medianMs;
  std::int64_t checksum;
};

Result measure(int repeats, const std::function<std::int64_t()>& run) {
  std::vector<double> times;
  std::int64_t checksum = 0;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    checksum = run();
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], checksum};
}

bool report(const char* workload, const Result& raw, const Result& kith) {
  std::printf("%-4s raw  %9.3f ms  checksum %lld\n", workload, raw.medianMs, static_cast<long long>(raw.checksum));
  std::printf("%-4s kith %9.3f ms  checksum %lld\n", workload, kith.medianMs, static_cast<long long>(kith.checksum));
  std::printf("ratio %s kith/raw time=%.2f\n", workload, kith.medianMs / raw.medianMs);
  if (raw.checksum != kith.checksum) std::printf("MISMATCH in %s: raw and kith disagree\n", workload);
  return raw.checksum == kith.checksum;
}

}  // namespace

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::strcmp(argv[1], "--smoke") == 0;
  const int repeats = smoke ? 1 : 5;
  const int posts = smoke ? 250 : 10'000;
  const int users = smoke ? 50 : 10'000;
  bool ok = true;

  ok &= report("W1",
               measure(repeats,
                       [&] {
                         auto db = freshDatabase();
                         return workload_w1_raw(kith::sqlite::handle(db), posts);
                       }),
               measure(repeats, [&] {
                 auto db = freshDatabase();
                 return workload_w1_kith(db, posts);
               }));

  {
    const int w2Users = smoke ? 20 : 1000;
    auto db = freshDatabase();
    for (int i = 1; i < w2Users; ++i)
      db.execute("INSERT INTO users (email, name) VALUES (?, ?)", "w2user" + std::to_string(i) + "@example.com", "Name");
    std::vector<Post> all;
    for (int u = 1; u <= w2Users; ++u)
      for (int k = 0; k < 10; ++k) all.push_back(Post{{}, 0, u, title, body});
    Post::createMany(db, std::move(all));
    ok &= report("W2", measure(repeats, [&] { return workload_w2_raw(kith::sqlite::handle(db)); }),
                 measure(repeats, [&] { return workload_w2_kith(db); }));
  }

  auto db = freshDatabase();
  for (int i = 1; i < users; ++i)
    db.execute("INSERT INTO users (email, name) VALUES (?, ?)", "user" + std::to_string(i) + "@example.com", "Name");
  std::mt19937_64 random(42);
  std::vector<std::int64_t> keys(static_cast<std::size_t>(users));
  for (auto& k : keys) k = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(users)) + 1;
  ok &= report("W3", measure(repeats, [&] { return workload_w3_raw(kith::sqlite::handle(db), keys); }),
               measure(repeats, [&] { return workload_w3_kith(db, keys); }));
  return ok ? 0 : 1;
}
