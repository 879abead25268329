// updatePivot() sets pivot columns; a column of the related model is saved through the model.
// expect: kith: updatePivot\(\) sets columns of the relation's pivot columns struct
// at most 2 errors
#include "pivot_models.hpp"
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{}, Award> badges;
  static constexpr auto columns = kith::columns<&Member::id>;
};
void f(Member& m) { m.related<&Member::badges>().updatePivot(1, kith::set<&Badge::name>("x")); }
