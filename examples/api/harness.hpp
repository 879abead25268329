// What the programs that drive examples/api share: the server as a child process, the database it
// gets (a SQLite file in a new directory, or a new schema of the PostgreSQL server in
// KITH_TEST_POSTGRES), and the two tables as far as a client checks them.
#pragma once

#include <kith/kith.hpp>
#include <kith/postgres.hpp>

#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace harness {

// The server's tables, as far as the checks read them.
struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::string name;
  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
};
struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title>;
};

/// Starts the program as a child process; `out` reads its standard output (and error, with
/// `withStderr`).
inline pid_t spawn(const std::string& program, const std::vector<std::string>& args, bool withStderr, int& out) {
  int pipeEnds[2];
  if (pipe(pipeEnds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipeEnds[1], STDOUT_FILENO);
    if (withStderr) dup2(pipeEnds[1], STDERR_FILENO);
    close(pipeEnds[0]);
    close(pipeEnds[1]);
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(pipeEnds[1]);
  out = pipeEnds[0];
  return pid;
}

/// The server as a child process, its stdout read until it says which port it listens on.
struct Server {
  pid_t pid = -1;
  int port = 0;

  Server(const std::string& program, const std::vector<std::string>& args) {
    int out = -1;
    pid = spawn(program, args, false, out);
    std::string line;
    char c;
    while (read(out, &c, 1) == 1 && c != '\n') line += c;
    close(out);
    const auto at = line.find("127.0.0.1:");
    if (at == std::string::npos) throw std::runtime_error("the server did not start: '" + line + "'");
    port = std::stoi(line.substr(at + 10));
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() { stop(); }

  void stop() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
};

/// What a run of the program to its end printed (standard output and error) and its exit status.
struct Ran {
  int status = -1;
  std::string output;
};

/// Runs the program to its end; one still running after `limit` (a server that should have refused
/// to start, say) is killed, and its status is then 128 + SIGKILL.
inline Ran run(const std::string& program, const std::vector<std::string>& args, std::chrono::seconds limit = std::chrono::seconds(10)) {
  int out = -1;
  const pid_t pid = spawn(program, args, true, out);
  Ran ran;
  char buffer[4096];
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{out, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) == 0) {
      kill(pid, SIGKILL);
      ran.output += "\n(killed: still running after " + std::to_string(limit.count()) + " s)";
      break;
    }
    const ssize_t n = read(out, buffer, sizeof buffer);
    if (n <= 0) break;
    ran.output.append(buffer, static_cast<std::size_t>(n));
  }
  close(out);
  int status = 0;
  waitpid(pid, &status, 0);
  ran.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return ran;
}

/// The database a run gives the server: a new SQLite file, or a new schema on the PostgreSQL
/// server in KITH_TEST_POSTGRES, removed when the run ends.
struct Database {
  bool postgres = false;
  std::string conninfo, schema;
  std::filesystem::path dir;

  /// False when PostgreSQL is asked for and KITH_TEST_POSTGRES is not set (the caller exits 77).
  bool make(bool onPostgres, const std::string& name) {
    postgres = onPostgres;
    if (postgres) {
      const char* server = std::getenv("KITH_TEST_POSTGRES");
      if (!server || !*server) return false;
      schema = name + "_" + std::to_string(getpid());
      kith::postgres::open(server).execute("CREATE SCHEMA " + schema);
      conninfo = std::string(server) + " options=-csearch_path=" + schema;
    } else {
      dir = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()));
      std::filesystem::create_directories(dir);
    }
    return true;
  }
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    try {
      if (postgres && !schema.empty())
        kith::postgres::open(std::getenv("KITH_TEST_POSTGRES")).execute("DROP SCHEMA " + schema + " CASCADE");
      else if (!dir.empty())
        std::filesystem::remove_all(dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cleaning up: %s\n", e.what());
    }
  }

  /// The server's arguments for this database.
  std::vector<std::string> serverArgs() const {
    if (postgres) return {"--postgres", conninfo};
    return {"--sqlite", (dir / "api.db").string()};
  }
  /// A connection of the checker's own, to read what the server wrote.
  kith::Connection open() const { return postgres ? kith::postgres::open(conninfo) : kith::sqlite::open((dir / "api.db").string()); }
};

}  // namespace harness
