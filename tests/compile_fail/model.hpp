// The models the compile-fail tests misuse.
#pragma once
#include <kith/kith.hpp>

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::string password;  // deliberately not a column
  static constexpr auto columns = kith::columns<&User::id, &User::email>;
};
