// A MorphMany whose related model lacks the type column: an error naming the column to declare,
// rather than SQL that fails at run time.
// expect: kith: the polymorphic relation's type column is not a declared column of the related model
// at most 2 errors
#include <kith/kith.hpp>
struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::int64_t commentableId{};
  static constexpr auto columns = kith::columns<&Comment::id, &Comment::commentableId>;
};
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  kith::MorphMany<Comment, kith::morph{.name = "commentable"}> comments;
  static constexpr auto columns = kith::columns<&Post::id>;
};
void f(Post& p) { (void)p.related<&Post::comments>().create(Comment{}); }
