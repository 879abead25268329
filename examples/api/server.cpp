// A small JSON REST service on kith: users and their posts, over cpp-httplib.
//
//   kith_api [--port N] [--sqlite FILE | --postgres CONNINFO] [--connections N] [--threads N] [--single] [--migrate]
//   kith_api migrate [--dry-run]                 applies the pending migrations (migrations.hpp)
//   kith_api migrate:status                      each migration: applied, pending, changed, unknown
//   kith_api migrate:rollback [--to NAME] [--dry-run]   the last batch, or everything after NAME
//
// The server refuses to start while a migration is pending or changed, while the database holds
// one this program does not know, or while the tables differ from the models (kith::verifySchema),
// and says which; --migrate applies the pending ones first.
// SQLite (a file, default kith-api.db in the temporary directory, in WAL mode) unless --postgres or
// the environment variable KITH_API_POSTGRES gives a libpq conninfo. --port 0 picks a free port.
// Requests are served at once by --threads workers (64), each leasing one of --connections
// database connections (a kith::Pool; twice the hardware threads) for as long as it answers;
// --single is one of each, one request at a time. The server prints "listening on
// http://127.0.0.1:PORT" once it accepts connections.
//
//   GET    /users?page=1&perPage=20        users, each with their 5 newest posts and post count
//   GET    /users/ID                       one user with their 20 newest posts and post count
//   POST   /users                          {"email": ..., "name": ...}        201, 400, 409, 415, 422
//   PATCH  /users/ID                       any of email, name                 200, 400, 404, 409, 415, 422
//   DELETE /users/ID                       the user and their posts           204, 404
//   GET    /users/ID/posts?page&perPage    the user's posts, newest first     200, 400, 404
//   POST   /users/ID/posts                 {"title": ..., "body": ...}        201, 400, 404, 415, 422
//   GET    /posts?page=1&perPage=20        posts with their author
//
// Every answer is JSON; every error is {"error": "...", "details": [{"field", "message"}...]}
// (details only for 422), with a 4xx status for anything the request got wrong and no internals
// (SQL, database messages) in any of them: those go to standard error. Limits: a body of at most
// 64 KiB, nested at most 32 deep; emails of at most 254 ASCII characters; names and titles of at
// most 200 characters and a post body of at most 20,000, no control characters (a body may hold
// line breaks and tabs); perPage from 1 to 100; ids and pages are decimal digits only.
//
// The service is laid out as an application would be: app.hpp (models, rules, how routes answer),
// users.cpp and posts.cpp (the routes of each model), http.cpp (reading requests, writing answers)
// and this file (the program).
#include "app.hpp"

#include <kith/postgres.hpp>
#include <kith/verify.hpp>

#include "migrations.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace api {

/// cpp-httplib listens with a backlog of 5 connections (compiled into Debian's library): when more
/// clients connect at once, the kernel drops the rest and they retry a second later. This finds the
/// listening socket on `port` and listens again with the system's largest backlog.
void widenBacklog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t size = sizeof listening;
    sockaddr_in address{};
    socklen_t addressSize = sizeof address;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0 && listening &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &addressSize) == 0 && address.sin_family == AF_INET &&
        ntohs(address.sin_port) == port) {
      ::listen(fd, SOMAXCONN);
      return;
    }
  }
}

/// The migration commands: what they did, one line each (and with --dry-run the SQL, indented).
int migrationCommand(const std::string& command, const kith::Connection& db, bool dryRun, const std::string& to) {
  const auto list = migrations();
  const auto print = [&](const kith::MigrationRun& run, const char* done, const char* would) {
    if (run.migrations.empty()) std::printf("nothing to do\n");
    for (const auto& m : run.migrations) {
      if (dryRun) {
        std::printf("%s %s (batch %lld)\n", would, m.name.c_str(), static_cast<long long>(m.batch));
        for (const auto& sql : m.sql) std::printf("    %s\n", sql.c_str());
      } else {
        std::printf("%s %s (batch %lld, %.1f ms)\n", done, m.name.c_str(), static_cast<long long>(m.batch),
                    static_cast<double>(m.took.count()) / 1000);
      }
    }
  };
  if (command == "migrate") {
    print(kith::migrate(db, list, {.dryRun = dryRun}), "applied", "would apply");
  } else if (command == "migrate:rollback") {
    print(kith::rollbackMigrations(db, list, {.to = to, .dryRun = dryRun}), "rolled back", "would roll back");
  } else {
    static const char* states[] = {"applied", "pending", "changed since it was applied", "applied, but unknown to this program"};
    for (const auto& s : kith::migrationStatus(db, list)) {
      std::printf("%-40s %s", s.name.c_str(), states[static_cast<int>(s.state)]);
      if (s.batch) std::printf(" (batch %lld, %s)", static_cast<long long>(s.batch), s.appliedAt.c_str());
      std::printf("\n");
    }
  }
  return 0;
}

/// Why this program cannot serve the database, or nothing: migrations pending, changed or unknown
/// to it, or tables that differ from its models.
std::optional<std::string> notServable(const kith::Connection& db) {
  std::string pending, changed, unknown;
  const auto add = [](std::string& list, const std::string& name) { list += (list.empty() ? "" : ", ") + name; };
  for (const auto& s : kith::migrationStatus(db, migrations())) {
    if (s.state == kith::MigrationState::Pending) add(pending, s.name);
    if (s.state == kith::MigrationState::Changed) add(changed, s.name);
    if (s.state == kith::MigrationState::Unknown) add(unknown, s.name);
  }
  if (!pending.empty())
    return "migrations are pending: " + pending + "; run `kith_api migrate` with the same database options, or start with --migrate";
  if (!changed.empty())
    return "applied migrations were changed since they ran: " + changed +
           "; restore them as they were (a change is a new migration), or accept them with kith::repairMigrations";
  if (!unknown.empty()) return "the database has migrations this program does not know: " + unknown + "; it is newer than this program";
  const auto report = kith::verifySchema<User, Post>(db);
  if (!report.ok()) return "the tables differ from this program's models:\n" + report.describe();
  return std::nullopt;
}

}  // namespace api

int main(int argc, char** argv) {
  int port = 8080;
  std::size_t connections = 0, threads = 64;  // 0: the pool's default, twice the hardware threads
  std::string sqlite = (std::filesystem::temp_directory_path() / "kith-api.db").string();
  std::string postgres = std::getenv("KITH_API_POSTGRES") ? std::getenv("KITH_API_POSTGRES") : "";
  const auto count = [](const std::string& value, std::int64_t high) -> std::optional<std::size_t> {
    const auto v = api::digits(value);
    if (!v || *v < 1 || *v > high) return std::nullopt;
    return static_cast<std::size_t>(*v);
  };
  std::string command, to;
  bool dryRun = false, migrateFirst = false;
  int first = 1;
  if (argc > 1 &&
      (std::string(argv[1]) == "migrate" || std::string(argv[1]) == "migrate:status" || std::string(argv[1]) == "migrate:rollback")) {
    command = argv[1];
    first = 2;
  }
  for (int i = first; i < argc; ++i) {
    const std::string flag = argv[i], value = i + 1 < argc ? argv[i + 1] : "";
    bool ok = true;
    if (flag == "--single") {  // one connection, one request at a time: the server this example was before its pool
      connections = threads = 1;
      continue;
    }
    if (flag == "--dry-run" && command != "" && command != "migrate:status") {
      dryRun = true;
      continue;
    }
    if (flag == "--migrate" && command.empty()) {
      migrateFirst = true;
      continue;
    }
    if (flag == "--port" && (value == "0" || count(value, 65535)))
      port = value == "0" ? 0 : static_cast<int>(*count(value, 65535));
    else if (flag == "--connections" && count(value, 1000))
      connections = *count(value, 1000);
    else if (flag == "--threads" && count(value, 1000))
      threads = *count(value, 1000);
    else if (flag == "--sqlite" && !value.empty())
      sqlite = value;
    else if (flag == "--postgres" && !value.empty())
      postgres = value;
    else if (flag == "--to" && command == "migrate:rollback" && !value.empty())
      to = value;
    else
      ok = false;
    if (!ok) {
      std::fprintf(
          stderr,
          "usage: %s [--port N] [--sqlite FILE | --postgres CONNINFO] [--connections N] [--threads N] [--single] [--migrate]\n"
          "       %s migrate [--dry-run] | migrate:status | migrate:rollback [--to NAME] [--dry-run]   [--sqlite FILE | --postgres "
          "CONNINFO]\n",
          argv[0], argv[0]);
      return 2;
    }
    ++i;
  }
  // Every connection of the pool to the same database: for SQLite one file in WAL mode, so that
  // readers run beside the one writer (writers wait for each other up to the busy timeout).
  const auto open = [&]() -> kith::Connection {
    if (!postgres.empty()) return kith::postgres::open(postgres);
    return kith::sqlite::open(sqlite, {.wal = true, .synchronous = kith::sqlite::Synchronous::Normal});
  };
  try {
    if (!command.empty()) return api::migrationCommand(command, open(), dryRun, to);
    const auto db = open();
    if (migrateFirst) kith::migrate(db, api::migrations());
    if (const auto why = api::notServable(db)) {
      std::fprintf(stderr, "kith_api: not serving: %s\n", why->c_str());
      return 1;
    }
  } catch (const kith::Error& e) {
    std::fprintf(stderr, "kith_api%s%s: %s\n", command.empty() ? "" : " ", command.c_str(), e.what());
    return 1;
  }
  kith::Pool pool(open, {.max = connections});

  httplib::Server server;
  // Each connection to the server holds a worker thread while it is read (httplib's model), so there
  // are many more workers than database connections: clients that sit idle or send their request a
  // byte at a time do not hold up the others. A worker waits at most 5 s for each read and 2 s for a
  // keep-alive connection's next request.
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_read_timeout(5);
  server.set_keep_alive_timeout(2);
  // httplib's default of 5 requests per connection hands a client to another worker every 5
  // requests; --single keeps it, as the server it stands for did (one worker must not be held by one client).
  if (threads > 1) server.set_keep_alive_max_count(1000);
  api::userRoutes(server, pool);
  api::postRoutes(server, pool);
  api::answerInJson(server);
  const int bound = port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  api::widenBacklog(bound);
  std::printf("listening on http://127.0.0.1:%d (%s, %zu connections, %zu threads)\n", bound,
              postgres.empty() ? sqlite.c_str() : "PostgreSQL", pool.stats().max, threads);
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
