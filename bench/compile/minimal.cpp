// Compile-time probe (issue 15): the least a kith program does, open a database and run one query
// through one model. Its twin raw_minimal.cpp does the same with the sqlite3 C API. Measured by
// bench/compile/measure.sh; not run.
#include <kith/kith.hpp>

#include <cstdio>

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  static constexpr auto columns = kith::columns<&User::id, &User::email>;
};

int main() {
  auto db = kith::sqlite::open(":memory:");
  db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
  std::printf("%zu users\n", User::query(db).where<&User::email>("like", "%@example.com").all().size());
}
