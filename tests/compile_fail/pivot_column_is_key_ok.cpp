// Twin of pivot_column_is_key.cpp: a pivot column of another name compiles.
#include "pivot_models.hpp"
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{}, Award> badges;
  static constexpr auto columns = kith::columns<&Member::id>;
};
void f(Member& m) { m.related<&Member::badges>().attach({1}); }
