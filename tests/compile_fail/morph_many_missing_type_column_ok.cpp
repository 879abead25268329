// Twin of morph_many_missing_type_column.cpp: both columns declared.
#include <kith/kith.hpp>
struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::string commentableType;
  std::int64_t commentableId{};
  static constexpr auto columns = kith::columns<&Comment::id, &Comment::commentableType, &Comment::commentableId>;
};
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  kith::MorphMany<Comment, kith::morph{.name = "commentable"}> comments;
  static constexpr auto columns = kith::columns<&Post::id>;
};
void f(Post& p) { (void)p.related<&Post::comments>().create(Comment{}); }
