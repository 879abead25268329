// A HasManyThrough whose foreign key is not a column of the intermediate model does not compile,
// and the message names the relation (GCC also prints the key name).
// expect: kith: the HasManyThrough's foreign key is not a declared column of the intermediate model
// expect: &Nation::articles
// at most 2 errors
#include "join_models.hpp"
struct Nation : kith::BaseModel<Nation> {
  std::int64_t id{};
  kith::HasManyThrough<Article, Writer, kith::through{.foreignKey = "nationId"}> articles;
  static constexpr auto columns = kith::columns<&Nation::id>;
};
void f(const kith::Connection& db) { Nation::query(db).preload<&Nation::articles>().all(); }
