// kith against hand-written sqlite3 code, SQLiteCpp and SOCI, in one process and one run.
//
//   kith_bench                      times of every workload and implementation: each implementation
//                                   run next to each baseline (raw, raw_row), in alternating order,
//                                   and the ratio taken within each such pair; median of the pair
//                                   ratios (61 pairs by default), median ms and minor page faults
//   kith_bench --smoke              each workload once at a tiny size; fails when checksums differ
//   kith_bench --count              for valgrind --tool=callgrind --collect-atstart=no: each workload
//                                   once, its instructions dumped under "W1 kith" and so on
//   kith_bench --count --only "W1 kith"   one workload and implementation only, for a profile
//   kith_bench --only W2,W2u        these workloads only (any mode)
//   kith_bench --heap               peak heap (C++ and SQLite allocations) of each W2, W2u, W6, W10 and W10u run, in bytes
//   kith_bench --ir F --heap-in H   the timing run, with counts and peaks from the runs above
//
// bench/run.sh does all of it in one command.
#include "bench.hpp"

#include <malloc.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(label)
#define RUNNING_ON_VALGRIND 0
#endif

// ---------------------------------------------------------------------------------------------
// Heap accounting: every operator new and every SQLite allocation, while `tracking` is on.

namespace heap {
bool tracking = false;
std::int64_t current = 0;
std::int64_t peak = 0;

void add(void* p) {
  if (tracking && p) {
    current += static_cast<std::int64_t>(malloc_usable_size(p));
    peak = std::max(peak, current);
  }
}
void remove(void* p) {
  if (tracking && p) current -= static_cast<std::int64_t>(malloc_usable_size(p));
}

void* sqliteMalloc(int n) {
  void* p = std::malloc(static_cast<std::size_t>(n));
  add(p);
  return p;
}
void sqliteFree(void* p) {
  remove(p);
  std::free(p);
}
void* sqliteRealloc(void* p, int n) {
  remove(p);
  void* q = std::realloc(p, static_cast<std::size_t>(n));
  add(q ? q : p);
  return q;
}
int sqliteSize(void* p) { return static_cast<int>(malloc_usable_size(p)); }
int sqliteRoundup(int n) { return (n + 7) & ~7; }
int sqliteInit(void*) { return SQLITE_OK; }
void sqliteShutdown(void*) {}

/// Routes SQLite's allocations through the counters; must run before SQLite is first used.
void countSqlite() {
  static sqlite3_mem_methods methods{sqliteMalloc,  sqliteFree, sqliteRealloc,  sqliteSize,
                                     sqliteRoundup, sqliteInit, sqliteShutdown, nullptr};
  sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}
}  // namespace heap

// These replace the global allocation functions: GCC sees free() on memory from operator new.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  heap::add(p);
  return p;
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept {
  heap::remove(p);
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }

namespace bench {

#ifdef KITH_BENCH_NO_SQLITECPP
std::unique_ptr<Impl> makeSqliteCpp(const Target&) { return nullptr; }
#endif
#ifdef KITH_BENCH_NO_SOCI
std::unique_ptr<Impl> makeSoci(const Target&) { return nullptr; }
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Workloads

enum class Mode { Time, Smoke, Count, Heap };

struct Sizes {
  int posts;          // W1, W1f, W4
  int users;          // W2 users (10 posts each)
  int lookupUsers;    // W3 table size and number of lookups
  int fetchOrCreate;  // W5 payload rows, half existing
};

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "setup failed: %s\n  in: %s\n", error, sql.c_str());
    std::exit(2);
  }
}

std::string title(int i) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "Post title #%08d", i);  // 20 characters
  return buffer;
}
const std::string body(100, 'b');

std::vector<PostData> postsFor(std::int64_t userId, int n) {
  std::vector<PostData> rows;
  for (int i = 0; i < n; ++i) rows.push_back({userId, title(i), body});
  return rows;
}

/// Inserts `rows` with plain sqlite3 calls (setup, not measured).
void fill(sqlite3* db, const std::vector<PostData>& rows) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ?)", -1, &s, nullptr);
  for (const auto& r : rows) {
    sqlite3_bind_int64(s, 1, r.userId);
    sqlite3_bind_text(s, 2, r.title.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r.body.c_str(), -1, SQLITE_STATIC);
    sqlite3_step(s);
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
}

void addUsers(sqlite3* db, int n) {
  exec(db, "BEGIN");
  for (int i = 1; i <= n; ++i) exec(db, "INSERT INTO users (email, name) VALUES ('user" + std::to_string(i) + "@example.com', 'Name')");
  exec(db, "COMMIT");
}

struct Workload {
  std::string id;
  std::string what;
  bool walFile = false;
  int rows = 0;                         // rows the workload handles, for instructions per row
  std::function<void(sqlite3*)> setup;  // after the schema
  std::vector<PostData> input;          // given to prepareInsert
  std::function<std::optional<Checksum>(Impl&)> run;
};

std::vector<Workload> workloads(const Sizes& n) {
  std::vector<Workload> out;
  const auto oneUser = [](sqlite3* db) { addUsers(db, 1); };
  out.push_back(
      {"W1", "createMany of posts for one user", false, n.posts, oneUser, postsFor(1, n.posts), [](Impl& i) { return i.insertMany(); }});
  out.push_back({"W1f", "W1 on a WAL file, synchronous=NORMAL", true, n.posts, oneUser, postsFor(1, n.posts),
                 [](Impl& i) { return i.insertMany(); }});
  const auto usersWithPosts = [n](sqlite3* db) {
    addUsers(db, n.users);
    exec(db, "BEGIN");
    for (int u = 1; u <= n.users; ++u) fill(db, postsFor(u, 10));
    exec(db, "COMMIT");
  };
  out.push_back({"W2", "preload users x 10 posts", false, n.users * 10, usersWithPosts, {}, [](Impl& i) { return i.preload(); }});
  out.push_back({"W2u", "W2, untracked", false, n.users * 10, usersWithPosts, {}, [](Impl& i) { return i.preloadUntracked(); }});
  std::mt19937_64 random(42);
  std::vector<std::int64_t> keys(static_cast<std::size_t>(n.lookupUsers));
  for (auto& k : keys) k = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(n.lookupUsers)) + 1;
  const auto lookupTable = [n](sqlite3* db) { addUsers(db, n.lookupUsers); };
  out.push_back(
      {"W3", "find users by random primary key", false, n.lookupUsers, lookupTable, {}, [keys](Impl& i) { return i.find(keys); }});
  out.push_back({"W3u", "W3, untracked", false, n.lookupUsers, lookupTable, {}, [keys](Impl& i) { return i.findUntracked(keys); }});
  out.push_back({"W4", "save() of new posts, one transaction", false, n.posts, oneUser, postsFor(1, n.posts),
                 [](Impl& i) { return i.insertEach(); }});
  out.push_back({"W5", "fetchOrCreateMany, half existing", false, n.fetchOrCreate,
                 [n](sqlite3* db) {
                   addUsers(db, 2);
                   std::vector<PostData> existing;
                   for (const auto& p : postsFor(1, n.fetchOrCreate))
                     if (existing.size() < static_cast<std::size_t>(n.fetchOrCreate / 2)) existing.push_back(p);
                   exec(db, "BEGIN");
                   fill(db, existing);
                   fill(db, postsFor(2, n.fetchOrCreate));  // the same titles under another user must not match
                   exec(db, "COMMIT");
                 },
                 postsFor(1, n.fetchOrCreate), [](Impl& i) { return i.fetchOrCreate(); }});
  out.push_back({"W6",
                 "preload posts with their author, 10 users",
                 false,
                 n.posts,
                 [n](sqlite3* db) {
                   addUsers(db, 10);
                   exec(db, "BEGIN");
                   for (int u = 1; u <= 10; ++u) fill(db, postsFor(u, n.posts / 10));
                   exec(db, "COMMIT");
                 },
                 {},
                 [](Impl& i) { return i.preloadAuthors(); }});
  // W7: n.users posts with 5 of 200 tags each; then post 1's tags synced to n.users other ids (of
  // which 2 it has: 998 attached, 3 detached at full size).
  std::vector<std::int64_t> syncIds;
  for (int k = 0; k < n.users; ++k) syncIds.push_back(101 + k);
  out.push_back({"W7",
                 "preload posts x 5 tags (ManyToMany), then sync one post's tags to 1,000 ids",
                 false,
                 n.users,
                 [n](sqlite3* db) {
                   addUsers(db, 1);
                   exec(db, "BEGIN");
                   fill(db, postsFor(1, n.users));
                   std::string tags = "INSERT INTO tags (name) VALUES ";
                   for (int t = 1; t <= 200 + n.users; ++t) tags += (t > 1 ? ", ('tag " : "('tag ") + std::to_string(t) + "')";
                   exec(db, tags);
                   std::string pivot = "INSERT INTO post_tag (post_id, tag_id) VALUES ";
                   for (int p = 1; p <= n.users; ++p)
                     for (int k = 0; k < 5; ++k)
                       pivot +=
                           (p > 1 || k > 0 ? ", (" : "(") + std::to_string(p) + ", " + std::to_string((p * 7 + k * 41) % 200 + 1) + ")";
                   exec(db, pivot);
                   exec(db, "COMMIT");
                 },
                 {},
                 [syncIds](Impl& i) { return i.postTags(syncIds); }});
  out.push_back({"W8", "load a user's posts, saveMany as many new ones into the loaded list", false, n.posts,
                 [n](sqlite3* db) {
                   addUsers(db, 1);
                   exec(db, "BEGIN");
                   fill(db, postsFor(1, n.posts));
                   exec(db, "COMMIT");
                 },
                 postsFor(1, n.posts), [](Impl& i) { return i.saveManyLoaded(); }});
  // W10: n.posts comments, alternately on one of 100 posts and one of 100 videos.
  const auto comments = [n](sqlite3* db) {
    addUsers(db, 1);
    exec(db, "BEGIN");
    fill(db, postsFor(1, 100));
    std::string videos = "INSERT INTO videos (title) VALUES ";
    for (int v = 1; v <= 100; ++v) videos += (v > 1 ? ", ('video " : "('video ") + std::to_string(v) + "')";
    exec(db, videos);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO comments (body, commentable_type, commentable_id) VALUES (?, ?, ?)", -1, &s, nullptr);
    const std::string body = "A comment of some forty characters, say.";
    for (int c = 0; c < n.posts; ++c) {
      const bool post = c % 2 == 0;
      sqlite3_bind_text(s, 1, body.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(s, 2, post ? "posts" : "videos", -1, SQLITE_STATIC);
      sqlite3_bind_int64(s, 3, post ? (c * 7) % 100 + 1 : (c * 13) % 100 + 1);
      sqlite3_step(s);
      sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    exec(db, "COMMIT");
  };
  out.push_back(
      {"W10", "preload comments with their owner (MorphTo<Post, Video>), 100 posts, 100 videos", false, n.posts, comments, {}, [](Impl& i) {
         return i.preloadCommentable();
       }});
  out.push_back({"W10u", "W10, untracked", false, n.posts, comments, {}, [](Impl& i) { return i.preloadCommentableUntracked(); }});
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running

struct Implementation {
  std::string name;
  Factory make;
  const char* package;
};

const std::vector<Implementation> implementations = {
    {"raw", makeRaw, nullptr},
    {"raw_row", makeRawRow, nullptr},
    {"kith", makeKith, nullptr},
    {"sqlitecpp", makeSqliteCpp, "libsqlitecpp-dev"},
    {"soci", makeSoci, "libsoci-dev and libboost-dev"},
};

struct Run {
  std::vector<double> ms;
  std::vector<double> faults;  // minor page faults per call
  Checksum checksum = 0;
};

long minorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

class Scratch {
 public:
  Scratch() {
    char pattern[] = "/tmp/kith-bench-XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }
  std::string fresh() {
    const auto path = dir_ + "/w1f.db";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    return path;
  }

 private:
  std::string dir_;
};

/// One run of one workload by one implementation on a fresh database. Returns nothing when the
/// implementation does not take part.
std::optional<Checksum> once(const Workload& w, const Implementation& impl, Scratch& scratch, Mode mode, double& ms, double& faults) {
  Target target;
  if (w.walFile) target = {scratch.fresh(), true};
  auto i = impl.make(target);
  exec(i->handle(), schema);
  w.setup(i->handle());
  if (!w.input.empty()) i->prepareInsert(w.input);
  std::optional<Checksum> result;
  const auto label = w.id + " " + impl.name;
  if (mode == Mode::Heap) {
    heap::current = heap::peak = 0;
    heap::tracking = true;
    result = w.run(*i);
    heap::tracking = false;
  } else if (mode == Mode::Count) {
    CALLGRIND_TOGGLE_COLLECT;
    result = w.run(*i);
    CALLGRIND_TOGGLE_COLLECT;
    if (result) CALLGRIND_DUMP_STATS_AT(label.c_str());
  } else {
    const long faultsBefore = minorFaults();
    const auto start = std::chrono::steady_clock::now();
    result = w.run(*i);
    ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    faults = static_cast<double>(minorFaults() - faultsBefore);
  }
  return result;
}

std::map<std::string, double> readPairs(const char* path) {
  std::map<std::string, double> out;
  if (!path) return out;
  std::ifstream in(path);
  std::string workload, impl;
  double value = 0;
  while (in >> workload >> impl >> value) out[workload + " " + impl] = value;
  return out;
}

std::string fmtRatio(double r) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", r);
  return buffer;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace
}  // namespace bench

/// --only: "W1 kith" (one workload and implementation), or workload ids, comma-separated ("W2,W2u").
static bool selected(const std::string& only, const std::string& workload, const std::string& key) {
  if (only.empty() || only == key) return true;
  std::size_t at = 0;
  while (at <= only.size()) {
    const std::size_t end = std::min(only.find(',', at), only.size());
    if (only.compare(at, end - at, workload) == 0) return true;
    at = end + 1;
  }
  return false;
}

int main(int argc, char** argv) {
  using namespace bench;
  Mode mode = Mode::Time;
  const char* irFile = nullptr;
  const char* heapFile = nullptr;
  int repeats = 61;
  std::string only;  // "W1 kith": run just this workload and implementation (for a profile)
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--smoke")
      mode = Mode::Smoke;
    else if (arg == "--count")
      mode = Mode::Count;
    else if (arg == "--heap")
      mode = Mode::Heap;
    else if (arg == "--ir" && a + 1 < argc)
      irFile = argv[++a];
    else if (arg == "--heap-in" && a + 1 < argc)
      heapFile = argv[++a];
    else if (arg == "--repeats" && a + 1 < argc)
      repeats = std::max(1, std::atoi(argv[++a]));
    else if (arg == "--only" && a + 1 < argc)
      only = argv[++a];
    else {
      std::fprintf(stderr, "usage: kith_bench [--smoke | --count | --heap | --ir FILE --heap-in FILE --repeats N] [--only \"W1 kith\"]\n");
      return 2;
    }
  }
  if (mode == Mode::Heap) heap::countSqlite();
  if (mode != Mode::Time || RUNNING_ON_VALGRIND) repeats = 1;
  const Sizes sizes = mode == Mode::Smoke ? Sizes{250, 20, 50, 40} : Sizes{10'000, 1'000, 10'000, 1'000};

  std::vector<const Implementation*> present;
  for (const auto& impl : implementations) {
    if (impl.make(Target{})) {
      present.push_back(&impl);
    } else {
      std::printf("skip %s: %s was not found when kith_bench was configured\n", impl.name.c_str(), impl.package);
    }
  }

  Scratch scratch;
  bool ok = true;
  std::map<std::string, Run> runs;  // "W1 kith"
  const auto all = workloads(sizes);
  std::map<std::string, std::vector<double>> pairRatios;  // "W1 kith/raw": time ratios within pairs
  const auto isBaseline = [](const Implementation* impl) { return impl->name == "raw" || impl->name == "raw_row"; };
  std::set<std::string> absent;  // implementations that do not take part in a workload
  const auto record = [&](const Workload& w, const Implementation& impl, double& ms, double& faults) {
    const auto key = w.id + " " + impl.name;
    if (absent.count(key) || !selected(only, w.id, key)) return false;
    const auto result = once(w, impl, scratch, mode, ms, faults);
    if (!result) absent.insert(key);
    if (result) {
      auto& run = runs[key];
      run.ms.push_back(ms);
      run.faults.push_back(faults);
      run.checksum = *result;
      if (mode == Mode::Heap) std::printf("%s %s %lld\n", w.id.c_str(), impl.name.c_str(), static_cast<long long>(heap::peak));
    }
    return result.has_value();
  };
  for (const auto& w : all) {
    if (mode == Mode::Heap && w.id != "W2" && w.id != "W2u" && w.id != "W6" && w.id != "W10" && w.id != "W10u") continue;
    for (int r = 0; r < repeats; ++r) {
      if (mode != Mode::Time) {
        for (const auto* impl : present) {
          double ms = 0, faults = 0;
          record(w, *impl, ms, faults);
        }
        continue;
      }
      // Each implementation next to each baseline, the pair's order alternating between repeats,
      // so that the machine's drift (other tenants, frequency) hits both sides of a ratio alike.
      for (const auto* impl : present) {
        if (isBaseline(impl)) continue;
        for (const auto* base : present) {
          if (!isBaseline(base)) continue;
          double msBase = 0, msImpl = 0, faults = 0;
          bool baseRan = false, implRan = false;
          if (r % 2 == 0) {
            baseRan = record(w, *base, msBase, faults);
            implRan = baseRan && record(w, *impl, msImpl, faults);
          } else {
            implRan = record(w, *impl, msImpl, faults);
            baseRan = implRan && record(w, *base, msBase, faults);
          }
          if (baseRan && implRan && msBase > 0) pairRatios[w.id + " " + impl->name + "/" + base->name].push_back(msImpl / msBase);
        }
      }
    }
    const auto reference = runs.find(w.id + " raw");
    for (const auto* impl : present) {
      auto it = runs.find(w.id + " " + impl->name);
      if (it != runs.end() && reference != runs.end() && it->second.checksum != reference->second.checksum) {
        std::printf("MISMATCH in %s: %s checksum %lld, raw %lld\n", w.id.c_str(), impl->name.c_str(),
                    static_cast<long long>(it->second.checksum), static_cast<long long>(reference->second.checksum));
        ok = false;
      }
    }
  }
  if (mode == Mode::Heap || mode == Mode::Count) return ok ? 0 : 1;

  const auto ir = readPairs(irFile);
  const auto peaks = readPairs(heapFile);
  const auto ratio = [](double a, double b) { return a > 0 && b > 0 ? fmtRatio(a / b) : std::string("n/a"); };
  std::printf("\n%-4s %-10s %10s %13s %8s %11s %8s  %s\n", "", "", "median ms", "instructions", "Ir/row", "heap peak", "faults",
              "checksum");
  std::vector<std::string> ratios;
  for (const auto& w : all) {
    for (const auto* impl : present) {
      const auto key = w.id + " " + impl->name;
      auto it = runs.find(key);
      if (it == runs.end()) continue;
      const double time = median(it->second.ms);
      const double count = ir.count(key) ? ir.at(key) : 0;
      const double peak = peaks.count(key) ? peaks.at(key) : 0;
      const double faults = median(it->second.faults);
      std::printf("%-4s %-10s %10.3f %13.0f %8.0f %11.0f %8.0f  %lld\n", w.id.c_str(), impl->name.c_str(), time, count, count / w.rows,
                  peak, faults, static_cast<long long>(it->second.checksum));
      if (impl->name.rfind("raw", 0) == 0) continue;
      for (const std::string base : {"raw_row", "raw"}) {
        const auto baseKey = w.id + " " + base;
        if (!runs.count(baseKey)) continue;
        const auto pairs = pairRatios.find(w.id + " " + impl->name + "/" + base);
        const std::string paired = pairs == pairRatios.end() ? std::string("n/a") : fmtRatio(median(pairs->second));
        const double baseFaults = median(runs.at(baseKey).faults);
        std::string line = "ratio " + w.id + " " + impl->name + "/" + base + " ir=" + ratio(count, ir.count(baseKey) ? ir.at(baseKey) : 0) +
                           " time=" + paired + " faults=" + std::to_string(static_cast<long long>(faults)) + "/" +
                           std::to_string(static_cast<long long>(baseFaults));
        if (peak > 0) line += " heap=" + ratio(peak, peaks.count(baseKey) ? peaks.at(baseKey) : 0);
        ratios.push_back(line);
      }
    }
  }
  std::printf("\n");
  for (const auto& line : ratios) std::printf("%s\n", line.c_str());
  return ok ? 0 : 1;
}
