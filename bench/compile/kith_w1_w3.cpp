// Compile-time probe (issue 4's target): the two benchmark models doing W1-W3 with kith. Its twin
// raw_w1_w3.cpp does the same with the sqlite3 C API. Measured by bench/compile/measure.sh; not run.
#include <kith/kith.hpp>

#include <cstdio>
#include <vector>

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

int main() {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)");
  db.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL)");
  auto user = User::create(db, {.email = "virk@adonisjs.com", .name = "Virk"});

  // W1: createMany through the relation.
  std::vector<Post> rows;
  for (int i = 0; i < 100; ++i) rows.push_back({.title = "Post " + std::to_string(i), .body = "body"});
  const auto posts = user.related<&User::posts>().createMany(std::move(rows));

  // W2: every user with their posts.
  std::size_t loaded = 0;
  for (const auto& u : User::query(db).preload<&User::posts>().all()) loaded += u.posts.size();

  // W3: lookups by primary key.
  std::int64_t found = 0;
  for (std::int64_t key = 1; key <= 10; ++key)
    if (auto u = User::find(db, key)) found += u->id;

  std::printf("%zu created, %zu loaded, %lld found\n", posts.size(), loaded, static_cast<long long>(found));
}
