// A column whose type kith cannot store does not compile, and says how to teach it.
// at most 1 error
// expect: kith: this column's C\+\+ type is not supported
// expect: specialize kith::column_traits<T>
// expect: &Tagged::tags
#include <vector>
#include "model.hpp"
struct Tagged : kith::BaseModel<Tagged> {
  std::int64_t id{};
  std::vector<int> tags;
  static constexpr auto columns = kith::columns<&Tagged::id, &Tagged::tags>;
};
void f(const kith::Connection& db) { Tagged::query(db).all(); }
