// Twin of scope_of_other_model.cpp: the scope applied to its own model's query.
#include "model.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  bool published{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::published>;
  static void published_(kith::Query<Post>& q) { q.where<&Post::published>(true); }
};
void f(const kith::Connection& db) { Post::query(db).apply<&Post::published_>(); }
