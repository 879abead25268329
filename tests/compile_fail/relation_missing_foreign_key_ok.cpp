// Twin of relation_missing_foreign_key.cpp: with Post::authorId declared it compiles.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(Author& a) { a.related<&Author::posts>().query(); }
