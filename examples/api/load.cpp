// examples/api under load, as many clients at once would use it.
//
//   kith_api_load SERVER [--postgres] --check
//       8 clients, a few thousand mixed requests (create users with posts, list, show, rename,
//       delete, races of two creates on one email), idle and trickling connections beside them;
//       then the database is checked against the answers: every 201 row is there (unless its
//       204 removed it), nothing is there that no answer created, no 5xx, no connection error,
//       exactly one 201 and one 409 per race, and no request waited on the idle clients.
//   kith_api_load SERVER [--postgres] --bench [--seconds S] [--pairs P] [--clients 1,4,16] [--connections N] [--threads N]
//       throughput and latency of a read-mostly mix, for the server with its pool and with
//       --single (one connection, one request at a time), both running, measured alternately
//       (P pairs of S seconds, medians): lines "api DB MODE clients=N rps=.. p50=..ms p99=..ms" and
//       "api DB pool/single clients=N ratio=..".
// PostgreSQL: a new schema of the server in KITH_TEST_POSTGRES (exit 77 when it is not set).
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using harness::Post;
using harness::User;

int failures = 0;
void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAILED: %s\n", what.c_str());
  }
}

/// A user as a client knows it: its id and email. SQLite gives the id of a deleted row to the next
/// insert, so an id alone does not name one user over a run.
using UserKey = std::pair<std::int64_t, std::string>;

/// What one client saw: the rows its 201s created, the users its 204s removed, the names it set,
/// the answers it did not expect.
struct Seen {
  std::map<UserKey, std::string> users;                 // the name of its last 200 PATCH (or its create)
  std::vector<std::pair<std::int64_t, UserKey>> posts;  // a post's id, and its user
  std::set<UserKey> deleted;
  std::vector<std::string> unexpected;  // 5xx, connection errors, statuses a request should not get
  std::size_t requests = 0;
  double slowest = 0;  // seconds
};

/// A TCP connection to the server that sends `bytes` one at a time, `gap` apart (nothing when
/// empty), until `stop`: the clients a server must not wait for.
void loiter(int port, const std::string& bytes, std::chrono::milliseconds gap, const std::atomic<bool>& stop) {
  while (!stop) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      for (std::size_t i = 0; !stop && (bytes.empty() || i < bytes.size()); ++i) {
        if (!bytes.empty() && send(fd, &bytes[i], 1, MSG_NOSIGNAL) != 1) break;
        std::this_thread::sleep_for(gap);
      }
    }
    close(fd);
  }
}

/// One client of the check: `rounds` of create, post, show, rename, list, sometimes delete, and a
/// race with its partner on one email every tenth round.
void client(int port, int id, int rounds, std::barrier<>& partner, Seen& seen, std::map<std::string, std::vector<int>>& races,
            std::mutex& racesMutex) {
  httplib::Client http("127.0.0.1", port);
  http.set_read_timeout(30);
  const auto send = [&](const char* method, const std::string& path, const std::string& body, std::initializer_list<int> expected) {
    const auto started = Clock::now();
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (!body.empty()) req.set_header("Content-Type", "application/json");
    auto r = http.send(req);
    ++seen.requests;
    seen.slowest = std::max(seen.slowest, std::chrono::duration<double>(Clock::now() - started).count());
    if (std::getenv("KITH_LOAD_DEBUG") && std::chrono::duration<double>(Clock::now() - started).count() > 0.3)
      std::fprintf(stderr, "slow: %s %s %.3f s\n", method, path.c_str(), std::chrono::duration<double>(Clock::now() - started).count());
    if (!r)
      seen.unexpected.push_back(std::string(method) + " " + path + ": connection error " + httplib::to_string(r.error()));
    else if (std::find(expected.begin(), expected.end(), r->status) == expected.end())
      seen.unexpected.push_back(std::string(method) + " " + path + ": " + std::to_string(r->status) + " " + r->body.substr(0, 200));
    return r;
  };
  const auto idOf = [](const httplib::Result& r) {
    return r && r->status < 300 ? Json::parse(r->body, nullptr, false).value("id", std::int64_t{0}) : 0;
  };
  for (int round = 0; round < rounds; ++round) {
    const std::string tag = "c" + std::to_string(id) + "r" + std::to_string(round);
    const auto created = send("POST", "/users", Json{{"email", tag + "@load.test"}, {"name", tag}}.dump(), {201});
    const std::int64_t user = idOf(created);
    const UserKey key{user, tag + "@load.test"};
    if (user > 0) {
      seen.users[key] = tag;
      for (int k = 0; k < 2; ++k) {
        const auto post = send("POST", "/users/" + std::to_string(user) + "/posts",
                               Json{{"title", tag + " post " + std::to_string(k)}, {"body", "written under load"}}.dump(), {201});
        if (const auto p = idOf(post); p > 0) seen.posts.push_back({p, key});
      }
      const auto shown = send("GET", "/users/" + std::to_string(user), "", {200});
      if (shown && shown->status == 200 && Json::parse(shown->body, nullptr, false)["posts"].size() != 2)
        seen.unexpected.push_back("GET /users/" + std::to_string(user) + " did not show its two posts: " + shown->body.substr(0, 200));
      if (const auto r = send("PATCH", "/users/" + std::to_string(user), Json{{"name", tag + " renamed"}}.dump(), {200});
          r && r->status == 200)
        seen.users[key] = tag + " renamed";
    }
    send("GET", "/users?page=" + std::to_string(round % 5 + 1) + "&perPage=10", "", {200});
    send("GET", "/posts?perPage=10", "", {200});
    if (user > 0 && round % 3 == 0) {
      const auto removed = send("DELETE", "/users/" + std::to_string(user), "", {204});
      if (removed && removed->status == 204) seen.deleted.insert(key);
    }
    if (round % 10 == 0) {  // both clients of a pair create the same email at the same moment
      const std::string email = "race-" + std::to_string(id / 2) + "-" + std::to_string(round) + "@load.test";
      partner.arrive_and_wait();
      const auto r = send("POST", "/users", Json{{"email", email}, {"name", "racer"}}.dump(), {201, 409});
      if (const auto u = idOf(r); u > 0) seen.users[{u, email}] = "racer";
      std::lock_guard lock(racesMutex);
      races[email].push_back(r ? r->status : -1);
    }
  }
}

void runCheck(const std::string& program, const harness::Database& database) {
  std::vector<std::string> args{"--port", "0", "--migrate"};
  for (auto& a : database.serverArgs()) args.push_back(a);
  harness::Server server(program, args);

  // Clients that sit idle or trickle their request in must not hold up the others.
  std::atomic<bool> stop{false};
  std::vector<std::thread> loiterers;
  for (int i = 0; i < 5; ++i) loiterers.emplace_back(loiter, server.port, std::string(), std::chrono::milliseconds(50), std::cref(stop));
  loiterers.emplace_back(loiter, server.port,
                         std::string("POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{}"),
                         std::chrono::milliseconds(100), std::cref(stop));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    httplib::Client http("127.0.0.1", server.port);
    const auto started = Clock::now();
    const auto r = http.Get("/users");
    const double waited = std::chrono::duration<double>(Clock::now() - started).count();
    check(r && r->status == 200, "GET /users beside 5 idle connections and a trickling one");
    check(waited < 1.0,
          "a request beside idle connections is answered at once, not after their timeouts: " + std::to_string(waited) + " s");
  }

  constexpr int clients = 8;
  constexpr int rounds = 90;  // 8 clients x 90 rounds: 5,352 requests
  std::vector<Seen> seen(clients);
  std::map<std::string, std::vector<int>> races;
  std::mutex racesMutex;
  std::vector<std::unique_ptr<std::barrier<>>> pairs;
  for (int p = 0; p < clients / 2; ++p) pairs.push_back(std::make_unique<std::barrier<>>(2));
  const auto started = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back(client, server.port, c, rounds, std::ref(*pairs[static_cast<std::size_t>(c / 2)]),
                         std::ref(seen[static_cast<std::size_t>(c)]), std::ref(races), std::ref(racesMutex));
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  stop = true;
  for (auto& t : loiterers) t.join();

  std::size_t requests = 0;
  double slowest = 0;
  std::map<UserKey, std::string> users;
  std::vector<std::pair<std::int64_t, UserKey>> posts;
  std::set<UserKey> deleted;
  for (const Seen& s : seen) {
    requests += s.requests;
    slowest = std::max(slowest, s.slowest);
    for (const auto& u : s.unexpected) check(false, u);
    users.insert(s.users.begin(), s.users.end());
    posts.insert(posts.end(), s.posts.begin(), s.posts.end());
    deleted.insert(s.deleted.begin(), s.deleted.end());
  }
  std::printf("%zu requests from %d clients in %.1f s (%.0f per second), the slowest %.0f ms\n", requests, clients, seconds,
              static_cast<double>(requests) / seconds, slowest * 1000);
  check(requests >= 3000, "a few thousand requests: " + std::to_string(requests));
  for (const auto& [email, statuses] : races) {
    auto sorted = statuses;
    std::sort(sorted.begin(), sorted.end());
    check(sorted == std::vector<int>{201, 409}, "two creates of " + email + " give one 201 and one 409");
  }

  // The database against the answers: the users created and not deleted, with their last names;
  // their posts; nothing else.
  const kith::Connection db = database.open();
  std::map<UserKey, std::string> expectedUsers, storedUsers;
  for (const auto& [key, name] : users)
    if (!deleted.contains(key)) expectedUsers[key] = name;
  for (const auto& u : User::query(db).all()) storedUsers[{u.id, u.email}] = u.name;
  for (const auto& [key, name] : storedUsers)
    if (!expectedUsers.contains(key))
      std::printf("  stored, not expected: user %lld %s %s%s\n", static_cast<long long>(key.first), key.second.c_str(), name.c_str(),
                  deleted.contains(key) ? " (its DELETE answered 204)"
                  : users.contains(key) ? ""
                                        : " (no answer created it)");
  for (const auto& [key, name] : expectedUsers)
    if (!storedUsers.contains(key))
      std::printf("  expected, not stored: user %lld %s\n", static_cast<long long>(key.first), key.second.c_str());
  check(storedUsers == expectedUsers, "the users table holds exactly the users created and not deleted, with their last names (" +
                                          std::to_string(storedUsers.size()) + " stored, " + std::to_string(expectedUsers.size()) +
                                          " expected)");
  std::multiset<std::pair<std::int64_t, std::int64_t>> expectedPosts, storedPosts;
  for (const auto& [id, owner] : posts)
    if (!deleted.contains(owner)) expectedPosts.insert({id, owner.first});
  for (const auto& p : Post::query(db).all()) storedPosts.insert({p.id, p.userId});
  check(storedPosts == expectedPosts, "the posts table holds exactly the posts created for users not deleted (" +
                                          std::to_string(storedPosts.size()) + " stored, " + std::to_string(expectedPosts.size()) +
                                          " expected)");
}

/// Requests of a read-mostly mix for `seconds`: latencies in seconds, and how many failed.
std::vector<double> drive(int port, int clients, double seconds, std::int64_t users, std::atomic<int>& errors) {
  std::vector<std::vector<double>> each(static_cast<std::size_t>(clients));
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client http("127.0.0.1", port);
      http.set_read_timeout(60);
      std::mt19937 random(static_cast<unsigned>(c + 1));
      auto& latencies = each[static_cast<std::size_t>(c)];
      while (Clock::now() < until) {
        const int pick = static_cast<int>(random() % 100);
        const std::string user = "/users/" + std::to_string(random() % static_cast<unsigned>(users) + 1);
        const auto started = Clock::now();
        httplib::Result r = pick < 45   ? http.Get(user)
                            : pick < 70 ? http.Get("/users?perPage=10&page=" + std::to_string(random() % 10 + 1))
                            : pick < 90
                                ? http.Get("/posts?perPage=10&page=" + std::to_string(random() % 10 + 1))
                                : http.Patch(user, Json{{"name", "renamed " + std::to_string(random())}}.dump(), "application/json");
        latencies.push_back(std::chrono::duration<double>(Clock::now() - started).count());
        if (!r || r->status >= 500) ++errors;
      }
    });
  for (auto& t : threads) t.join();
  std::vector<double> all;
  for (auto& e : each) all.insert(all.end(), e.begin(), e.end());
  return all;
}

void runBench(const std::string& program, const harness::Database& database, double seconds, int pairs,
              const std::vector<int>& clientCounts, const std::vector<std::string>& poolArgs) {
  constexpr std::int64_t users = 200;
  {  // the data every run reads: 200 users with 5 posts each, written straight to the database
    std::vector<std::string> args{"--port", "0", "--migrate"};
    for (auto& a : database.serverArgs()) args.push_back(a);
    harness::Server creator(program, args);  // migrates: creates the tables
    httplib::Client http("127.0.0.1", creator.port);
    for (std::int64_t u = 1; u <= users; ++u) {
      http.Post("/users", Json{{"email", "u" + std::to_string(u) + "@bench.test"}, {"name", "User " + std::to_string(u)}}.dump(),
                "application/json");
      for (int p = 0; p < 5; ++p)
        http.Post("/users/" + std::to_string(u) + "/posts",
                  Json{{"title", "Post " + std::to_string(p)}, {"body", std::string(200, 'b')}}.dump(), "application/json");
    }
  }
  // Both servers run at once on the same data; each measurement alternates between them, and the
  // ratio is the median of the ratios of adjacent runs (this machine is shared: single runs drift).
  std::vector<std::string> args{"--port", "0", "--migrate"};
  for (auto& a : database.serverArgs()) args.push_back(a);
  auto pooledArgs = args, singleArgs = args;
  pooledArgs.insert(pooledArgs.end(), poolArgs.begin(), poolArgs.end());
  singleArgs.push_back("--single");
  harness::Server pooled(program, pooledArgs), single(program, singleArgs);
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  for (const int clients : clientCounts) {
    std::vector<double> ratios, rps[2], p50[2], p99[2];
    int errors = 0;
    for (int pair = 0; pair < pairs; ++pair) {
      double measured[2];
      for (int which = 0; which < 2; ++which) {
        std::atomic<int> failed{0};
        auto latencies = drive(which == 0 ? pooled.port : single.port, clients, seconds, users, failed);
        std::sort(latencies.begin(), latencies.end());
        const auto at = [&](double q) {
          return latencies.empty() ? 0.0 : latencies[static_cast<std::size_t>(q * static_cast<double>(latencies.size() - 1))];
        };
        measured[which] = static_cast<double>(latencies.size()) / seconds;
        rps[which].push_back(measured[which]);
        p50[which].push_back(at(0.5) * 1000);
        p99[which].push_back(at(0.99) * 1000);
        errors += failed.load();
      }
      ratios.push_back(measured[0] / measured[1]);
    }
    const char* db = database.postgres ? "pg" : "sqlite";
    for (int which = 0; which < 2; ++which)
      std::printf("api %s %s clients=%d rps=%.0f p50=%.2fms p99=%.2fms\n", db, which == 0 ? "pool" : "single", clients, median(rps[which]),
                  median(p50[which]), median(p99[which]));
    std::printf("api %s pool/single clients=%d ratio=%.2f (median of %d paired runs of %.1f s) errors=%d\n", db, clients, median(ratios),
                pairs, seconds, errors);
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SERVER [--postgres] --check | --bench [--seconds S] [--clients 1,4,16]\n", argv[0]);
    return 2;
  }
  bool postgres = false, bench = false;
  double seconds = 1;
  int pairs = 5;
  std::vector<int> clients{1, 4, 16};
  std::vector<std::string> poolArgs;  // the pooled server's own flags (--connections N, --threads N)
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--postgres") {
      postgres = true;
    } else if (flag == "--bench") {
      bench = true;
    } else if (flag == "--check") {
      bench = false;
    } else if (flag == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (flag == "--pairs" && i + 1 < argc) {
      pairs = std::stoi(argv[++i]);
    } else if ((flag == "--connections" || flag == "--threads") && i + 1 < argc) {
      poolArgs.insert(poolArgs.end(), {flag, argv[++i]});
    } else if (flag == "--clients" && i + 1 < argc) {
      clients.clear();
      for (std::string list = argv[++i]; !list.empty();) {
        const auto comma = list.find(',');
        clients.push_back(std::stoi(list.substr(0, comma)));
        list = comma == std::string::npos ? "" : list.substr(comma + 1);
      }
    } else {
      std::fprintf(stderr, "unknown argument %s\n", flag.c_str());
      return 2;
    }
  }
  harness::Database database;
  if (!database.make(postgres, "kith_api_load")) {
    std::puts("skipped: set KITH_TEST_POSTGRES to a libpq conninfo to run the API on PostgreSQL");
    return 77;
  }
  try {
    if (bench)
      runBench(argv[1], database, seconds, pairs, clients, poolArgs);
    else
      runCheck(argv[1], database);
  } catch (const std::exception& e) {
    std::printf("FAILED: %s\n", e.what());
    ++failures;
  }
  if (!bench) std::printf("%s under load: %d failed\n", postgres ? "PostgreSQL" : "SQLite", failures);
  return failures == 0 ? 0 : 1;
}
