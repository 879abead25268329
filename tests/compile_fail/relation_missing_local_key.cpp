// A relation whose local key is not a column of the parent does not compile.
// expect: kith: the relation's local key is not a declared column of the parent model
// expect: &Team::players
// at most 2 errors
#include <kith/kith.hpp>
struct Player;
struct Team : kith::BaseModel<Team> {
  std::int64_t id{};
  std::string code;
  kith::HasMany<Player, kith::keys{.foreignKey = "teamCode", .localKey = "uuid"}> players;
  static constexpr auto columns = kith::columns<&Team::id, &Team::code>;
};
struct Player : kith::BaseModel<Player> {
  std::int64_t id{};
  std::string teamCode;
  static constexpr auto columns = kith::columns<&Player::id, &Player::teamCode>;
};
void f(const kith::Connection& db) { Team::query(db).preload<&Team::players>().all(); }
