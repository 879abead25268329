// A timestamp column must hold a time: kith stamps it with the UTC time.
// expect: kith: kith::timestamps<&Model::createdAt, &Model::updatedAt> names columns kith stamps with the UTC time
// at most 2 errors
#include <chrono>
#include <kith/kith.hpp>
struct Event : kith::BaseModel<Event> {
  std::int64_t id{};
  std::string createdAt;
  std::chrono::sys_seconds updatedAt{};
  static constexpr auto columns = kith::columns<&Event::id, &Event::createdAt, &Event::updatedAt>;
  static constexpr auto timestamps = kith::timestamps<&Event::createdAt, &Event::updatedAt>;
};
void f(Event& e, const kith::Connection& db) { e.save(db); }
