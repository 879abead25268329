// Compile-time probe: a translation unit with four related models doing what an application does
// with them (create through relations, preload two levels, query, update). Measured by
// bench/compile/measure.sh; not run.
#include <kith/kith.hpp>

#include <cstdio>

struct Post;
struct Comment;
struct Tag;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::optional<std::string> name;
  kith::HasMany<Post> posts;
  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
  static constexpr auto relations = kith::relations<&User::posts>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;
  kith::HasMany<Comment> comments;
  kith::HasMany<Tag> tags;
  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body>;
  static constexpr auto relations = kith::relations<&Post::comments, &Post::tags>;
};

struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::int64_t postId{};
  std::string body;
  static constexpr auto columns = kith::columns<&Comment::id, &Comment::postId, &Comment::body>;
};

struct Tag : kith::BaseModel<Tag> {
  std::int64_t id{};
  std::int64_t postId{};
  std::string label;
  static constexpr auto columns = kith::columns<&Tag::id, &Tag::postId, &Tag::label>;
};

int main() {
  auto db = kith::sqlite::open(":memory:");
  kith::createTables<User, Post, Comment, Tag>(db);
  User user{.email = "virk@adonisjs.com"};
  auto posts = user.related<&User::posts>(db).createMany({{.title = "Adonis 101"}, {.title = "Lucid 101"}});
  posts[0].related<&Post::comments>().create({.body = "Nice"});
  posts[0].related<&Post::tags>().fetchOrCreateMany<&Tag::label>({{.label = "orm"}, {.label = "c++"}});
  auto users =
      User::query(db).preload<&User::posts>([](auto& q) { q.template preload<&Post::comments>().template preload<&Post::tags>(); }).all();
  Post::query(db).where<&Post::title>("like", "%101").update(kith::set<&Post::body>("updated"));
  std::printf("%zu users, %zu posts\n", users.size(), users[0].posts.size());
}
