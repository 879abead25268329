// orderBy and select on a member that is not a declared column do not compile.
// expect: kith: this member is not a declared column of the model
// expect: &User::password
#include "model.hpp"
void f(const kith::Connection& db) { User::query(db).orderBy<&User::password>().all(); }
