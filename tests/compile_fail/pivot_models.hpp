// Models for the ManyToMany compile-fail tests.
#pragma once
#include <kith/kith.hpp>

struct Badge : kith::BaseModel<Badge> {
  std::int64_t id{};
  std::string name;
  static constexpr auto columns = kith::columns<&Badge::id, &Badge::name>;
};
struct Award {
  std::int64_t points{};
  static constexpr auto columns = kith::columns<&Award::points>;
};
