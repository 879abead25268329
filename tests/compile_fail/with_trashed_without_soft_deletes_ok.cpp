// Twin of with_trashed_without_soft_deletes.cpp: the model declares its soft deletes.
#include <chrono>
#include <kith/kith.hpp>
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::string title;
  std::optional<std::chrono::sys_seconds> deletedAt;
  static constexpr auto columns = kith::columns<&Post::id, &Post::title, &Post::deletedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Post::deletedAt>;
};
void f(const kith::Connection& db) { (void)Post::query(db).withTrashed().all(); }
