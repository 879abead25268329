// jsonNames renames or hides properties: an entry that names neither a column nor a relation the
// model lists (a typo) is a compile error, not a rename that silently does nothing.
// expect: kith: an entry of this model's jsonNames names neither a column nor a relation listed in `relations`
// at most 2 errors
#include <kith/json.hpp>
struct Account : kith::BaseModel<Account> {
  std::int64_t id{};
  std::string passwordHash;
  static constexpr auto columns = kith::columns<&Account::id, &Account::passwordHash>;
  static constexpr kith::JsonName jsonNames[] = {{"password_hash", kith::hidden}};
};
nlohmann::json f(const Account& a) { return kith::toJson(a); }
