// Twin of morph_to_get_unlisted.cpp: a listed owner type.
#include <kith/kith.hpp>
struct Post;
struct Video;
struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::optional<std::string> commentableType;
  std::optional<std::int64_t> commentableId;
  kith::MorphTo<Post, Video> commentable;
  static constexpr auto columns = kith::columns<&Comment::id, &Comment::commentableType, &Comment::commentableId>;
};
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  static constexpr auto columns = kith::columns<&Post::id>;
};
struct Video : kith::BaseModel<Video> {
  std::int64_t id{};
  static constexpr auto columns = kith::columns<&Video::id>;
};
std::int64_t f(const Comment& c) { return c.commentable.get<Video>().id; }
