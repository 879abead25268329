// The twin of belongs_to_missing_foreign_key.cpp: naming the column that holds the key compiles.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t writerId{};
  kith::BelongsTo<Author, kith::keys{.foreignKey = "writerId"}> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::writerId>;
};
void f(Post& p) { p.related<&Post::author>().query(); }
