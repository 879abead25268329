// The twin of migration_column_type.cpp: a migration's column of a type kith stores compiles.
#include <kith/migrate.hpp>

#include <vector>

kith::Migration tags{"2026_12_05_tags", [](kith::Schema& s) {
                       s.alterTable("posts", [](kith::TableChanges& t) { t.addColumn<std::optional<std::string>>("tags"); });
                     }};
