// Models with relations, shared by the HasMany tests: users, posts, comments, a self relation,
// a second relation to the same type, and a relation on a custom local key.
#pragma once

#include "support.hpp"

namespace blog {

struct Post;
struct Comment;
struct Member;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::optional<std::int64_t> parentId;
  kith::HasMany<Post> posts;                                              // Post::userId -> User::id
  kith::HasMany<Post, kith::keys{.foreignKey = "editorId"}> editedPosts;  // a second relation to Post
  kith::HasMany<User, kith::keys{.foreignKey = "parentId"}> children;     // a self relation

  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::parentId>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::optional<std::int64_t> editorId;
  std::string title;
  std::string body;
  kith::HasMany<Comment> comments;

  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::editorId, &Post::title, &Post::body>;
};

struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::int64_t postId{};
  std::string body;

  static constexpr auto columns = kith::columns<&Comment::id, &Comment::postId, &Comment::body>;
};

struct Team : kith::BaseModel<Team> {
  std::int64_t id{};
  std::string uuid;
  kith::HasMany<Member, kith::keys{.foreignKey = "teamUuid", .localKey = "uuid"}> members;

  static constexpr auto columns = kith::columns<&Team::id, &Team::uuid>;
};

struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  std::string teamUuid;
  std::string name;

  static constexpr auto columns = kith::columns<&Member::id, &Member::teamUuid, &Member::name>;
};

/// Tables with constraints the failure tests rely on: users.email UNIQUE, posts.title non-empty.
inline void createSchema(const kith::Connection& db) {
  db.execute("CREATE TABLE users (" + test::idColumn() + ", email TEXT NOT NULL UNIQUE, parent_id BIGINT)");
  db.execute("CREATE TABLE posts (" + test::idColumn() +
             ", user_id BIGINT NOT NULL, editor_id BIGINT, title TEXT NOT NULL CHECK (title <> ''), body TEXT NOT NULL)");
  db.execute("CREATE TABLE comments (" + test::idColumn() + ", post_id BIGINT NOT NULL, body TEXT NOT NULL)");
  kith::createTables<Team, Member>(db);
}

/// A fresh database (test::database(): SQLite or PostgreSQL) with the blog's tables.
inline kith::Connection database() {
  auto db = test::database();
  createSchema(db);
  return db;
}

inline Post post(std::string title, std::string body = "Lorem Ipsum is simply dummy text") {
  Post p;
  p.title = std::move(title);
  p.body = std::move(body);
  return p;
}

inline User user(std::string email) {
  User u;
  u.email = std::move(email);
  return u;
}

}  // namespace blog
