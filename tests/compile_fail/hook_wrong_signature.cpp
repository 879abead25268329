// A hook kith cannot call (here it takes the wrong type) is an error that says how to declare it,
// never a hook silently left out.
// expect: kith: this model's beforeSave is not a hook kith can call; declare it `static void beforeSave\(Model&\)`
// at most 2 errors
#include <kith/kith.hpp>
struct Account : kith::BaseModel<Account> {
  std::int64_t id{};
  std::string email;
  static constexpr auto columns = kith::columns<&Account::id, &Account::email>;
  static void beforeSave(std::string& email) { email.clear(); }
};
void f(Account& a, const kith::Connection& db) { a.save(db); }
