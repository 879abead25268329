// Twin of order_by_unknown_member.cpp.
#include "model.hpp"
void f(const kith::Connection& db) { User::query(db).orderBy<&User::email>().select<&User::id>().all(); }
