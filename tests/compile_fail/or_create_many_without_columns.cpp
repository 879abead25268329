// *OrCreate methods need at least one identifying column (Lucid silently matched every row).
// expect: kith: name the columns that identify a row
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string title;
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId, &Post::title>;
};
void f(Author& a) { a.related<&Author::posts>().updateOrCreateMany<>({Post{}}); }
