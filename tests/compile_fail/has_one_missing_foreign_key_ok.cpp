// The twin of has_one_missing_foreign_key.cpp: naming the foreign key compiles.
#include <kith/kith.hpp>
struct Profile;
struct Account : kith::BaseModel<Account> {
  std::int64_t id{};
  kith::HasOne<Profile, kith::keys{.foreignKey = "ownerId"}> profile;
  static constexpr auto columns = kith::columns<&Account::id>;
};
struct Profile : kith::BaseModel<Profile> {
  std::int64_t id{};
  std::int64_t ownerId{};
  static constexpr auto columns = kith::columns<&Profile::id, &Profile::ownerId>;
};
void f(Account& a) { a.load<&Account::profile>(); }
