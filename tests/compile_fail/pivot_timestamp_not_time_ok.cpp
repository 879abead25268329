// Twin of pivot_timestamp_not_time.cpp: a sys_time member compiles.
#include <chrono>

#include "pivot_models.hpp"
struct Stamped {
  std::chrono::sys_seconds grantedAt{};
  static constexpr auto columns = kith::columns<&Stamped::grantedAt>;
};
struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  kith::ManyToMany<Badge, kith::pivot{.createdAt = "grantedAt"}, Stamped> badges;
  static constexpr auto columns = kith::columns<&Member::id>;
};
void f(Member& m) { m.related<&Member::badges>().attach({1}); }
