// kith_bench_pg: why preload matters on a server. 1,000 users with 10 posts each, loaded into
// objects over a Unix socket three ways: kith's preload (2 queries), kith with one query per user
// (N+1: 1,001 queries) and hand-written libpq (2 prepared queries, the second with = ANY($1)); and
// createMany of 10,000 posts against hand-written 256-row INSERTs. Every run opens a fresh
// connection, so each side prepares its statements inside the run. bench/postgres.sh starts a
// throwaway server and runs it; figures in bench/RESULTS.md.
//
//   kith_bench_pg CONNINFO [--repeats N] [--smoke]
#include <kith/kith.hpp>
#include <kith/postgres.hpp>

#include <libpq-fe.h>

#include "kith_models.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using bench::models::Post;
using bench::models::User;

// What hand-written code loads into.
struct RawPost {
  std::int64_t id = 0, userId = 0;
  std::string title, body;
};
struct RawUser {
  std::int64_t id = 0;
  std::string email, name;
  std::vector<RawPost> posts;
};

using Checksum = std::int64_t;

Checksum checksum(const std::vector<User>& users) {
  Checksum sum = 0;
  for (const auto& u : users)
    for (const auto& p : u.posts) sum += p.id * 3 + u.id + static_cast<Checksum>(p.title.size());
  return sum;
}

Checksum checksum(const std::vector<RawUser>& users) {
  Checksum sum = 0;
  for (const auto& u : users)
    for (const auto& p : u.posts) sum += p.id * 3 + u.id + static_cast<Checksum>(p.title.size());
  return sum;
}

struct Result {
  PGresult* r;
  explicit Result(PGresult* result) : r(result) {}
  ~Result() { PQclear(r); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
};

void expect(PGconn* c, PGresult* r, ExecStatusType status, const char* what) {
  if (PQresultStatus(r) != status) throw std::runtime_error(std::string(what) + ": " + PQerrorMessage(c));
}

PGconn* connectRaw(const std::string& conninfo, const std::string& schema) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
  Result r(PQexec(c, ("SET search_path TO " + schema).c_str()));
  expect(c, r.r, PGRES_COMMAND_OK, "search_path");
  return c;
}

kith::Connection connectKith(const std::string& conninfo, const std::string& schema) {
  auto db = kith::postgres::open(conninfo);
  db.execute("SET search_path TO " + schema);
  return db;
}

// --- the workloads ------------------------------------------------------------------------

Checksum kithPreload(const kith::Connection& db) { return checksum(User::query(db).preload<&User::posts>().all()); }

Checksum kithNPlusOne(const kith::Connection& db) {
  auto users = User::query(db).all();
  for (auto& u : users) u.load<&User::posts>();
  return checksum(users);
}

Checksum rawPreload(PGconn* c) {
  {
    Result a(PQprepare(c, "users", "SELECT id, email, name FROM users", 0, nullptr));
    expect(c, a.r, PGRES_COMMAND_OK, "prepare users");
    Result b(PQprepare(c, "posts", "SELECT id, user_id, title, body FROM posts WHERE user_id = ANY($1)", 0, nullptr));
    expect(c, b.r, PGRES_COMMAND_OK, "prepare posts");
  }
  std::vector<RawUser> users;
  std::map<std::int64_t, std::size_t> index;
  std::string keys = "{";
  {
    Result r(PQexecPrepared(c, "users", 0, nullptr, nullptr, nullptr, 0));
    expect(c, r.r, PGRES_TUPLES_OK, "users");
    const int n = PQntuples(r.r);
    users.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto& u = users[static_cast<std::size_t>(i)];
      u.id = std::strtoll(PQgetvalue(r.r, i, 0), nullptr, 10);
      u.email.assign(PQgetvalue(r.r, i, 1), static_cast<std::size_t>(PQgetlength(r.r, i, 1)));
      u.name.assign(PQgetvalue(r.r, i, 2), static_cast<std::size_t>(PQgetlength(r.r, i, 2)));
      index[u.id] = static_cast<std::size_t>(i);
      keys += (i ? "," : "") + std::to_string(u.id);
    }
  }
  keys += "}";
  const char* values[] = {keys.c_str()};
  Result r(PQexecPrepared(c, "posts", 1, values, nullptr, nullptr, 0));
  expect(c, r.r, PGRES_TUPLES_OK, "posts");
  for (int i = 0, n = PQntuples(r.r); i < n; ++i) {
    RawPost p;
    p.id = std::strtoll(PQgetvalue(r.r, i, 0), nullptr, 10);
    p.userId = std::strtoll(PQgetvalue(r.r, i, 1), nullptr, 10);
    p.title.assign(PQgetvalue(r.r, i, 2), static_cast<std::size_t>(PQgetlength(r.r, i, 2)));
    p.body.assign(PQgetvalue(r.r, i, 3), static_cast<std::size_t>(PQgetlength(r.r, i, 3)));
    if (auto it = index.find(p.userId); it != index.end()) users[it->second].posts.push_back(std::move(p));
  }
  return checksum(users);
}

std::vector<Post> postsFor(int count) {
  std::vector<Post> out(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    out[static_cast<std::size_t>(i)].title = "title " + std::to_string(i) + std::string(12, 't');
    out[static_cast<std::size_t>(i)].body = std::string(100, 'b');
  }
  return out;
}

Checksum kithCreateMany(const kith::Connection& db, int count) {
  auto user = User::findOrFail(db, 1);
  const auto created = user.related<&User::posts>().createMany(postsFor(count));
  Checksum sum = 0;
  for (const auto& p : created) sum += p.userId + static_cast<Checksum>(p.title.size());
  return sum;
}

// The hand-written loaders' INSERT of `n` posts of user 1, returning their ids.
std::string insertPostsSql(int n) {
  std::string sql = "INSERT INTO posts (user_id, title, body) VALUES ";
  for (int k = 0; k < n; ++k)
    sql += (k ? ", ($" : "($") + std::to_string(3 * k + 1) + ", $" + std::to_string(3 * k + 2) + ", $" + std::to_string(3 * k + 3) + ")";
  return sql + " RETURNING id";
}

// Its parameters for posts[at, at + n), replacing what `values` held.
void bindPosts(std::vector<const char*>& values, const std::vector<Post>& posts, int at, int n) {
  values.clear();
  for (int k = 0; k < n; ++k) {
    values.push_back("1");
    values.push_back(posts[static_cast<std::size_t>(at + k)].title.c_str());
    values.push_back(posts[static_cast<std::size_t>(at + k)].body.c_str());
  }
}

// 256-row INSERTs with RETURNING id, in one transaction: what a careful hand-written loader does.
Checksum rawCreateMany(PGconn* c, int count) {
  const auto posts = postsFor(count);
  Checksum sum = 0;
  auto exec = [&](const char* sql) {
    Result r(PQexec(c, sql));
    expect(c, r.r, PGRES_COMMAND_OK, sql);
  };
  exec("BEGIN");
  std::map<int, std::string> prepared;
  for (int at = 0; at < count;) {
    const int n = std::min(256, count - at);
    auto& name = prepared[n];
    if (name.empty()) {
      name = "insert" + std::to_string(n);
      Result r(PQprepare(c, name.c_str(), insertPostsSql(n).c_str(), 0, nullptr));
      expect(c, r.r, PGRES_COMMAND_OK, "prepare insert");
    }
    std::vector<const char*> values;
    bindPosts(values, posts, at, n);
    Result r(PQexecPrepared(c, name.c_str(), 3 * n, values.data(), nullptr, nullptr, 0));
    expect(c, r.r, PGRES_TUPLES_OK, "insert");
    for (int k = 0; k < n; ++k) sum += 1 + static_cast<Checksum>(posts[static_cast<std::size_t>(at + k)].title.size());
    at += n;
  }
  exec("COMMIT");
  return sum;
}

// kith's createMany without its pipeline: one round trip per INSERT, as before issue 31.
Checksum kithCreateManySequential(const std::string& conninfo, const std::string& schema, int count) {
  auto db = kith::postgres::open(conninfo, {.pipeline = false});
  db.execute("SET search_path TO " + schema);
  return kithCreateMany(db, count);
}

// What a hand-written pipelined loader does (libpq's pipeline mode): BEGIN, each 256-row INSERT
// ... RETURNING id prepared inside the pipeline, the INSERTs and COMMIT, all sent before one sync;
// then every answer read, the ids with them. One round trip for the whole write.
Checksum rawCreateManyPipelined(PGconn* c, int count) {
  const auto posts = postsFor(count);
  if (PQenterPipelineMode(c) != 1) throw std::runtime_error("pipeline mode");
  auto send = [&](int ok, const char* what) {
    if (ok != 1) throw std::runtime_error(std::string(what) + ": " + PQerrorMessage(c));
  };
  send(PQsendQueryParams(c, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0), "begin");
  std::map<int, std::string> prepared;
  std::vector<const char*> values;
  int statements = 1;
  for (int at = 0; at < count;) {
    const int n = std::min(256, count - at);
    auto& name = prepared[n];
    if (name.empty()) {
      name = "insert" + std::to_string(n);
      send(PQsendPrepare(c, name.c_str(), insertPostsSql(n).c_str(), 0, nullptr), "prepare insert");
      ++statements;
    }
    bindPosts(values, posts, at, n);
    send(PQsendQueryPrepared(c, name.c_str(), 3 * n, values.data(), nullptr, nullptr, 0), "insert");
    ++statements;
    at += n;
  }
  send(PQsendQueryParams(c, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0), "commit");
  ++statements;
  send(PQpipelineSync(c), "sync");
  Checksum sum = 0;
  std::size_t row = 0;
  for (int i = 0; i < statements; ++i) {
    while (PGresult* r = PQgetResult(c)) {
      Result result(r);
      const ExecStatusType status = PQresultStatus(r);
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(std::string("pipeline: ") + PQerrorMessage(c));
      for (int k = 0, n = status == PGRES_TUPLES_OK ? PQntuples(r) : 0; k < n; ++k, ++row)
        sum += (std::strtoll(PQgetvalue(r, k, 0), nullptr, 10) > 0) + static_cast<Checksum>(posts[row].title.size());
    }
  }
  Result sync(PQgetResult(c));
  if (PQresultStatus(sync.r) != PGRES_PIPELINE_SYNC) throw std::runtime_error("no sync");
  PQexitPipelineMode(c);
  return sum;
}

// --- the harness --------------------------------------------------------------------------

void setup(PGconn* c, const std::string& schema, int users, int postsPerUser) {
  const std::string sql =
      "DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema + "; SET search_path TO " + schema +
      "; CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);"
      " CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL);"
      " CREATE INDEX posts_user_id_index ON posts (user_id);"
      " INSERT INTO users (email, name) SELECT 'user' || i || '@example.com', 'User ' || i FROM generate_series(1, " +
      std::to_string(users) +
      ") i;"
      " INSERT INTO posts (user_id, title, body) SELECT u, 'title ' || p || repeat('t', 12), repeat('b', 100)"
      " FROM generate_series(1, " +
      std::to_string(users) + ") u, generate_series(1, " + std::to_string(postsPerUser) + ") p ORDER BY u, p; ANALYZE;";
  Result r(PQexec(c, sql.c_str()));
  expect(c, r.r, PGRES_COMMAND_OK, "setup");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONNINFO [--repeats N] [--smoke]\n", argv[0]);
    return 2;
  }
  const std::string conninfo = argv[1];
  int repeats = 7;
  bool smoke = false;
  std::string delayed;  // --delayed CONNINFO: the same server through bench/delay_proxy.cpp, for P3
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--repeats" && i + 1 < argc) repeats = std::atoi(argv[++i]);
    if (arg == "--delayed" && i + 1 < argc) delayed = argv[++i];
    if (arg == "--smoke") smoke = true;
  }
  const int users = smoke ? 20 : 1000, postsPerUser = 10, inserts = smoke ? 300 : 10000;
  if (smoke) repeats = 1;
  const std::string schema = "kith_bench_" + std::to_string(getpid());
  PGconn* admin = PQconnectdb(conninfo.c_str());
  if (PQstatus(admin) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(admin));
  PQsetNoticeProcessor(
      admin, [](void*, const char*) {}, nullptr);
  setup(admin, schema, users, postsPerUser);

  struct Workload {
    const char* name;
    const char* impl;
    std::function<Checksum()> run;
    bool resets;  // inserts: the posts table is put back after each run
  };
  const std::vector<Workload> workloads = {
      {"P1", "kith preload", [&] { return kithPreload(connectKith(conninfo, schema)); }, false},
      {"P1", "kith N+1", [&] { return kithNPlusOne(connectKith(conninfo, schema)); }, false},
      {"P1", "raw libpq",
       [&] {
         PGconn* c = connectRaw(conninfo, schema);
         const auto sum = rawPreload(c);
         PQfinish(c);
         return sum;
       },
       false},
      {"P2", "kith createMany", [&] { return kithCreateMany(connectKith(conninfo, schema), inserts); }, true},
      {"P2", "raw libpq",
       [&] {
         PGconn* c = connectRaw(conninfo, schema);
         const auto sum = rawCreateMany(c, inserts);
         PQfinish(c);
         return sum;
       },
       true},
  };
  std::map<std::string, double> medianMs;
  std::map<std::string, Checksum> sums;
  for (const auto& w : workloads) {
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      const Checksum sum = w.run();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      if (r == 0 && sums.count(w.name) && sums[w.name] != sum) {
        std::fprintf(stderr, "%s %s: checksum %lld differs from %lld\n", w.name, w.impl, static_cast<long long>(sum),
                     static_cast<long long>(sums[w.name]));
        return 1;
      }
      sums[w.name] = sum;
      if (w.resets) {
        Result reset(PQexec(admin, ("DELETE FROM " + schema + ".posts WHERE id > " + std::to_string(users * postsPerUser)).c_str()));
        expect(admin, reset.r, PGRES_COMMAND_OK, "reset");
      }
    }
    medianMs[std::string(w.name) + " " + w.impl] = median(ms);
    std::printf("%-3s %-16s %9.3f ms (median of %d)\n", w.name, w.impl, median(ms), repeats);
  }
  std::printf("ratio P1 kith preload/raw libpq time=%.2f\n", medianMs["P1 kith preload"] / medianMs["P1 raw libpq"]);
  std::printf("ratio P1 kith N+1/kith preload time=%.2f\n", medianMs["P1 kith N+1"] / medianMs["P1 kith preload"]);
  std::printf("ratio P2 kith createMany/raw libpq time=%.2f\n", medianMs["P2 kith createMany"] / medianMs["P2 raw libpq"]);

  // P3: createMany of 10,000 rows across a round trip (the proxy's delay each way), kith with and
  // without its pipeline against hand-written libpq with and without one. Paired: the four run
  // in turn each repeat (the order rotating), and each ratio is the median of the repeats' ratios.
  if (!delayed.empty()) {
    const auto reset = [&] {
      Result r(PQexec(admin, ("DELETE FROM " + schema + ".posts WHERE id > " + std::to_string(users * postsPerUser)).c_str()));
      expect(admin, r.r, PGRES_COMMAND_OK, "reset");
    };
    const std::vector<std::pair<const char*, std::function<Checksum()>>> p3 = {
        {"kith", [&] { return kithCreateMany(connectKith(delayed, schema), inserts); }},
        {"kith_sequential", [&] { return kithCreateManySequential(delayed, schema, inserts); }},
        {"raw_pipelined",
         [&] {
           PGconn* c = connectRaw(delayed, schema);
           const auto sum = rawCreateManyPipelined(c, inserts);
           PQfinish(c);
           return sum;
         }},
        {"raw_sequential",
         [&] {
           PGconn* c = connectRaw(delayed, schema);
           const auto sum = rawCreateMany(c, inserts);
           PQfinish(c);
           return sum;
         }},
    };
    std::map<std::string, std::vector<double>> ms;
    std::vector<double> overPipelined, overSequential;
    std::optional<Checksum> expected;
    for (int r = 0; r < repeats; ++r) {
      std::map<std::string, double> now;
      for (std::size_t k = 0; k < p3.size(); ++k) {
        const auto& [impl, run] = p3[(k + static_cast<std::size_t>(r)) % p3.size()];
        const auto start = std::chrono::steady_clock::now();
        const Checksum sum = run();
        now[impl] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        ms[impl].push_back(now[impl]);
        reset();
        if (expected && *expected != sum) throw std::runtime_error(std::string("P3 ") + impl + ": checksum differs");
        expected = sum;
      }
      overPipelined.push_back(now["kith"] / now["raw_pipelined"]);
      overSequential.push_back(now["kith"] / now["kith_sequential"]);
    }
    for (const auto& [impl, _] : p3) std::printf("P3  %-16s %9.3f ms (median of %d)\n", impl, median(ms[impl]), repeats);
    std::printf("ratio P3 kith/raw_pipelined time=%.2f\n", median(overPipelined));
    std::printf("ratio P3 kith/kith_sequential time=%.2f\n", median(overSequential));
    std::printf("ratio P3 raw_pipelined/raw_sequential time=%.2f\n", median(ms["raw_pipelined"]) / median(ms["raw_sequential"]));
  }
  Result drop(PQexec(admin, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
  PQfinish(admin);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "kith_bench_pg: %s\n", e.what());
  return 1;
}
