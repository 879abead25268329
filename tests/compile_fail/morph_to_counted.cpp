// withCount over a MorphTo would count 0 or 1: a compile error that says what to use.
// expect: kith: a MorphTo has one owner or none
// at most 2 errors
#include <kith/kith.hpp>
struct Post;
struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::optional<std::string> commentableType;
  std::optional<std::int64_t> commentableId;
  kith::MorphTo<Post> commentable;
  static constexpr auto columns = kith::columns<&Comment::id, &Comment::commentableType, &Comment::commentableId>;
};
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  static constexpr auto columns = kith::columns<&Post::id>;
};
void f(const kith::Connection& db) { (void)Comment::query(db).withCount<&Comment::commentable>().all(); }
