// A condition on a member of a class that is no kith model does not compile.
// expect: kith: this member belongs to a class that is not a kith model
// at most 1 error
#include "join_models.hpp"
void f(const kith::Connection& db) { Article::query(db).where<&NotAModel::id>(1).all(); }
