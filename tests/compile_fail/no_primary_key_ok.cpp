// Twin of no_primary_key.cpp.
#include "model.hpp"
struct Country : kith::BaseModel<Country> {
  std::string code;
  static constexpr auto primaryKey = &Country::code;
  static constexpr auto columns = kith::columns<&Country::code>;
};
void f(const kith::Connection& db) { Country::query(db).all(); }
