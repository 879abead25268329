// update() sets the queried model's columns; another model's (even a joined one's) does not compile.
// expect: kith: update\(\) sets columns of the queried model
// at most 1 error
#include "join_models.hpp"
void f(const kith::Connection& db) { Article::query(db).join<&Article::writerId, &Writer::id>().update(kith::set<&Writer::email>("x")); }
