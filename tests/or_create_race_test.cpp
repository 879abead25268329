// Find-or-create under concurrency, with processes (issue 13, item 1): four processes calling
// firstOrCreate, updateOrCreate, fetchOrCreateMany and updateOrCreateMany on one parent at once
// create each row once, on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (an advisory lock on the
// parent's related rows), with no unique index to catch a duplicate. With a unique index and
// plain creates racing them, a row another writer inserted first is returned, never an error.
// ManyToMany's attach/sync/toggle on one parent never attach a pair twice, by the same lock.
#include "blog_models.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

using namespace blog;

namespace {

constexpr int processes = 4;
constexpr int rounds = 30;
constexpr int manyTitles = 20;

/// A database every process opens on its own: a SQLite file, or the PostgreSQL schema of a fresh
/// test::database().
struct SharedDatabase {
  test::TempDir dir;
  std::string schema;

  SharedDatabase() {
    auto db = test::database();
    if (test::onPostgres()) schema = test::scalar(db, "SELECT current_schema()");
  }
  kith::Connection open() const {
#ifdef KITH_TEST_HAVE_POSTGRES
    if (test::onPostgres()) return test::postgresSchema(schema);
#endif
    return kith::sqlite::open(dir.file("race.db"), {.busyTimeout = std::chrono::seconds(30), .wal = true});
  }
};

std::vector<Post> titled(const std::string& prefix, int n, const std::string& body) {
  std::vector<Post> out;
  for (int i = 0; i < n; ++i) out.push_back(post(prefix + std::to_string(i), body));
  return out;
}

/// Forks `processes` children that wait at a barrier, then run `body(process)` each on its own
/// connection; checks that every one exited 0, reporting the first error each wrote.
template <class Body>
void race(const SharedDatabase& shared, Body body) {
  int barrier[2];
  REQUIRE(pipe(barrier) == 0);
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(barrier[1]);
      char c;
      while (read(barrier[0], &c, 1) > 0) {
      }  // released when the parent closes its end: every child starts at once
      try {
        auto db = shared.open();
        body(db, p);
        _exit(0);
      } catch (const std::exception& e) {
        std::ofstream(shared.dir.file("error" + std::to_string(p))) << e.what();
        _exit(1);
      }
    }
    children.push_back(pid);
  }
  close(barrier[0]);
  close(barrier[1]);
  for (int p = 0; p < processes; ++p) {
    int status = 0;
    waitpid(children[static_cast<std::size_t>(p)], &status, 0);
    std::string error;
    std::getline(std::ifstream(shared.dir.file("error" + std::to_string(p))), error);
    CAPTURE(p, error);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

}  // namespace

TEST_CASE("four processes of find-or-create on one parent create each row once, with no unique index",
          "[reliability][concurrency][portable]") {
  SharedDatabase shared;
  {
    auto db = shared.open();
    createSchema(db);
    User::create(db, user("shared@b"));
  }
  race(shared, [](kith::Connection& db, int p) {
    auto parent = User::findOrFail(db, 1);
    const std::string mark = "p" + std::to_string(p);
    for (int i = 0; i < rounds; ++i) {
      auto many = parent.related<&User::posts>().fetchOrCreateMany<&Post::title>(titled("many ", manyTitles, mark));
      if (many.size() != manyTitles) throw std::runtime_error("fetchOrCreateMany returned the wrong number of rows");
      parent.related<&User::posts>().firstOrCreate<&Post::title>(post("first " + std::to_string(i % 5), mark));
      parent.related<&User::posts>().updateOrCreate<&Post::title>(post("update " + std::to_string(i % 5), mark));
      parent.related<&User::posts>().updateOrCreateMany<&Post::title>(titled("sync ", 10, mark + " " + std::to_string(i)));
    }
  });
  auto db = shared.open();
  const auto counts = test::select(db, "SELECT count(*), count(DISTINCT title) FROM posts WHERE user_id = 1");
  CHECK(counts == std::vector<test::RawRow>{{std::to_string(manyTitles + 5 + 5 + 10), std::to_string(manyTitles + 5 + 5 + 10)}});
  // The updates landed: each "sync" row holds the values of one of the last rounds.
  CHECK(test::scalar(db, "SELECT count(*) FROM posts WHERE title LIKE 'sync %' AND body LIKE '% " + std::to_string(rounds - 1) + "'") ==
        "10");
}

TEST_CASE("find-or-create racing plain creates on a unique index returns the row the other writer inserted",
          "[reliability][concurrency][portable]") {
  SharedDatabase shared;
  {
    auto db = shared.open();
    createSchema(db);
    db.execute("CREATE UNIQUE INDEX posts_user_title ON posts (user_id, title)");
    User::create(db, user("shared@b"));
  }
  race(shared, [](kith::Connection& db, int p) {
    auto parent = User::findOrFail(db, 1);
    for (int i = 0; i < rounds; ++i) {
      const std::string title = "t" + std::to_string(i);
      if (p % 2 == 0) {
        // Plain creates: no lock, so they can land between a find-or-create's lookup and its insert.
        try {
          parent.related<&User::posts>().create(post(title, "plain"));
        } catch (const kith::UniqueViolation&) {
        }
        try {
          parent.related<&User::posts>().createMany(titled(title + " many ", 5, "plain"));
        } catch (const kith::UniqueViolation&) {
        }
      } else {
        // Find-or-create: always the one row, never an error.
        auto one = parent.related<&User::posts>().firstOrCreate<&Post::title>(post(title, "or create"));
        auto many = parent.related<&User::posts>().fetchOrCreateMany<&Post::title>(titled(title + " many ", 5, "or create"));
        if (one.title != title || many.size() != 5 || many[4].title != title + " many 4")
          throw std::runtime_error("find-or-create returned the wrong rows");
      }
    }
  });
  auto db = shared.open();
  CHECK(test::select(db, "SELECT count(*), count(DISTINCT title) FROM posts") ==
        std::vector<test::RawRow>{{std::to_string(rounds * 6), std::to_string(rounds * 6)}});
}

namespace clubs {
struct Club;
struct ClubPlayer {
  std::int64_t rank{};
  static constexpr auto columns = kith::columns<&ClubPlayer::rank>;
};
struct Player : kith::BaseModel<Player> {
  std::int64_t id{};
  std::string name;
  kith::ManyToMany<Club, kith::pivot{}, ClubPlayer> clubs;
  static constexpr auto columns = kith::columns<&Player::id, &Player::name>;
  static constexpr auto relations = kith::relations<&Player::clubs>;
};
struct Club : kith::BaseModel<Club> {
  std::int64_t id{};
  std::string name;
  static constexpr auto columns = kith::columns<&Club::id, &Club::name>;
};
}  // namespace clubs

TEST_CASE("four processes attaching and syncing one parent's pivot rows never attach a pair twice, with no unique index",
          "[reliability][concurrency][many-to-many][portable]") {
  using namespace clubs;
  SharedDatabase shared;
  {
    auto db = shared.open();
    kith::createTables<Player, Club>(db);
    db.execute("DROP INDEX club_player_player_id_club_id_unique");  // only kith's lock stands between the writers
    Player p;
    p.name = "shared";
    p.save(db);
    for (int i = 1; i <= 20; ++i) {
      Club c;
      c.name = "club " + std::to_string(i);
      c.save(db);
    }
  }
  race(shared, [](kith::Connection& db, int p) {
    auto player = Player::findOrFail(db, 1);
    auto clubs = player.related<&Player::clubs>();
    for (int i = 0; i < rounds; ++i) {
      clubs.detachAll();  // every round the pairs are missing again, and four processes race to attach them
      clubs.attach({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
      std::vector<std::pair<std::int64_t, ClubPlayer>> ranked;
      for (std::int64_t k = 1; k <= 10; ++k) ranked.emplace_back(k, ClubPlayer{p * 100 + i});
      clubs.sync(ranked);
      clubs.syncWithoutDetaching({5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
      clubs.toggle({20});
      clubs.toggle({20});
    }
  });
  // No pair twice. Clubs 1..15 end attached (every process's detachAll and detaching sync is
  // followed by its own attach and syncWithoutDetaching); club 20's last state depends on how the
  // toggles and the detaching calls interleaved.
  auto db = shared.open();
  const auto counts = test::select(
      db, "SELECT count(*), count(DISTINCT club_id), count(CASE WHEN club_id <= 15 THEN 1 END) FROM club_player WHERE player_id = 1");
  REQUIRE(counts.size() == 1);
  CHECK(counts[0][0] == counts[0][1]);
  CHECK(counts[0][2] == "15");
}

#ifdef KITH_TEST_HAVE_POSTGRES
TEST_CASE("PostgreSQL: a row inserted by another connection between the lookup and the insert is read back, not an error",
          "[postgres][concurrency]") {
  auto db = database();
  db.execute("CREATE UNIQUE INDEX posts_user_title ON posts (user_id, title)");
  auto parent = User::create(db, user("a@b"));
  auto other = test::postgresSchema(test::scalar(db, "SELECT current_schema()"));
  // Right after the lookup of the first attempt, another connection inserts the row (autocommit).
  bool raced = false;
  test::StatementLog log(db);
  db.onQuery([&](const kith::QueryEvent& e) {
    log.entries.push_back({std::string(e.sql), {}});
    if (!raced && e.sql.starts_with("SELECT \"id\"")) {
      raced = true;
      other.execute("INSERT INTO posts (user_id, title, body) VALUES (?, 'Lucid 101', 'theirs')", parent.id);
    }
  });
  auto post = parent.related<&User::posts>().firstOrCreate<&Post::title>(blog::post("Lucid 101", "mine"));
  CHECK(post.body == "theirs");
  CHECK(post.isPersisted());
  CHECK(test::rows(db, "posts") == 1);
  // Two attempts: the first INSERT met the unique index and was rolled back.
  const auto sql = log.sql();
  CHECK(std::count(sql.begin(), sql.end(), "SELECT pg_advisory_xact_lock(?)") == 2);
  CHECK(std::count(sql.begin(), sql.end(), "ROLLBACK") == 1);

  // A violation that is not a race (another unique column) reaches the caller after one more look.
  db.execute("CREATE UNIQUE INDEX posts_body ON posts (body)");
  log.clear();
  CHECK_THROWS_AS(parent.related<&User::posts>().firstOrCreate<&Post::title>(blog::post("Other", "theirs")), kith::UniqueViolation);
  const auto again = log.sql();
  CHECK(std::count(again.begin(), again.end(), "ROLLBACK") == 2);
  CHECK(test::rows(db, "posts") == 1);
}
#endif
