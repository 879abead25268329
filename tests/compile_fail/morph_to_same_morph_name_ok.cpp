// Twin of morph_to_same_morph_name.cpp: the second owner type keeps a name of its own.
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
  static constexpr std::string_view morphName = "article";
};
void f(const kith::Connection& db) { (void)Comment::query(db).preload<&Comment::commentable>().all(); }
