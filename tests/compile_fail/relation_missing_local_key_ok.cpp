// Twin of relation_missing_local_key.cpp: the local key names a declared column.
#include <kith/kith.hpp>
struct Player;
struct Team : kith::BaseModel<Team> {
  std::int64_t id{};
  std::string code;
  kith::HasMany<Player, kith::keys{.foreignKey = "teamCode", .localKey = "code"}> players;
  static constexpr auto columns = kith::columns<&Team::id, &Team::code>;
};
struct Player : kith::BaseModel<Player> {
  std::int64_t id{};
  std::string teamCode;
  static constexpr auto columns = kith::columns<&Player::id, &Player::teamCode>;
};
void f(const kith::Connection& db) { Team::query(db).preload<&Team::players>().all(); }
