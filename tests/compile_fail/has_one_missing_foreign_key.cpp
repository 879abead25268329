// A HasOne whose foreign key is not a column of the related model does not compile.
// expect: kith: the relation's foreign key is not a declared column of the related model
// expect: &Account::profile
// expect: Profile
// at most 2 errors
#include <kith/kith.hpp>
struct Profile;
struct Account : kith::BaseModel<Account> {
  std::int64_t id{};
  kith::HasOne<Profile> profile;  // looks for Profile::accountId
  static constexpr auto columns = kith::columns<&Account::id>;
};
struct Profile : kith::BaseModel<Profile> {
  std::int64_t id{};
  std::int64_t ownerId{};
  static constexpr auto columns = kith::columns<&Profile::id, &Profile::ownerId>;
};
void f(Account& a) { a.load<&Account::profile>(); }
