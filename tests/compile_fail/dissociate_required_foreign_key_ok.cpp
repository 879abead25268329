// The twin of dissociate_required_foreign_key.cpp: an optional foreign key can be cleared.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::optional<std::int64_t> authorId;
  kith::BelongsTo<Author> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(Post& p) { p.related<&Post::author>().dissociate(); }
