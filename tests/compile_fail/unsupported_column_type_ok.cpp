// Twin of unsupported_column_type.cpp: the same model once column_traits knows the type.
#include <vector>
#include "model.hpp"
struct Tags {
  std::vector<int> values;
};
template <>
struct kith::column_traits<Tags> {
  using storage = std::string;
  static storage to(const Tags& t) { return std::to_string(t.values.size()); }
  static Tags from(const storage&) { return {}; }
};
struct Tagged : kith::BaseModel<Tagged> {
  std::int64_t id{};
  Tags tags;
  static constexpr auto columns = kith::columns<&Tagged::id, &Tagged::tags>;
};
void f(const kith::Connection& db) { Tagged::query(db).all(); }
