// A relation whose foreign key is not a column of the related model does not compile.
// expect: kith: the relation's foreign key is not a declared column of the related model
// expect: &Author::posts
// expect: Post
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t writerId{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::writerId>;
};
void f(Author& a) { a.related<&Author::posts>().query(); }
