// Twin of query_unknown_member.cpp: the same condition on a declared column compiles.
#include "model.hpp"
void f(const kith::Connection& db) { User::query(db).where<&User::email>("secret").all(); }
