// Twin of soft_deletes_not_optional.cpp: a std::optional of a UTC time.
#include <chrono>
#include <kith/kith.hpp>
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::optional<std::chrono::sys_seconds> deletedAt;
  static constexpr auto columns = kith::columns<&Post::id, &Post::deletedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Post::deletedAt>;
};
void f(const kith::Connection& db) { (void)Post::query(db).all(); }
