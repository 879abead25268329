// Twin of through_missing_foreign_key.cpp: naming a column the intermediate model declares compiles.
#include "join_models.hpp"
struct Nation : kith::BaseModel<Nation> {
  std::int64_t id{};
  kith::HasManyThrough<Article, Writer, kith::through{.foreignKey = "mentorId"}> articles;
  static constexpr auto columns = kith::columns<&Nation::id>;
};
void f(const kith::Connection& db) { Nation::query(db).preload<&Nation::articles>().all(); }
