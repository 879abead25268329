// A member of another type in `columns` does not compile.
// at most 1 error
// expect: kith: a member in this model's `columns` belongs to another type
// expect: Post
#include "model.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::string title;
  static constexpr auto columns = kith::columns<&Post::id, &User::email>;
};
void f(const kith::Connection& db) { Post::query(db).all(); }
