// Compile-time probe: one TU using all three relation kinds (HasMany, HasOne, BelongsTo): writes
// through each client, preloads across kinds, relationship queries. Measured by
// bench/compile/measure.sh; not run.
#include <kith/kith.hpp>

#include <cstdio>

struct Post;
struct Profile;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  kith::HasMany<Post> posts;
  kith::HasOne<Profile> profile;
  static constexpr auto columns = kith::columns<&User::id, &User::email>;
  static constexpr auto relations = kith::relations<&User::posts, &User::profile>;
};

struct Profile : kith::BaseModel<Profile> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string bio;
  static constexpr auto columns = kith::columns<&Profile::id, &Profile::userId, &Profile::bio>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::optional<std::int64_t> userId;
  std::string title;
  kith::BelongsTo<User> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title>;
};

int main() {
  auto db = kith::sqlite::open(":memory:");
  kith::createTables<User, Profile, Post>(db);
  User user{.email = "virk@adonisjs.com"};
  user.related<&User::posts>(db).createMany({{.title = "Adonis 101"}, {.title = "Lucid 101"}});
  user.related<&User::profile>().firstOrCreate<>({.bio = "Hi"});
  Post orphan{.title = "Orphan"};
  orphan.useConnection(db);
  orphan.related<&Post::author>().associate(user);
  orphan.related<&Post::author>().dissociate();
  auto users = User::query(db).preload<&User::posts>([](auto& q) { q.template preload<&Post::author>(); }).preload<&User::profile>().all();
  auto posts = Post::query(db).has<&Post::author>().withCount<&Post::author>().preload<&Post::author>().all();
  std::printf("%zu %zu %s\n", users.size(), posts.size(), posts.empty() || !posts[0].author ? "" : posts[0].author->email.c_str());
}
