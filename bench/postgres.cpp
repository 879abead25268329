// kith_bench_pg: kith against hand-written libpq on a server, paired (runPaired: each repeat runs
// every implementation in turn, the order rotating; each ratio is the median of the repeats'
// ratios), only the operation timed (the connection, and what the operation starts from, are made
// before the timer, on a fresh connection each run, so each side still prepares its statements
// inside the timed part).
// Over the server's Unix socket: P1, 1,000 users with 10 posts each loaded into objects by kith's
// preload (2 queries), by kith with one query per user (N+1: 1,001 queries) and by hand-written
// libpq (2 prepared queries, the second with = ANY($1)); P2, createMany of 10,000 posts against
// hand-written 256-row INSERTs.
// With --delayed, across a 2 ms round trip (bench/delay_proxy.cpp): P3 createMany of 10,000 posts,
// P4 saveMany of 1,000 changed posts, P5 the 1,000 users with three relations preloaded; each kith
// with and without pipelines against hand-written libpq with and without them.
// bench/postgres.sh starts a throwaway server and the proxy and runs it all; figures in
// bench/RESULTS.md.
//
//   kith_bench_pg CONNINFO [--repeats N] [--smoke] [--delayed CONNINFO]
#include <kith/kith.hpp>
#include <kith/postgres.hpp>

#include <libpq-fe.h>

#include "kith_models.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

using bench::models::Post;
using bench::models::User;

// P5's users: the users table with three relations, each preloaded.
struct Profile : kith::BaseModel<Profile> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string bio;
  static constexpr auto columns = kith::columns<&Profile::id, &Profile::userId, &Profile::bio>;
};
struct Session : kith::BaseModel<Session> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string token;
  static constexpr auto columns = kith::columns<&Session::id, &Session::userId, &Session::token>;
};
struct Member : kith::BaseModel<Member> {
  static constexpr std::string_view table = "users";
  std::int64_t id{};
  std::string email;
  std::string name;
  kith::HasMany<Post, kith::keys{.foreignKey = "userId"}> posts;
  kith::HasOne<Profile, kith::keys{.foreignKey = "userId"}> profile;
  kith::HasMany<Session, kith::keys{.foreignKey = "userId"}> sessions;
  static constexpr auto columns = kith::columns<&Member::id, &Member::email, &Member::name>;
};

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

kith::Connection connectKith(const std::string& conninfo, const std::string& schema, bool pipeline = true) {
  auto db = kith::postgres::open(conninfo, {.pipeline = pipeline});
  db.execute("SET search_path TO " + schema);
  return db;
}

// A libpq call that queues into a pipeline returned `ok`: 1, or the call failed.
void sent(PGconn* c, int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string(what) + ": " + PQerrorMessage(c));
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

Checksum kithCreateMany(User& user, int count) {
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

// What a hand-written pipelined loader does (libpq's pipeline mode): BEGIN, each 256-row INSERT
// ... RETURNING id prepared inside the pipeline, the INSERTs and COMMIT, all sent before one sync;
// then every answer read, the ids with them. One round trip for the whole write.
Checksum rawCreateManyPipelined(PGconn* c, int count) {
  const auto posts = postsFor(count);
  if (PQenterPipelineMode(c) != 1) throw std::runtime_error("pipeline mode");
  sent(c, PQsendQueryParams(c, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0), "begin");
  std::map<int, std::string> prepared;
  std::vector<const char*> values;
  int statements = 1;
  for (int at = 0; at < count;) {
    const int n = std::min(256, count - at);
    auto& name = prepared[n];
    if (name.empty()) {
      name = "insert" + std::to_string(n);
      sent(c, PQsendPrepare(c, name.c_str(), insertPostsSql(n).c_str(), 0, nullptr), "prepare insert");
      ++statements;
    }
    bindPosts(values, posts, at, n);
    sent(c, PQsendQueryPrepared(c, name.c_str(), 3 * n, values.data(), nullptr, nullptr, 0), "insert");
    ++statements;
    at += n;
  }
  sent(c, PQsendQueryParams(c, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0), "commit");
  ++statements;
  sent(c, PQpipelineSync(c), "sync");
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

// P4: saveMany of 1,000 changed posts of user 1 (read before the timer), each given `title`.
Checksum kithSaveMany(User& user, std::vector<Post>& posts) {
  user.related<&User::posts>().saveMany(posts);
  Checksum sum = 0;
  for (const auto& p : posts) sum += p.id + static_cast<Checksum>(p.title.size());
  return sum;
}

// What a careful hand-written loop does: one prepared UPDATE per row in one transaction, each
// answer checked (a row that is gone is an error).
Checksum rawSaveMany(PGconn* c, const std::vector<std::int64_t>& ids, const std::string& title) {
  auto exec = [&](const char* sql) {
    Result r(PQexec(c, sql));
    expect(c, r.r, PGRES_COMMAND_OK, sql);
  };
  exec("BEGIN");
  {
    Result r(PQprepare(c, "update_title", "UPDATE posts SET title = $1 WHERE id = $2", 0, nullptr));
    expect(c, r.r, PGRES_COMMAND_OK, "prepare update");
  }
  Checksum sum = 0;
  char id[24];
  for (const std::int64_t key : ids) {
    std::snprintf(id, sizeof id, "%lld", static_cast<long long>(key));
    const char* values[] = {title.c_str(), id};
    Result r(PQexecPrepared(c, "update_title", 2, values, nullptr, nullptr, 0));
    expect(c, r.r, PGRES_COMMAND_OK, "update");
    if (std::string_view(PQcmdTuples(r.r)) != "1") throw std::runtime_error("update: the row is gone");
    sum += key + static_cast<Checksum>(title.size());
  }
  exec("COMMIT");
  return sum;
}

// The same in one pipeline: BEGIN, the preparation and the UPDATEs before one sync. `blind`: COMMIT
// goes in it too, before the loader can know that every row was there (it finds out after);
// otherwise it checks every row count first, as kith (and the sequential loader) does, and then
// sends COMMIT or ROLLBACK.
Checksum rawSaveManyInPipeline(PGconn* c, const std::vector<std::int64_t>& ids, const std::string& title, bool blind) {
  if (PQenterPipelineMode(c) != 1) throw std::runtime_error("pipeline mode");
  sent(c, PQsendQueryParams(c, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0), "begin");
  sent(c, PQsendPrepare(c, "update_title", "UPDATE posts SET title = $1 WHERE id = $2", 0, nullptr), "prepare");
  std::vector<std::array<char, 24>> text(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::snprintf(text[i].data(), text[i].size(), "%lld", static_cast<long long>(ids[i]));
    const char* values[] = {title.c_str(), text[i].data()};
    sent(c, PQsendQueryPrepared(c, "update_title", 2, values, nullptr, nullptr, 0), "update");
  }
  if (blind) sent(c, PQsendQueryParams(c, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0), "commit");
  sent(c, PQpipelineSync(c), "sync");
  Checksum sum = 0;
  bool missing = false;
  for (std::size_t i = 0; i < ids.size() + (blind ? 3 : 2); ++i) {
    while (PGresult* r = PQgetResult(c)) {
      Result result(r);
      if (PQresultStatus(r) != PGRES_COMMAND_OK) throw std::runtime_error(std::string("pipeline: ") + PQerrorMessage(c));
      if (i >= 2 && i < ids.size() + 2) {
        missing = missing || std::string_view(PQcmdTuples(r)) != "1";
        sum += ids[i - 2] + static_cast<Checksum>(title.size());
      }
    }
  }
  Result sync(PQgetResult(c));
  if (PQresultStatus(sync.r) != PGRES_PIPELINE_SYNC) throw std::runtime_error("no sync");
  PQexitPipelineMode(c);
  if (!blind) {
    Result end(PQexec(c, missing ? "ROLLBACK" : "COMMIT"));
    expect(c, end.r, PGRES_COMMAND_OK, "commit");
  }
  if (missing) throw std::runtime_error("update: a row is gone");
  return sum;
}

Checksum rawSaveManyPipelined(PGconn* c, const std::vector<std::int64_t>& ids, const std::string& title) {
  return rawSaveManyInPipeline(c, ids, title, true);
}
Checksum rawSaveManyChecked(PGconn* c, const std::vector<std::int64_t>& ids, const std::string& title) {
  return rawSaveManyInPipeline(c, ids, title, false);
}

// P5: every user with three relations preloaded: posts (10 each), profile (one), sessions (3).
struct RawMember {
  std::int64_t id = 0;
  std::string email, name;
  std::vector<RawPost> posts;
  std::optional<std::pair<std::int64_t, std::string>> profile;
  std::vector<std::pair<std::int64_t, std::string>> sessions;
};

Checksum checksumMembers(const std::vector<Member>& users) {
  Checksum sum = 0;
  for (const auto& u : users) {
    for (const auto& p : u.posts) sum += p.id * 3 + static_cast<Checksum>(p.title.size());
    if (u.profile) sum += u.profile->id * 5 + static_cast<Checksum>(u.profile->bio.size());
    for (const auto& s : u.sessions) sum += s.id * 7 + static_cast<Checksum>(s.token.size());
  }
  return sum;
}

Checksum checksumMembers(const std::vector<RawMember>& users) {
  Checksum sum = 0;
  for (const auto& u : users) {
    for (const auto& p : u.posts) sum += p.id * 3 + static_cast<Checksum>(p.title.size());
    if (u.profile) sum += u.profile->first * 5 + static_cast<Checksum>(u.profile->second.size());
    for (const auto& s : u.sessions) sum += s.first * 7 + static_cast<Checksum>(s.second.size());
  }
  return sum;
}

Checksum kithPreloadThree(const kith::Connection& db) {
  return checksumMembers(Member::query(db).preload<&Member::posts>().preload<&Member::profile>().preload<&Member::sessions>().all());
}

constexpr const char* memberSql[] = {
    "SELECT id, email, name FROM users",
    "SELECT id, user_id, title, body FROM posts WHERE user_id = ANY($1)",
    "SELECT id, user_id, bio FROM profiles WHERE user_id = ANY($1)",
    "SELECT id, user_id, token FROM sessions WHERE user_id = ANY($1)",
};

std::string text(const PGresult* r, int row, int column) {
  return {PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column))};
}
std::int64_t integer(const PGresult* r, int row, int column) { return std::strtoll(PQgetvalue(r, row, column), nullptr, 10); }

// The users' rows, and their keys as one array parameter.
std::vector<RawMember> readMembers(const PGresult* r, std::unordered_map<std::int64_t, std::size_t>& index, std::string& keys) {
  std::vector<RawMember> users(static_cast<std::size_t>(PQntuples(r)));
  index.reserve(users.size());
  keys = "{";
  for (std::size_t i = 0; i < users.size(); ++i) {
    const int row = static_cast<int>(i);
    users[i].id = integer(r, row, 0);
    users[i].email = text(r, row, 1);
    users[i].name = text(r, row, 2);
    index.emplace(users[i].id, i);
    keys += (i ? "," : "") + std::to_string(users[i].id);
  }
  keys += "}";
  return users;
}

// Places relation `which`'s rows (1 posts, 2 profiles, 3 sessions) with their users.
void placeRelated(int which, const PGresult* r, std::vector<RawMember>& users, const std::unordered_map<std::int64_t, std::size_t>& index) {
  for (int i = 0, n = PQntuples(r); i < n; ++i) {
    const auto it = index.find(integer(r, i, 1));
    if (it == index.end()) continue;
    RawMember& u = users[it->second];
    if (which == 1)
      u.posts.push_back(RawPost{integer(r, i, 0), integer(r, i, 1), text(r, i, 2), text(r, i, 3)});
    else if (which == 2 && !u.profile)
      u.profile.emplace(integer(r, i, 0), text(r, i, 2));
    else if (which == 3)
      u.sessions.emplace_back(integer(r, i, 0), text(r, i, 2));
  }
}

// Hand-written, one statement at a time: each prepared, then run (as kith does without a pipeline).
Checksum rawPreloadThree(PGconn* c) {
  for (int k = 0; k < 4; ++k) {
    Result r(PQprepare(c, ("member" + std::to_string(k)).c_str(), memberSql[k], 0, nullptr));
    expect(c, r.r, PGRES_COMMAND_OK, "prepare");
  }
  std::unordered_map<std::int64_t, std::size_t> index;
  std::string keys;
  std::vector<RawMember> users;
  {
    Result r(PQexecPrepared(c, "member0", 0, nullptr, nullptr, nullptr, 0));
    expect(c, r.r, PGRES_TUPLES_OK, "users");
    users = readMembers(r.r, index, keys);
  }
  const char* values[] = {keys.c_str()};
  for (int k = 1; k < 4; ++k) {
    Result r(PQexecPrepared(c, ("member" + std::to_string(k)).c_str(), 1, values, nullptr, nullptr, 0));
    expect(c, r.r, PGRES_TUPLES_OK, "related");
    placeRelated(k, r.r, users, index);
  }
  return checksumMembers(users);
}

// Hand-written with two pipelines: the users' statement prepared and run in one round trip, then
// the three relations' statements prepared and run in another.
Checksum rawPreloadThreePipelined(PGconn* c) {
  // Reads the answers of `count` statements (preparations included), handing those with rows on.
  auto drain = [&](int count, const std::function<void(int, const PGresult*)>& rows) {
    for (int i = 0; i < count; ++i)
      while (PGresult* r = PQgetResult(c)) {
        Result result(r);
        const ExecStatusType status = PQresultStatus(r);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
          throw std::runtime_error(std::string("pipeline: ") + PQerrorMessage(c));
        if (status == PGRES_TUPLES_OK) rows(i, r);
      }
    Result sync(PQgetResult(c));
    if (PQresultStatus(sync.r) != PGRES_PIPELINE_SYNC) throw std::runtime_error("no sync");
  };
  if (PQenterPipelineMode(c) != 1) throw std::runtime_error("pipeline mode");
  sent(c, PQsendPrepare(c, "member0", memberSql[0], 0, nullptr), "prepare");
  sent(c, PQsendQueryPrepared(c, "member0", 0, nullptr, nullptr, nullptr, 0), "users");
  sent(c, PQpipelineSync(c), "sync");
  std::unordered_map<std::int64_t, std::size_t> index;
  std::string keys;
  std::vector<RawMember> users;
  drain(2, [&](int, const PGresult* r) { users = readMembers(r, index, keys); });
  const char* values[] = {keys.c_str()};
  for (int k = 1; k < 4; ++k) {
    const std::string name = "member" + std::to_string(k);
    sent(c, PQsendPrepare(c, name.c_str(), memberSql[k], 0, nullptr), "prepare");
    sent(c, PQsendQueryPrepared(c, name.c_str(), 1, values, nullptr, nullptr, 0), "related");
  }
  sent(c, PQpipelineSync(c), "sync");
  drain(6, [&](int i, const PGresult* r) { placeRelated(i / 2 + 1, r, users, index); });
  PQexitPipelineMode(c);
  return checksumMembers(users);
}

// --- the harness --------------------------------------------------------------------------

using Operation = std::function<Checksum()>;

std::shared_ptr<PGconn> rawConnection(const std::string& conninfo, const std::string& schema) {
  return std::shared_ptr<PGconn>(connectRaw(conninfo, schema), PQfinish);
}

double median(std::vector<double> v);

// A paired comparison across the delayed link: each repeat runs every implementation in turn (the
// order rotating); `prepare` (untimed) connects and reads what the operation starts from, and
// returns the operation, which alone is timed; each ratio is the median of the repeats' ratios.
using Ratio = std::pair<const char*, const char*>;  // numerator, denominator: two implementations

void runPaired(const char* workload, const std::vector<std::pair<const char*, std::function<Operation()>>>& impls, int repeats,
               const std::function<void()>& reset, const std::vector<Ratio>& ratios) {
  std::map<std::string, std::vector<double>> ms;
  std::optional<Checksum> expected;
  for (int r = 0; r < repeats; ++r) {
    for (std::size_t k = 0; k < impls.size(); ++k) {
      const auto& [impl, prepare] = impls[(k + static_cast<std::size_t>(r)) % impls.size()];
      Operation operation = prepare();
      const auto start = std::chrono::steady_clock::now();
      const Checksum sum = operation();
      ms[impl].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      operation = nullptr;  // its connection closed
      if (reset) reset();
      if (expected && *expected != sum) throw std::runtime_error(std::string(workload) + " " + impl + ": checksum differs");
      expected = sum;
    }
  }
  for (const auto& [impl, _] : impls) std::printf("%-3s %-16s %9.3f ms (median of %d)\n", workload, impl, median(ms[impl]), repeats);
  for (const auto& [a, b] : ratios) {
    std::vector<double> each;  // the ratio within each repeat
    for (std::size_t r = 0; r < static_cast<std::size_t>(repeats); ++r) each.push_back(ms[a][r] / ms[b][r]);
    std::printf("ratio %s %s/%s time=%.2f\n", workload, a, b, median(each));
  }
}

void setup(PGconn* c, const std::string& schema, int users, int postsPerUser) {
  const std::string sql =
      "DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema + "; SET search_path TO " + schema +
      "; CREATE TABLE users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);"
      " CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL);"
      " CREATE INDEX posts_user_id_index ON posts (user_id);"
      " CREATE TABLE profiles (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL, bio TEXT NOT NULL);"
      " CREATE INDEX profiles_user_id_index ON profiles (user_id);"
      " CREATE TABLE sessions (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL, token TEXT NOT NULL);"
      " CREATE INDEX sessions_user_id_index ON sessions (user_id);"
      " INSERT INTO users (email, name) SELECT 'user' || i || '@example.com', 'User ' || i FROM generate_series(1, " +
      std::to_string(users) +
      ") i;"
      " INSERT INTO posts (user_id, title, body) SELECT u, 'title ' || p || repeat('t', 12), repeat('b', 100)"
      " FROM generate_series(1, " +
      std::to_string(users) + ") u, generate_series(1, " + std::to_string(postsPerUser) +
      ") p ORDER BY u, p;"
      " INSERT INTO profiles (user_id, bio) SELECT u, 'bio of user ' || u FROM generate_series(1, " +
      std::to_string(users) +
      ") u;"
      " INSERT INTO sessions (user_id, token) SELECT u, md5(u::text || '/' || s) FROM generate_series(1, " +
      std::to_string(users) + ") u, generate_series(1, 3) s ORDER BY u, s; ANALYZE;";
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

  // P1, P2 on the server's own socket, paired as P3-P5 below (runPaired): only the operation timed.
  const auto kithConnected = [&](auto operation) {
    return [&, operation] {
      auto db = std::make_shared<kith::Connection>(connectKith(conninfo, schema));
      return Operation([db, operation] { return operation(*db); });
    };
  };
  const auto rawConnected = [&](auto operation) {
    return [&, operation] {
      auto c = rawConnection(conninfo, schema);
      return Operation([c, operation] { return operation(c.get()); });
    };
  };
  runPaired(
      "P1",
      {{"kith_preload", kithConnected(kithPreload)}, {"kith_n_plus_1", kithConnected(kithNPlusOne)}, {"raw", rawConnected(rawPreload)}},
      repeats, nullptr, {{"kith_preload", "raw"}, {"kith_n_plus_1", "kith_preload"}});
  const auto resetPosts = [&] {
    Result r(PQexec(admin, ("DELETE FROM " + schema + ".posts WHERE id > " + std::to_string(users * postsPerUser)).c_str()));
    expect(admin, r.r, PGRES_COMMAND_OK, "reset");
  };
  runPaired("P2",
            {{"kith",
              [&] {
                auto db = std::make_shared<kith::Connection>(connectKith(conninfo, schema));
                auto user = std::make_shared<User>(User::findOrFail(*db, 1));
                return Operation([user, db, inserts] { return kithCreateMany(*user, inserts); });
              }},
             {"raw", rawConnected([inserts](PGconn* c) { return rawCreateMany(c, inserts); })}},
            repeats, resetPosts, {{"kith", "raw"}});

  // P3-P5 across a round trip (the proxy's delay each way): kith with and without its pipeline
  // against hand-written libpq with and without one, paired (runPaired). Only the operation is
  // timed: the connection, and what the operation starts from, are made before the timer.
  if (!delayed.empty()) {
    const std::string base = std::to_string(users * postsPerUser);  // the posts setup() made
    const auto reset = [&] {
      Result r(PQexec(admin, ("DELETE FROM " + schema + ".posts WHERE id > " + base).c_str()));
      expect(admin, r.r, PGRES_COMMAND_OK, "reset");
    };
    // P3: createMany of 10,000 posts of user 1 (read before the timer).
    const auto kithP3 = [&](bool pipeline) {
      return [&, pipeline] {
        auto db = std::make_shared<kith::Connection>(connectKith(delayed, schema, pipeline));
        auto user = std::make_shared<User>(User::findOrFail(*db, 1));
        return Operation([db, user, inserts] { return kithCreateMany(*user, inserts); });
      };
    };
    const auto rawP3 = [&](Checksum (*load)(PGconn*, int)) {
      return [&, load] {
        auto c = rawConnection(delayed, schema);
        return Operation([c, load, inserts] { return load(c.get(), inserts); });
      };
    };
    runPaired("P3",
              {{"kith", kithP3(true)},
               {"kith_sequential", kithP3(false)},
               {"raw_pipelined", rawP3(rawCreateManyPipelined)},
               {"raw_sequential", rawP3(rawCreateMany)}},
              repeats, reset, {{"kith", "raw_pipelined"}, {"kith", "kith_sequential"}, {"raw_pipelined", "raw_sequential"}});

    // P4: saveMany of 1,000 changed posts (user 1's, added for it), each run giving them a new title.
    const int changed = smoke ? 100 : 1000;
    {
      Result r(
          PQexec(admin, ("INSERT INTO " + schema + ".posts (user_id, title, body) SELECT 1, 'draft ' || i, 'b' FROM generate_series(1, " +
                         std::to_string(changed) + ") i")
                            .c_str()));
      expect(admin, r.r, PGRES_COMMAND_OK, "P4 rows");
    }
    int round = 0;
    const auto nextTitle = [&] {
      char title[32];
      std::snprintf(title, sizeof title, "edited %06d", ++round);
      return std::string(title);
    };
    const auto kithP4 = [&](bool pipeline) {
      return [&, pipeline] {
        auto db = std::make_shared<kith::Connection>(connectKith(delayed, schema, pipeline));
        auto user = std::make_shared<User>(User::findOrFail(*db, 1));
        auto posts =
            std::make_shared<std::vector<Post>>(Post::query(*db).where<&Post::id>(">", std::stoll(base)).orderBy<&Post::id>().all());
        const std::string title = nextTitle();
        for (auto& p : *posts) p.title = title;
        return Operation([db, user, posts] { return kithSaveMany(*user, *posts); });
      };
    };
    const auto rawP4 = [&](Checksum (*save)(PGconn*, const std::vector<std::int64_t>&, const std::string&)) {
      return [&, save] {
        auto c = rawConnection(delayed, schema);
        auto ids = std::make_shared<std::vector<std::int64_t>>();
        Result r(PQexec(c.get(), ("SELECT id FROM posts WHERE id > " + base + " ORDER BY id").c_str()));
        expect(c.get(), r.r, PGRES_TUPLES_OK, "P4 ids");
        for (int i = 0; i < PQntuples(r.r); ++i) ids->push_back(integer(r.r, i, 0));
        return Operation([c, ids, save, title = nextTitle()] { return save(c.get(), *ids, title); });
      };
    };
    runPaired("P4",
              {{"kith", kithP4(true)},
               {"kith_sequential", kithP4(false)},
               {"raw_pipelined", rawP4(rawSaveManyPipelined)},
               {"raw_checked", rawP4(rawSaveManyChecked)},
               {"raw_sequential", rawP4(rawSaveMany)}},
              repeats, nullptr,
              {{"kith", "raw_pipelined"}, {"kith", "raw_checked"}, {"kith", "kith_sequential"}, {"raw_pipelined", "raw_sequential"}});
    reset();

    // P5: the users with three relations preloaded (posts, profile, sessions).
    const auto kithP5 = [&](bool pipeline) {
      return [&, pipeline] {
        auto db = std::make_shared<kith::Connection>(connectKith(delayed, schema, pipeline));
        return Operation([db] { return kithPreloadThree(*db); });
      };
    };
    const auto rawP5 = [&](Checksum (*load)(PGconn*)) {
      return [&, load] {
        auto c = rawConnection(delayed, schema);
        return Operation([c, load] { return load(c.get()); });
      };
    };
    runPaired("P5",
              {{"kith", kithP5(true)},
               {"kith_sequential", kithP5(false)},
               {"raw_pipelined", rawP5(rawPreloadThreePipelined)},
               {"raw_sequential", rawP5(rawPreloadThree)}},
              repeats, nullptr, {{"kith", "raw_pipelined"}, {"kith", "kith_sequential"}, {"raw_pipelined", "raw_sequential"}});
  }
  Result drop(PQexec(admin, ("DROP SCHEMA " + schema + " CASCADE").c_str()));
  PQfinish(admin);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "kith_bench_pg: %s\n", e.what());
  return 1;
}
