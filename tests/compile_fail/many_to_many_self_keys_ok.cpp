// Twin of many_to_many_self_keys.cpp: with both pivot columns named, it compiles.
#include "pivot_models.hpp"
struct Person : kith::BaseModel<Person> {
  std::int64_t id{};
  kith::ManyToMany<Person, kith::pivot{.table = "friendships", .foreignKey = "person_id", .relatedForeignKey = "friend_id"}> friends;
  static constexpr auto columns = kith::columns<&Person::id>;
};
void f(const kith::Connection& db) { Person::query(db).preload<&Person::friends>().all(); }
