// A join compares two columns of one type: a text column against an integer key does not compile.
// expect: kith: join<&A::column, &B::column>\(\) compares two columns of different types
// at most 1 error
#include "join_models.hpp"
void f(const kith::Connection& db) { Article::query(db).join<&Article::title, &Writer::id>().all(); }
