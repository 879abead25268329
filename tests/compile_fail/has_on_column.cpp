// has<...>() (and whereHas, withCount, withAggregate) on a member that is not a relation does not compile.
// expect: kith: has<...>\(\), whereHas<...>\(\), withCount<...>\(\) and withAggregate<...>\(\) need a relation member
// expect: &Author::email
#include "relation_models.hpp"
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t authorId{};
  static constexpr auto columns = kith::columns<&Post::id, &Post::authorId>;
};
void f(const kith::Connection& db) { Author::query(db).has<&Author::email>().all(); }
