// The twin of belongs_to_missing_owner_key.cpp: an owner key that is a column compiles.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  kith::BelongsTo<Author, kith::keys{.ownerKey = "id"}> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f() { Post::query(kith::Connection{}).preload<&Post::author>(); }
