// Twin of hook_wrong_signature.cpp: the hook takes the model (and may take the connection).
#include <kith/kith.hpp>
struct Account : kith::BaseModel<Account> {
  std::int64_t id{};
  std::string email;
  static constexpr auto columns = kith::columns<&Account::id, &Account::email>;
  static void beforeSave(Account& a, const kith::Connection&) { a.email.clear(); }
};
void f(Account& a, const kith::Connection& db) { a.save(db); }
