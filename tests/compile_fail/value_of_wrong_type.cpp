// A value that does not convert to the column's type does not compile (no pointer-to-integer cast).
// expect: kith: this value cannot be stored in the column's type
#include "model.hpp"
void f(const kith::Connection& db) { User::query(db).where<&User::id>("seven").all(); }
