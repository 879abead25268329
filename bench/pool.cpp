// What a kith::Pool buys: operations per second of T threads sharing one pool, with as many
// connections as threads against one connection (the threads then take turns), for readers (find
// a row by its key) and for writers (insert a row, one transaction each). SQLite on a WAL file
// (what readers gain; writers take turns anyway) and, given a conninfo, PostgreSQL.
//
//   kith_bench_pool [--seconds S] [--postgres CONNINFO]
// Lines: "pool DB readers|writers threads=T connections=C ops=N per_s=R".
#include <kith/kith.hpp>
#include <kith/pool.hpp>
#include <kith/postgres.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Item : kith::BaseModel<Item> {
  std::int64_t id{};
  std::string name;
  std::int64_t stock{};
  static constexpr auto columns = kith::columns<&Item::id, &Item::name, &Item::stock>;
};

constexpr std::int64_t rows = 10'000;

/// Operations per second of `threads` threads doing `op(lease, random)` for `seconds`, each op on a
/// lease of its own (acquired and given back: what a request does).
template <class Op>
double measure(kith::Pool& pool, int threads, double seconds, Op op) {
  std::atomic<std::int64_t> done{0};
  std::atomic<bool> go{false};
  const auto until = [&] { return std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds); };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::mt19937_64 random(static_cast<std::uint64_t>(t) + 1);
      while (!go) std::this_thread::yield();
      std::int64_t mine = 0;
      const auto stop = until();
      while (std::chrono::steady_clock::now() < stop) {
        auto lease = pool.acquire();
        op(lease, random);
        ++mine;
      }
      done += mine;
    });
  go = true;
  for (auto& w : workers) w.join();
  return static_cast<double>(done.load()) / seconds;
}

void run(const char* db, const std::function<kith::Connection()>& open, double seconds) {
  {
    auto c = open();
    c.execute("DROP TABLE IF EXISTS items");
    kith::createTables<Item>(c);
    std::vector<Item> items(static_cast<std::size_t>(rows));
    for (std::size_t i = 0; i < items.size(); ++i) items[i].name = "item " + std::to_string(i);
    Item::createMany(c, items);
  }
  for (const int threads : {1, 2, 4, 8}) {
    for (const std::size_t connections : {std::size_t{1}, static_cast<std::size_t>(threads)}) {
      kith::Pool pool(open, {.max = connections, .acquireTimeout = std::chrono::seconds(60)});
      const double reads = measure(pool, threads, seconds, [](const kith::Connection& c, std::mt19937_64& random) {
        if (!Item::find(c, static_cast<std::int64_t>(random() % rows) + 1)) throw std::runtime_error("a row is missing");
      });
      std::printf("pool %s readers threads=%d connections=%zu per_s=%.0f\n", db, threads, connections, reads);
      const double writes = measure(pool, threads, seconds, [](const kith::Connection& c, std::mt19937_64& random) {
        Item::create(c, {.name = "new", .stock = static_cast<std::int64_t>(random() % 100)});
      });
      std::printf("pool %s writers threads=%d connections=%zu per_s=%.0f\n", db, threads, connections, writes);
      std::fflush(stdout);
      if (threads == 1) break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  std::string postgres;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds")
      seconds = std::stod(argv[i + 1]);
    else if (flag == "--postgres")
      postgres = argv[i + 1];
  }
  const auto dir = std::filesystem::temp_directory_path() / ("kith-bench-pool-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "pool.db").string();
  run(
      "sqlite", [&] { return kith::sqlite::open(file, {.wal = true, .synchronous = kith::sqlite::Synchronous::Normal}); }, seconds);
  std::filesystem::remove_all(dir);
  if (!postgres.empty())
    run(
        "pg", [&] { return kith::postgres::open(postgres); }, seconds);
}
