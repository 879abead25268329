// A foreign key whose type differs from the local key's does not compile.
// expect: kith: the relation's foreign key and local key have different types
// expect: &Author::posts
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::string authorId;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(Author& a) { a.related<&Author::posts>().create({}); }
