// Two owner types of one MorphTo whose rows would carry the same morph name could not be told
// apart: a compile error that says how to give one another name.
// expect: kith: two owner types of this MorphTo have the same morph name
// at most 2 errors
#include <kith/kith.hpp>
struct Post;
struct Article;
struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::optional<std::string> commentableType;
  std::optional<std::int64_t> commentableId;
  kith::MorphTo<Post, Article> commentable;
  static constexpr auto columns = kith::columns<&Comment::id, &Comment::commentableType, &Comment::commentableId>;
};
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  static constexpr auto columns = kith::columns<&Post::id>;
};
struct Article : kith::BaseModel<Article> {
  std::int64_t id{};
  static constexpr auto columns = kith::columns<&Article::id>;
  static constexpr std::string_view morphName = "posts";
};
void f(const kith::Connection& db) { (void)Comment::query(db).preload<&Comment::commentable>().all(); }
