// Twin of timestamp_not_time.cpp: time columns, an optional one, and nullptr for none.
#include <chrono>
#include <kith/kith.hpp>
struct Event : kith::BaseModel<Event> {
  std::int64_t id{};
  std::optional<std::chrono::sys_seconds> createdAt;
  std::chrono::sys_seconds updatedAt{};
  static constexpr auto columns = kith::columns<&Event::id, &Event::createdAt, &Event::updatedAt>;
  static constexpr auto timestamps = kith::timestamps<nullptr, &Event::updatedAt>;
};
void f(Event& e, const kith::Connection& db) { e.save(db); }
