// withCount into a persisted column does not compile: the count would be saved as the column's value.
// expect: kith: the member that receives a relation count or aggregate must not be one of the model's columns
// expect: &Author::id
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(const kith::Connection& db) { Author::query(db).withCount<&Author::posts, &Author::id>().all(); }
