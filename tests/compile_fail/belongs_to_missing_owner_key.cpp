// A BelongsTo whose owner key is not a column of the related model does not compile.
// expect: kith: the BelongsTo's owner key is not a declared column of the related model
// expect: &Post::author
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  kith::BelongsTo<Author, kith::keys{.ownerKey = "uuid"}> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f() { Post::query(kith::Connection{}).preload<&Post::author>(); }
