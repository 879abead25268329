// related<...>() on a member that is not a relation does not compile.
// expect: kith: related<...>\(\), preload<...>\(\) and load<...>\(\) need a relation member
// expect: &Author::email
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(Author& a) { a.related<&Author::email>(); }
