// Twin of morph_to_counted.cpp: has<...>() without a count.
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
void f(const kith::Connection& db) { (void)Comment::query(db).has<&Comment::commentable>().all(); }
