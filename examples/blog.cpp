// A blog in a SQLite file: a user writes posts through the relation, every user is read back with
// their posts in two queries, and every post with its author in two more.
#include <kith/kith.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

struct Post;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::optional<std::string> name;  // NULL-able column
  kith::HasMany<Post> posts;        // foreign key Post::userId -> User::id

  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;
  kith::BelongsTo<User> author;  // the inverse: Post::userId -> User::id

  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body>;
};

int main() {
  const auto dir = std::filesystem::temp_directory_path() / "kith-example";
  std::filesystem::create_directories(dir);
  const auto file = (dir / "blog.db").string();
  std::filesystem::remove(file);

  auto db = kith::sqlite::open(file);
  kith::createTables<User, Post>(db);
  int statements = 0;
  db.onQuery([&](const kith::QueryEvent&) { ++statements; });

  User virk{.email = "virk@adonisjs.com", .name = "Virk"};
  virk.related<&User::posts>(db).createMany({
      {.title = "Adonis 101", .body = "Lorem Ipsum is simply dummy text"},
      {.title = "NodeJS 101", .body = "Lorem Ipsum is simply dummy text"},
  });  // one transaction: INSERT the user, then both posts in one multi-row INSERT
  User romain{.email = "romain@adonisjs.com"};
  romain.related<&User::posts>(db).create({.title = "Lucid 101", .body = "..."});

  std::printf("wrote 2 users and 3 posts with %d statements\n", statements);
  statements = 0;
  for (const auto& user : User::query(db).orderBy<&User::id>().preload<&User::posts>().all()) {
    std::printf("%s <%s>\n", user.name.value_or("(no name)").c_str(), user.email.c_str());
    for (const auto& post : user.posts) std::printf("  #%lld %s\n", static_cast<long long>(post.id), post.title.c_str());
  }
  // Each post with its author: the 3 posts share the 2 User objects.
  for (const auto& post : Post::query(db).orderBy<&Post::id>().preload<&Post::author>().all())
    std::printf("%s, by %s\n", post.title.c_str(), post.author->email.c_str());
  std::printf("read them back with %d statements; database at %s\n", statements, file.c_str());
}
