// Twin of has_on_column.cpp.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(const kith::Connection& db) { Author::query(db).has<&Author::posts>().all(); }
