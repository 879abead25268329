// A model related to itself through a pivot must name both pivot columns: both would default to
// person_id. The message says so and names the relation.
// expect: kith: the ManyToMany's two pivot key columns have the same name
// expect: &Person::friends
// at most 2 errors
#include "pivot_models.hpp"
struct Person : kith::BaseModel<Person> {
  std::int64_t id{};
  kith::ManyToMany<Person, kith::pivot{.table = "friendships"}> friends;
  static constexpr auto columns = kith::columns<&Person::id>;
};
void f(const kith::Connection& db) { Person::query(db).preload<&Person::friends>().all(); }
