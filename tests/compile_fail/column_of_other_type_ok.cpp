// Twin of column_of_other_type.cpp.
#include "model.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::string title;
  static constexpr auto columns = kith::columns<&Post::id, &Post::title>;
};
void f(const kith::Connection& db) { Post::query(db).all(); }
