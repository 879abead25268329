// Twin of relation_key_types_differ.cpp: an optional of the local key's type is accepted.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::optional<std::int64_t> authorId;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(Author& a) { a.related<&Author::posts>().create({}); }
