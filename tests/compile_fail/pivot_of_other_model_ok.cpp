// Twin of pivot_of_other_model.cpp: a row of the related model compiles.
#include "pivot_models.hpp"
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{}, Award> badges;
  static constexpr auto columns = kith::columns<&Member::id>;
};
std::int64_t f(const Badge& b) { return kith::pivotOf<&Member::badges>(b).points; }
