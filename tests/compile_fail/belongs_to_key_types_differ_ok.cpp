// The twin of belongs_to_key_types_differ.cpp: a std::optional of the owner key's type compiles.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::optional<std::int64_t> authorId;
  kith::BelongsTo<Author> author;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f() { Post::query(kith::Connection{}).has<&Post::author>(); }
