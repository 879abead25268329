// The twin of belongs_to_local_key.cpp: the owner key is .ownerKey.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  kith::BelongsTo<Author, kith::keys{.ownerKey = "id"}> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
