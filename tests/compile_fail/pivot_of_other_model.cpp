// kith::pivotOf reads the pivot values a row of the relation's related model carries; a row of
// another model is a compile error that says so.
// expect: kith::pivotOf<&Parent::relation>\(row\): row must be a model of the relation's related type
// at most 2 errors
#include "pivot_models.hpp"
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{}, Award> badges;
  static constexpr auto columns = kith::columns<&Member::id>;
};
std::int64_t f(const Member& m) { return kith::pivotOf<&Member::badges>(m).points; }
