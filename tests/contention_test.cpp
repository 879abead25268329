// Contention: two processes with two threads each, every thread with its own connection, write to
// one file database at once through relation writes. With the default busy timeout every write
// lands and the row counts are exact; *OrCreate calls on one shared parent create each row once. A
// timeout that does expire is a kith::BusyError and leaves the caller's objects as they were.
#include "blog_models.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

using namespace blog;

namespace {

constexpr int processes = 2;
constexpr int threadsPerProcess = 2;
constexpr int iterations = 40;
constexpr int sharedTitles = 10;

std::vector<Post> sharedPosts() {
  std::vector<Post> out;
  for (int i = 0; i < sharedTitles; ++i) out.push_back(post("shared " + std::to_string(i)));
  return out;
}

/// One writer: its own connection and parent; each iteration a createMany of 3 posts, a save of a
/// new post, and fetchOrCreateMany/updateOrCreate on the shared parent (user 1).
void writer(const std::string& file, bool wal, const std::string& email) {
  auto db = kith::sqlite::open(file, {.wal = wal});
  auto own = user(email);
  auto shared = User::findOrFail(db, 1);
  for (int i = 0; i < iterations; ++i) {
    own.related<&User::posts>(db).createMany({post("a"), post("b"), post("c")});
    auto single = post("single " + std::to_string(i));
    own.related<&User::posts>().save(single);
    shared.related<&User::posts>().fetchOrCreateMany<&Post::title>(sharedPosts());
    shared.related<&User::posts>().updateOrCreate<&Post::title>(post("shared 0", "written by " + email));
  }
}

/// A child process: two writer threads; exit status 0 when both finished, else the first error in `errors`.
[[noreturn]] void childProcess(const std::string& file, bool wal, int process, const std::string& errors) {
  std::vector<std::string> failures(threadsPerProcess);
  std::vector<std::thread> threads;
  for (int t = 0; t < threadsPerProcess; ++t)
    threads.emplace_back([&, t] {
      try {
        writer(file, wal, "p" + std::to_string(process) + "t" + std::to_string(t) + "@b");
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(t)] = e.what();
      }
    });
  for (auto& th : threads) th.join();
  for (const auto& f : failures)
    if (!f.empty()) {
      std::ofstream(errors) << f;
      _exit(1);
    }
  _exit(0);
}

std::string createDatabase(const test::TempDir& dir, bool wal) {
  const auto file = dir.file("blog.db");
  auto db = kith::sqlite::open(file, {.wal = wal});
  createSchema(db);
  User::create(db, user("shared@b"));
  return file;
}

}  // namespace

TEST_CASE("two processes with two threads each write through relations at once, every write lands exactly once",
          "[reliability][concurrency]") {
  const bool wal = GENERATE(true, false);
  CAPTURE(wal);
  test::TempDir dir;
  const auto file = createDatabase(dir, wal);
  const auto errors = dir.file("errors");

  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) childProcess(file, wal, p, errors + std::to_string(p));
    children.push_back(pid);
  }
  for (int p = 0; p < processes; ++p) {
    int status = 0;
    waitpid(children[static_cast<std::size_t>(p)], &status, 0);
    std::string error;
    std::getline(std::ifstream(errors + std::to_string(p)), error);
    CAPTURE(p, error);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  auto db = kith::sqlite::open(file, {.wal = wal});
  const int writers = processes * threadsPerProcess;
  CHECK(test::rows(db, "users") == 1 + writers);
  CHECK(test::rows(db, "posts") == writers * iterations * 4 + sharedTitles);
  for (auto& u : User::query(db).where<&User::email>("!=", "shared@b").all())
    CHECK(u.related<&User::posts>().query().count() == iterations * 4);
  auto shared = User::findOrFail(db, 1);
  CHECK(shared.related<&User::posts>().query().count() == sharedTitles);
  CHECK_THAT(shared.related<&User::posts>().query().where<&Post::title>("shared 0").firstOrFail().body, test::Contains("written by p"));
}

TEST_CASE("a relation write whose busy timeout expires is a BusyError and changes nothing", "[reliability][concurrency][errors]") {
  test::TempDir dir;
  const auto file = createDatabase(dir, true);
  auto holder = kith::sqlite::open(file, {.wal = true});
  auto impatient = kith::sqlite::open(file, {.busyTimeout = std::chrono::milliseconds(20), .wal = true});
  auto u = user("new@b");
  std::vector<Post> mine{post("A"), post("B")};
  {
    auto lock = holder.begin();  // BEGIN IMMEDIATE: holds the write lock
    try {
      u.related<&User::posts>(impatient).saveMany(mine);
      FAIL("expected a BusyError");
    } catch (const kith::BusyError& e) {
      CHECK(e.code() == SQLITE_BUSY);
      CHECK_THAT(e.what(), test::Contains("held the lock for longer than the busy timeout"));
      CHECK(e.sql() == "BEGIN IMMEDIATE");
    }
    CHECK_FALSE(u.isPersisted());
    CHECK(u.id == 0);
    CHECK_FALSE(mine[0].isPersisted());
    CHECK_FALSE(impatient.inTransaction());
  }  // the lock is released
  u.related<&User::posts>(impatient).saveMany(mine);
  CHECK(mine[1].isPersisted());
  CHECK(test::rows(holder, "posts") == 2);
}
