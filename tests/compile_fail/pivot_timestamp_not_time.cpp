// A pivot timestamp must name a time member of the pivot columns struct.
// expect: kith: the ManyToMany's createdAt/updatedAt must name members of its pivot columns struct
// at most 2 errors
#include "pivot_models.hpp"
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{.createdAt = "points"}, Award> badges;  // points is an integer
  static constexpr auto columns = kith::columns<&Member::id>;
};
void f(Member& m) { m.related<&Member::badges>().attach({1}); }
