// Models for the join compile-fail tests: posts with an author, and a class that is no model.
#pragma once
#include <kith/kith.hpp>

struct Writer : kith::BaseModel<Writer> {
  std::int64_t id{};
  std::string email;
  std::optional<std::int64_t> mentorId;
  static constexpr auto columns = kith::columns<&Writer::id, &Writer::email, &Writer::mentorId>;
};

struct Article : kith::BaseModel<Article> {
  std::int64_t id{};
  std::int64_t writerId{};
  std::string title;
  static constexpr auto columns = kith::columns<&Article::id, &Article::writerId, &Article::title>;
};

struct NotAModel {
  std::int64_t id{};
};
