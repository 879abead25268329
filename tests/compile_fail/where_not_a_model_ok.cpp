// Twin of where_not_a_model.cpp: a condition on a joined model's column compiles.
#include "join_models.hpp"
void f(const kith::Connection& db) { Article::query(db).join<&Article::writerId, &Writer::id>().where<&Writer::id>(1).all(); }
