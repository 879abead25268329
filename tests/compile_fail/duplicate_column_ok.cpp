// Twin of duplicate_column.cpp.
#include "model.hpp"
struct Tag : kith::BaseModel<Tag> {
  std::int64_t id{};
  std::string name;
  static constexpr auto columns = kith::columns<&Tag::id, &Tag::name>;
};
void f(const kith::Connection& db) { Tag::query(db).all(); }
