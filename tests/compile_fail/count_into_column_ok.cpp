// Twin of count_into_column.cpp: the count goes to a member that is not a column.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(const kith::Connection& db) { Author::query(db).withCount<&Author::posts, &Author::postsCount>().all(); }
