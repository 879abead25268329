// A scope is a function of a query of the model it is applied to; one written for another model
// is an error that says what apply<...>() takes.
// expect: kith: apply<scope>\(args...\) needs a function callable as scope\(kith::Query<Model>&, args...\)
// at most 2 errors
#include "model.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  bool published{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::published>;
  static void published_(kith::Query<Post>& q) { q.where<&Post::published>(true); }
};
void f(const kith::Connection& db) { User::query(db).apply<&Post::published_>(); }
