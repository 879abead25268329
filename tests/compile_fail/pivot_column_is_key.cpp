// A pivot columns struct may not declare a key column: the relation writes those itself.
// expect: kith: the ManyToMany's pivot columns struct declares a column named like one of the pivot's two key columns
// at most 2 errors
#include "pivot_models.hpp"
struct Grant {
  std::int64_t badgeId{};  // badge_id: the related key column
  static constexpr auto columns = kith::columns<&Grant::badgeId>;
};
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{}, Grant> badges;
  static constexpr auto columns = kith::columns<&Member::id>;
};
void f(Member& m) { m.related<&Member::badges>().attach({1}); }
