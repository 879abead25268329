// The soft-delete column must be able to say "not trashed": a std::optional of a time. A
// non-optional one is an error that says what the column must be.
// expect: kith: `static constexpr auto softDeletes = kith::softDeletes<&Model::deletedAt>;` names the column that marks a row trashed
// at most 2 errors
#include <chrono>
#include <kith/kith.hpp>
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::chrono::sys_seconds deletedAt{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::deletedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Post::deletedAt>;
};
void f(const kith::Connection& db) { (void)Post::query(db).all(); }
