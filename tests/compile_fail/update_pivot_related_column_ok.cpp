// Twin of update_pivot_related_column.cpp: a pivot column compiles.
#include "pivot_models.hpp"
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{}, Award> badges;
  static constexpr auto columns = kith::columns<&Member::id>;
};
void f(Member& m) { m.related<&Member::badges>().updatePivot(1, kith::set<&Award::points>(3)); }
