// dissociate() on a BelongsTo whose foreign key cannot hold NULL does not compile.
// expect: kith: dissociate\(\) sets the foreign key to NULL, but it is not a std::optional column
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  kith::BelongsTo<Author> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(Post& p) { p.related<&Post::author>().dissociate(); }
