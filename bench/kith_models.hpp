// The benchmark's schema as kith models, shared by the SQLite (kith.cpp) and PostgreSQL
// (postgres.cpp) benchmarks: users(id, email, name) with many posts(id, user_id, title, body).
// Each benchmark program includes it from one file; the unnamed namespace keeps the models
// internal to it, as when each file declared its own (external linkage costs W3 0.6 %).
#pragma once

#include <kith/kith.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace bench::models {
namespace {

struct Post;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::string name;
  kith::HasMany<Post> posts;
  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;
  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body>;
};

/// The posts table again, with the posts' author (a BelongsTo), for W6; a model of its own so that
/// the other workloads' Post stays as it was.
struct AuthoredPost : kith::BaseModel<AuthoredPost> {
  static constexpr std::string_view table = "posts";
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;
  kith::BelongsTo<User> author;
  static constexpr auto columns = kith::columns<&AuthoredPost::id, &AuthoredPost::userId, &AuthoredPost::title, &AuthoredPost::body>;
};

struct Tag : kith::BaseModel<Tag> {
  std::int64_t id{};
  std::string name;
  static constexpr auto columns = kith::columns<&Tag::id, &Tag::name>;
};

/// The posts table again, with its tags through post_tag (a ManyToMany), for W7.
struct TaggedPost : kith::BaseModel<TaggedPost> {
  static constexpr std::string_view table = "posts";
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;
  kith::ManyToMany<Tag, kith::pivot{.table = "post_tag", .foreignKey = "post_id"}> tags;
  static constexpr auto columns = kith::columns<&TaggedPost::id, &TaggedPost::userId, &TaggedPost::title, &TaggedPost::body>;
};

struct Video : kith::BaseModel<Video> {
  std::int64_t id{};
  std::string title;
  static constexpr auto columns = kith::columns<&Video::id, &Video::title>;
};

/// W10's comments: each on a post or a video (a MorphTo over two owner types).
struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::string body;
  std::optional<std::string> commentableType;
  std::optional<std::int64_t> commentableId;
  kith::MorphTo<Post, Video> commentable;
  static constexpr auto columns = kith::columns<&Comment::id, &Comment::body, &Comment::commentableType, &Comment::commentableId>;
};

}  // namespace
}  // namespace bench::models
