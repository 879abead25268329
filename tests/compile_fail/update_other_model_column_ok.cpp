// Twin of update_other_model_column.cpp: the queried model's own column compiles.
#include "join_models.hpp"
void f(const kith::Connection& db) { Article::query(db).join<&Article::writerId, &Writer::id>().update(kith::set<&Article::title>("x")); }
