// A member listed twice in `columns` does not compile.
// at most 1 error
// expect: kith: this model's `columns` lists a member twice
#include "model.hpp"
struct Tag : kith::BaseModel<Tag> {
  std::int64_t id{};
  std::string name;
  static constexpr auto columns = kith::columns<&Tag::id, &Tag::name, &Tag::name>;
};
void f(const kith::Connection& db) { Tag::query(db).all(); }
