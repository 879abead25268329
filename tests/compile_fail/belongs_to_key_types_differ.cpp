// A BelongsTo whose foreign key and owner key have different types does not compile.
// expect: kith: the BelongsTo's foreign key and owner key have different types
// expect: &Post::author
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::string authorId;
  kith::BelongsTo<Author> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f() { Post::query(kith::Connection{}).has<&Post::author>(); }
