// A join of a model with itself needs a table alias, which joins do not take: a clear error.
// expect: kith: join<...>\(\) of a model with itself needs a table alias
// at most 1 error
#include "join_models.hpp"
void f(const kith::Connection& db) { Writer::query(db).join<&Writer::mentorId, &Writer::id>().all(); }
