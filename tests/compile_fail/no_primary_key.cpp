// A model without an `id` column or a primaryKey override does not compile.
// at most 1 error
// expect: kith: this model has no primary key column
// expect: static constexpr auto primaryKey = &Model::member
#include "model.hpp"
struct Country : kith::BaseModel<Country> {
  std::string code;
  static constexpr auto columns = kith::columns<&Country::code>;
};
void f(const kith::Connection& db) { Country::query(db).all(); }
