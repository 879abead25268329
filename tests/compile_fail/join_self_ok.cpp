// Twin of join_self.cpp: the same optional key joined to another model compiles.
#include "join_models.hpp"
void f(const kith::Connection& db) { Writer::query(db).join<&Writer::mentorId, &Article::id>().all(); }
