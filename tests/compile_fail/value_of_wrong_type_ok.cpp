// Twin of value_of_wrong_type.cpp: integers, string views and nullopt convert.
#include <string_view>

#include "model.hpp"
void f(const kith::Connection& db) {
  User::query(db).where<&User::id>(7).where<&User::email>(std::string_view("a")).where<&User::email>("b").all();
}
