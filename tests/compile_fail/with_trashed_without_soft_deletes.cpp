// withTrashed() on a model that declares no soft deletes would read what it always reads: an
// error that says which declaration it needs.
// expect: kith: withTrashed\(\), onlyTrashed\(\), restore\(\), forceDelete\(\) and trashed\(\) are for models that declare
// at most 2 errors
#include <kith/kith.hpp>
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::string title;
  static constexpr auto columns = kith::columns<&Post::id, &Post::title>;
};
void f(const kith::Connection& db) { (void)Post::query(db).withTrashed().all(); }
