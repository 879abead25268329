// Models for the BelongsTo and HasOne tests: users with a profile (HasOne) and posts (HasMany),
// posts that belong to an author (an optional foreign key), profiles that belong to a user (a
// required one), a self relation (a user's manager) and a relation on a custom owner key.
#pragma once

#include "support.hpp"

namespace people {

struct Profile;
struct Post;
struct Membership;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::optional<std::int64_t> managerId;
  kith::HasOne<Profile> profile;                                          // Profile::userId -> User::id
  kith::HasMany<Post> posts;                                              // Post::userId -> User::id
  kith::BelongsTo<User, kith::keys{.foreignKey = "managerId"}> manager;   // a self relation
  kith::HasOne<User, kith::keys{.foreignKey = "managerId"}> firstReport;  // its inverse, one-valued

  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::managerId>;
};

struct Profile : kith::BaseModel<Profile> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string bio;
  kith::BelongsTo<User> user;

  static constexpr auto columns = kith::columns<&Profile::id, &Profile::userId, &Profile::bio>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::optional<std::int64_t> userId;
  std::string title;
  std::int64_t views{};
  kith::BelongsTo<User> author;  // foreign key userId, by default

  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::views>;
};

struct Club : kith::BaseModel<Club> {
  std::int64_t id{};
  std::string code;
  kith::HasOne<Membership, kith::keys{.foreignKey = "clubCode", .localKey = "code"}> membership;

  static constexpr auto columns = kith::columns<&Club::id, &Club::code>;
};

struct Membership : kith::BaseModel<Membership> {
  std::int64_t id{};
  std::optional<std::string> clubCode;
  std::string name;
  kith::BelongsTo<Club, kith::keys{.foreignKey = "clubCode", .ownerKey = "code"}> club;

  static constexpr auto columns = kith::columns<&Membership::id, &Membership::clubCode, &Membership::name>;
};

/// Tables with constraints the failure tests rely on: users.email UNIQUE, profiles.bio and
/// posts.title non-empty, clubs.code UNIQUE.
inline void createSchema(const kith::Connection& db) {
  db.execute("CREATE TABLE users (" + test::idColumn() + ", email TEXT NOT NULL UNIQUE, manager_id BIGINT)");
  db.execute("CREATE TABLE profiles (" + test::idColumn() + ", user_id BIGINT NOT NULL, bio TEXT NOT NULL CHECK (bio <> ''))");
  db.execute("CREATE TABLE posts (" + test::idColumn() +
             ", user_id BIGINT, title TEXT NOT NULL CHECK (title <> ''), views BIGINT NOT NULL)");
  db.execute("CREATE TABLE clubs (" + test::idColumn() + ", code TEXT NOT NULL UNIQUE)");
  db.execute("CREATE TABLE memberships (" + test::idColumn() + ", club_code TEXT, name TEXT NOT NULL)");
}

inline kith::Connection database() {
  auto db = test::database();
  createSchema(db);
  return db;
}

inline User user(std::string email) {
  User u;
  u.email = std::move(email);
  return u;
}

inline Post post(std::string title, std::optional<std::int64_t> userId = std::nullopt) {
  Post p;
  p.title = std::move(title);
  p.userId = userId;
  return p;
}

inline Club club(std::string code) {
  Club c;
  c.code = std::move(code);
  return c;
}

}  // namespace people
