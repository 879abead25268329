// A migration's column of a C++ type kith cannot store does not compile, and says which types it can.
// at most 1 error
// expect: kith: a migration's column must be of a type kith can store
#include <kith/migrate.hpp>

#include <vector>

kith::Migration tags{"2026_12_05_tags",
                     [](kith::Schema& s) { s.alterTable("posts", [](kith::TableChanges& t) { t.addColumn<std::vector<int>>("tags"); }); }};
