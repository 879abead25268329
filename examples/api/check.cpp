// Drives examples/api over HTTP, as a client would: starts the server on a free localhost port,
// creates, lists, shows, updates and deletes users and posts, sends bad JSON, unknown ids, refused
// payloads and duplicates, checks each status and body and what the database holds, and stops it.
//
//   kith_api_check SERVER              on a SQLite file in a new temporary directory
//   kith_api_check SERVER --postgres   on a new schema of the server in KITH_TEST_POSTGRES (exit 77
//                                      when it is not set: ctest reports the test skipped)
#include <kith/kith.hpp>
#include <kith/postgres.hpp>

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Json = nlohmann::json;
int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAILED: %s\n", what.c_str());
  }
}

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

/// The server as a child process, its stdout read until it says which port it listens on.
struct Server {
  pid_t pid = -1;
  int port = 0;

  Server(const std::string& program, const std::vector<std::string>& args) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv{const_cast<char*>(program.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(program.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    const auto at = line.find("127.0.0.1:");
    if (at == std::string::npos) throw std::runtime_error("the server did not start: '" + line + "'");
    port = std::stoi(line.substr(at + 10));
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
};

Json body(const httplib::Result& r) { return r ? Json::parse(r->body, nullptr, false) : Json(); }
int status(const httplib::Result& r) { return r ? r->status : -1; }
std::string said(const httplib::Result& r) { return r ? std::to_string(r->status) + " " + r->body : "no response"; }

/// The conversation, with `db` the database the server writes.
void converse(httplib::Client& http, const kith::Connection& db) {
  const auto json = "application/json";
  // Create: 201 with the row as stored (the email normalised by the hook, the times stamped).
  auto r = http.Post("/users", R"({"email": "Ann@Example.COM", "name": "Ann"})", json);
  check(status(r) == 201, "POST /users creates: " + said(r));
  const Json ann = body(r);
  const std::int64_t annId = ann.value("id", std::int64_t{0});
  check(annId > 0 && ann["email"] == "ann@example.com" && ann["createdAt"].get<std::string>().ends_with("Z"),
        "the created user as stored: " + ann.dump());
  check(User::query(db).where<&User::email>("ann@example.com").count() == 1, "the user is in the database");

  // Refused: a duplicate, the hook's validation, a wrong type, an unknown key, the key, not JSON.
  r = http.Post("/users", R"({"email": "ann@example.com", "name": "Twin"})", json);
  check(status(r) == 409 && body(r)["error"] == "a user with this email exists", "a duplicate email is 409: " + said(r));
  r = http.Post("/users", R"({"email": "not-an-address", "name": "X"})", json);
  check(status(r) == 422 && body(r)["error"].get<std::string>().starts_with("email must be"), "a bad email is 422: " + said(r));
  r = http.Post("/users", R"({"email": 5, "name": "X"})", json);
  check(status(r) == 422 && body(r)["details"].size() == 1 && body(r)["details"][0]["field"] == "email",
        "a wrong type is 422, naming the field: " + said(r));
  r = http.Post("/users", R"({"email": "b@example.com", "name": "B", "role": "admin"})", json);
  check(status(r) == 422 && body(r)["details"][0]["field"] == "role", "an unknown key is 422, naming it: " + said(r));
  r = http.Post("/users", R"({"id": 99, "email": "b@example.com", "name": "B"})", json);
  check(status(r) == 422 && body(r)["details"][0]["field"] == "id", "a payload does not set the id: " + said(r));
  r = http.Post("/users", "{email: ", json);
  check(status(r) == 400, "bad JSON is 400: " + said(r));
  check(User::query(db).count() == 1, "no refused payload left a row");

  // Posts through the relation.
  const std::string annPosts = "/users/" + std::to_string(annId) + "/posts";
  r = http.Post(annPosts, R"({"title": "Hello", "body": "first"})", json);
  check(status(r) == 201 && body(r)["authorId"] == annId, "POST a post: " + said(r));
  r = http.Post(annPosts, R"({"title": "Again", "body": "second"})", json);
  check(status(r) == 201, "POST a second post: " + said(r));
  r = http.Post(annPosts, R"({"title": "", "body": "x"})", json);
  check(status(r) == 422 && body(r)["error"] == "title must not be empty", "an empty title is 422: " + said(r));
  r = http.Post("/users/9999/posts", R"({"title": "T", "body": "x"})", json);
  check(status(r) == 404, "a post for an unknown user is 404: " + said(r));
  check(Post::query(db).where<&Post::userId>(annId).count() == 2, "two posts in the database");

  // List (preloaded, counted, paginated) and show.
  r = http.Post("/users", R"({"email": "bob@example.com", "name": "Bob"})", json);
  const std::int64_t bobId = body(r).value("id", std::int64_t{0});
  r = http.Get("/users");
  Json list = body(r);
  check(status(r) == 200 && list["meta"]["total"] == 2 && list["data"].size() == 2, "GET /users lists both: " + said(r));
  check(list["data"][0]["posts"].size() == 2 && list["data"][0]["posts"][0]["title"] == "Again" &&
            list["data"][0]["meta"]["posts_count"] == 2 && list["data"][1]["posts"].empty(),
        "each user with their posts, newest first, and their count: " + said(r));
  r = http.Get("/users?page=2&perPage=1");
  list = body(r);
  check(status(r) == 200 && list["data"].size() == 1 && list["data"][0]["id"] == bobId && list["meta"]["currentPage"] == 2 &&
            list["meta"]["lastPage"] == 2,
        "the second page of one: " + said(r));
  r = http.Get("/users?page=two");
  check(status(r) == 400, "a page that is not a number is 400: " + said(r));
  r = http.Get("/users/" + std::to_string(annId));
  check(status(r) == 200 && body(r)["name"] == "Ann" && body(r)["posts"].size() == 2, "GET /users/ID: " + said(r));
  r = http.Get("/users/9999");
  check(status(r) == 404 && body(r)["error"] == "not found", "an unknown id is 404: " + said(r));
  r = http.Get("/posts?perPage=1");
  check(status(r) == 200 && body(r)["data"][0]["title"] == "Again" && body(r)["data"][0]["author"]["name"] == "Ann" &&
            body(r)["meta"]["total"] == 2,
        "GET /posts with their author: " + said(r));

  // Update.
  r = http.Patch("/users/" + std::to_string(annId), R"({"name": "Anne"})", json);
  check(status(r) == 200 && body(r)["name"] == "Anne" && body(r)["updatedAt"] != body(r)["createdAt"], "PATCH renames: " + said(r));
  check(User::findOrFail(db, annId).name == "Anne", "the new name is in the database");
  r = http.Patch("/users/" + std::to_string(bobId), R"({"email": "ANN@example.com"})", json);
  check(status(r) == 409, "PATCH to a taken email is 409: " + said(r));
  r = http.Patch("/users/" + std::to_string(bobId), R"({"name": 7})", json);
  check(status(r) == 422, "PATCH with a wrong type is 422: " + said(r));
  r = http.Patch("/users/9999", R"({"name": "Nobody"})", json);
  check(status(r) == 404, "PATCH of an unknown id is 404: " + said(r));
  r = http.Patch("/users/" + std::to_string(bobId), "not json", json);
  check(status(r) == 400, "PATCH with bad JSON is 400: " + said(r));
  check(User::findOrFail(db, bobId).email == "bob@example.com", "refused updates changed nothing");

  // Delete: the user and their posts.
  r = http.Delete("/users/" + std::to_string(annId));
  check(status(r) == 204, "DELETE is 204: " + said(r));
  check(!User::find(db, annId) && Post::query(db).where<&Post::userId>(annId).count() == 0, "the user and their posts are gone");
  r = http.Delete("/users/" + std::to_string(annId));
  check(status(r) == 404, "DELETE again is 404: " + said(r));
  r = http.Get("/users/" + std::to_string(annId));
  check(status(r) == 404, "GET of the deleted user is 404: " + said(r));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SERVER [--postgres]\n", argv[0]);
    return 2;
  }
  const bool postgres = argc > 2 && std::string(argv[2]) == "--postgres";
  std::vector<std::string> args{"--port", "0"};
  std::string conninfo, schema;
  std::filesystem::path dir;
  if (postgres) {
    const char* server = std::getenv("KITH_TEST_POSTGRES");
    if (!server || !*server) {
      std::puts("skipped: set KITH_TEST_POSTGRES to a libpq conninfo to run the API on PostgreSQL");
      return 77;
    }
    schema = "kith_api_" + std::to_string(getpid());
    kith::postgres::open(server).execute("CREATE SCHEMA " + schema);
    conninfo = std::string(server) + " options=-csearch_path=" + schema;
    args.insert(args.end(), {"--postgres", conninfo});
  } else {
    dir = std::filesystem::temp_directory_path() / ("kith-api-check-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    args.insert(args.end(), {"--sqlite", (dir / "api.db").string()});
  }
  try {
    Server server(argv[1], args);
    const kith::Connection db = postgres ? kith::postgres::open(conninfo) : kith::sqlite::open((dir / "api.db").string());
    httplib::Client http("127.0.0.1", server.port);
    converse(http, db);
  } catch (const std::exception& e) {
    std::printf("FAILED: %s\n", e.what());
    ++failures;
  }
  if (postgres)
    kith::postgres::open(std::getenv("KITH_TEST_POSTGRES")).execute("DROP SCHEMA " + schema + " CASCADE");
  else
    std::filesystem::remove_all(dir);
  std::printf("%s: %d failed\n", postgres ? "PostgreSQL" : "SQLite", failures);
  return failures == 0 ? 0 : 1;
}
