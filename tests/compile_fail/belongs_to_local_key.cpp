// A BelongsTo given a .localKey (HasMany's name for the other side) does not compile.
// expect: kith: a BelongsTo names its keys with .foreignKey and .ownerKey
// at most 2 errors
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  kith::BelongsTo<Author, kith::keys{.localKey = "id"}> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
