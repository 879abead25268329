// A blog in a SQLite file: users and their posts, written and read back through kith.
#include <kith/kith.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

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
  virk.save(db);
  Post::createMany(db, {
                           {.userId = virk.id, .title = "Adonis 101", .body = "Lorem Ipsum is simply dummy text"},
                           {.userId = virk.id, .title = "NodeJS 101", .body = "Lorem Ipsum is simply dummy text"},
                       });

  for (const auto& user : User::query(db).orderBy<&User::id>().all()) {
    std::printf("%s <%s>\n", user.name.value_or("(no name)").c_str(), user.email.c_str());
    for (const auto& post : Post::query(db).where<&Post::userId>(user.id).orderBy<&Post::id>().all())
      std::printf("  #%lld %s\n", static_cast<long long>(post.id), post.title.c_str());
  }
  std::printf("%d statements, database at %s\n", statements, file.c_str());
}
