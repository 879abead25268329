// A BelongsTo whose foreign key is not a column of the declaring model does not compile.
// expect: kith: the BelongsTo's foreign key is not a declared column of the model that declares the relation
// expect: &Post::author
// expect: Author
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t writerId{};
  kith::BelongsTo<Author> author;  // looks for authorId
  static constexpr auto columns = kith::columns<&Post::id, &Post::writerId>;
};
void f(Post& p) { p.related<&Post::author>().query(); }
