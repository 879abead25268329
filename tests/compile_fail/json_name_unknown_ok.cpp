// Twin of json_name_unknown.cpp: the property's own name.
#include <kith/json.hpp>
struct Account : kith::BaseModel<Account> {
  std::int64_t id{};
  std::string passwordHash;
  static constexpr auto columns = kith::columns<&Account::id, &Account::passwordHash>;
  static constexpr kith::JsonName jsonNames[] = {{"passwordHash", kith::hidden}};
};
nlohmann::json f(const Account& a) { return kith::toJson(a); }
