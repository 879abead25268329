// Twin of or_create_many_without_columns.cpp.
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string title;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId, &Post::title>;
};
void f(Author& a) { a.related<&Author::posts>().updateOrCreateMany<&Post::title>({Post{}}); }
