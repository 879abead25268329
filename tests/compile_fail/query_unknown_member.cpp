// A condition on a member that is not a declared column does not compile.
// expect: kith: this member is not a declared column of the model
// expect: &User::password
#include "model.hpp"
void f(const kith::Connection& db) { User::query(db).where<&User::password>("secret").all(); }
