// Models for the relation compile-fail tests. KITH_POST_FOREIGN_KEY and friends vary per test.
#pragma once
#include <kith/kith.hpp>

struct Post;
struct Author : kith::BaseModel<Author> {
  std::int64_t id{};
  std::string email;
  kith::HasMany<Post> posts;
  std::int64_t postsCount = 0;  // not a column: receives withCount
  static constexpr auto columns = kith::columns<&Author::id, &Author::email>;
};
