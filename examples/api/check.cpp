// Drives examples/api over HTTP, as a client would: starts the server on a free localhost port,
// creates, lists, shows, updates and deletes users and posts, sends bad JSON, unknown ids, refused
// payloads and duplicates, checks each status and body and what the database holds; then a table
// of hostile and malformed requests (ids past 64 bits, bad pages, oversized and deeply nested
// bodies, wrong content types, NULs, read-only fields, raw non-HTTP bytes), each of which must get
// its 4xx with a JSON error and no internals, and leave the tables as they were. Around that, the
// service as its own migration tool: it refuses to serve an empty database, migrates (dry run,
// status, again), and, once the tables hold rows, rolls its last migration back and applies it
// again (on SQLite a rebuild of the posts table) with every row served as before; a dropped index
// makes it refuse to start, naming it.
//
//   kith_api_check SERVER              on a SQLite file in a new temporary directory
//   kith_api_check SERVER --postgres   on a new schema of the server in KITH_TEST_POSTGRES (exit 77
//                                      when it is not set: ctest reports the test skipped)
#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
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

using harness::Post;
using harness::User;

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
  check(status(r) == 422 && body(r)["details"].size() == 1 && body(r)["details"][0]["field"] == "email" &&
            body(r)["details"][0]["message"].get<std::string>().starts_with("must be an address"),
        "a bad email is 422, naming the field: " + said(r));
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
  check(status(r) == 422 && body(r)["details"][0]["field"] == "title" && body(r)["details"][0]["message"] == "must not be empty",
        "an empty title is 422: " + said(r));
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
  check(status(r) == 200 && body(r)["name"] == "Ann" && body(r)["posts"].size() == 2 && body(r)["meta"]["posts_count"] == 2,
        "GET /users/ID: " + said(r));
  r = http.Get("/users/" + std::to_string(annId) + "/posts?perPage=1&page=2");
  check(status(r) == 200 && body(r)["data"].size() == 1 && body(r)["data"][0]["title"] == "Hello" && body(r)["meta"]["total"] == 2,
        "GET /users/ID/posts pages the user's posts, newest first: " + said(r));
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

/// One hostile or malformed request and the answer it must get.
struct Bad {
  std::string what, method, path, body;
  int status;
  std::vector<std::string> fields = {};  // the fields a 422 must name, in order
  std::string contentType = "application/json";
};

/// Sends `request` as raw bytes on a new connection and returns the answer: its head and as many
/// bytes of body as its Content-Length says (the server keeps the connection open after it).
std::string rawExchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const timeval patience{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[4096];
    for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) {
      answer.append(buffer, static_cast<std::size_t>(n));
      const auto head = answer.find("\r\n\r\n"), length = answer.find("Content-Length: ");
      if (head != std::string::npos && length != std::string::npos &&
          answer.size() >= head + 4 + std::stoul(answer.substr(length + 16, answer.find('\r', length) - length - 16)))
        break;
    }
  }
  close(fd);
  return answer;
}

/// A 4xx answer as the service promises it: a JSON object whose "error" is a sentence, with none
/// of the server's internals in it.
void checkErrorShape(const std::string& what, int gotStatus, const std::string& contentType, const std::string& text) {
  const Json answer = Json::parse(text, nullptr, false);
  check(gotStatus >= 400 && gotStatus < 500, what + ": a 4xx status, got " + std::to_string(gotStatus));
  check(contentType.starts_with("application/json"), what + ": a JSON answer, got Content-Type '" + contentType + "'");
  check(answer.is_object() && answer.contains("error") && answer["error"].is_string() && !answer["error"].get<std::string>().empty(),
        what + ": {\"error\": ...}, got '" + text.substr(0, 200) + "'");
  for (const char* internal : {"SQLSTATE", "kith:", "INSERT", "SELECT", "stoll", "users_email", "sqlite", "SQLITE", "constraint", "libpq"})
    check(text.find(internal) == std::string::npos, what + ": the answer names no internals ('" + internal + "'): " + text.substr(0, 200));
}

/// Every class of bad request, each answered with its 4xx and the JSON error shape, and none
/// changing what the database holds; the same table, the same answers, on SQLite and PostgreSQL.
void refuseBadInput(httplib::Client& http, int port, const kith::Connection& db, std::int64_t userId) {
  const std::string user = "/users/" + std::to_string(userId), huge = "/users/9223372036854775808";
  const std::string valid = R"({"email": "new@example.com", "name": "New"})", post = R"({"title": "T", "body": "b"})";
  const auto text = [](std::size_t n, char c = 'x') { return std::string(n, c); };
  std::string accented;  // 201 characters of two bytes each
  for (int i = 0; i < 201; ++i) accented += "\u00e9";
  const std::vector<Bad> table{
      {"an id past 64 bits", "GET", huge, "", 404},
      {"an id of many digits", "GET", "/users/123456789012345678901234567890", "", 404},
      {"an id past 64 bits in PATCH", "PATCH", huge, R"({"name": "N"})", 404},
      {"an id past 64 bits in DELETE", "DELETE", huge, "", 404},
      {"an id past 64 bits in a post's parent", "POST", huge + "/posts", post, 404},
      {"an id past 64 bits listing posts", "GET", huge + "/posts", "", 404},
      {"id 0", "GET", "/users/0", "", 404},
      {"an id that is not a number", "GET", "/users/abc", "", 404},
      {"no such route", "GET", "/nothing/here", "", 404},
      {"a method the route does not take", "PUT", user, valid, 404},
      {"page=0", "GET", "/users?page=0", "", 400},
      {"page=-1", "GET", "/users?page=-1", "", 400},
      {"perPage=0", "GET", "/users?perPage=0", "", 400},
      {"perPage=-5", "GET", "/users?perPage=-5", "", 400},
      {"perPage=0x10", "GET", "/users?perPage=0x10", "", 400},
      {"perPage=1e9", "GET", "/posts?perPage=1e9", "", 400},
      {"page=1abc", "GET", "/users?page=1abc", "", 400},
      {"page=1.9", "GET", "/users?page=1.9", "", 400},
      {"page= 1", "GET", "/users?page=%201", "", 400},
      {"page empty", "GET", "/users?page=", "", 400},
      {"perPage over the cap", "GET", "/users?perPage=101", "", 400},
      {"perPage past 64 bits", "GET", "/posts?perPage=99999999999999999999", "", 400},
      {"a bad page of a user's posts", "GET", user + "/posts?page=0", "", 400},
      {"not JSON", "POST", "/users", "{email: ", 400},
      {"a number JSON cannot hold", "POST", "/users", R"({"email": 1e400, "name": "N"})", 400},
      {"invalid UTF-8", "POST", "/users", "{\"email\": \"a@b.com\", \"name\": \"\xc3\x28\"}", 400},
      {"nested 1,000 deep", "POST", "/users", text(1000, '[') + text(1000, ']'), 400},
      {"a body of 100 KB", "POST", "/users", R"({"email": "big@example.com", "name": ")" + text(100'000) + R"("})", 413},
      {"text/plain", "POST", "/users", valid, 415, {}, "text/plain"},
      {"form-urlencoded, as curl -d sends", "POST", "/users", valid, 415, {}, "application/x-www-form-urlencoded"},
      {"no Content-Type", "PATCH", user, R"({"name": "N"})", 415, {}, ""},
      {"a JSON array", "POST", "/users", "[1, 2]", 422, {""}},
      {"two wrong types, both named", "POST", "/users", R"({"email": 1, "name": 2})", 422, {"email", "name"}},
      {"a missing name", "POST", "/users", R"({"email": "x@example.com"})", 422, {"name"}},
      {"@ alone", "POST", "/users", R"({"email": "@", "name": "N"})", 422, {"email"}},
      {"an email with CR/LF", "POST", "/users", R"({"email": "a@b.com\r\nBcc: c@d.com", "name": "N"})", 422, {"email"}},
      {"a non-ASCII email", "POST", "/users", R"({"email": "ZO\u00cb@EX\u00c4MPLE.com", "name": "Z"})", 422, {"email"}},
      {"an email of 300 characters", "POST", "/users", R"({"email": ")" + text(290) + R"(@x.com", "name": "N"})", 422, {"email"}},
      {"a name of 201 characters", "POST", "/users", R"({"email": "n@example.com", "name": ")" + text(201) + R"("})", 422, {"name"}},
      {"a name of 201 two-byte characters", "PATCH", user, R"({"name": ")" + accented + R"("})", 422, {"name"}},
      {"a NUL in a name", "POST", "/users", R"({"email": "nul@example.com", "name": "a\u0000b"})", 422, {"name"}},
      {"a name of spaces", "POST", "/users", R"({"email": "s@example.com", "name": "   "})", 422, {"name"}},
      {"an email of a few kilobytes", "PATCH", user, R"({"email": ")" + text(4000) + R"(@example.com"})", 422, {"email"}},
      {"createdAt in POST", "POST", "/users", R"({"email": "t@x.com", "createdAt": "2000-01-01T00:00:00Z"})", 422, {"createdAt", "name"}},
      {"createdAt in PATCH", "PATCH", user, R"({"createdAt": "2000-01-01T00:00:00Z"})", 422, {"createdAt"}},
      {"updatedAt in PATCH", "PATCH", user, R"({"updatedAt": "2000-01-01T00:00:00Z"})", 422, {"updatedAt"}},
      {"the id in PATCH", "PATCH", user, R"({"id": 5})", 422, {"id"}},
      {"authorId in a post", "POST", user + "/posts", R"({"title": "T", "authorId": 1})", 422, {"authorId"}},
      {"an unknown key in a post", "POST", user + "/posts", R"({"title": "T", "tags": []})", 422, {"tags"}},
      {"a NUL in a title", "POST", user + "/posts", R"({"title": "a\u0000"})", 422, {"title"}},
      {"a post body of 20,001 characters", "POST", user + "/posts", R"({"title": "T", "body": ")" + text(20'001) + R"("})", 422, {"body"}},
      {"a post without a title", "POST", user + "/posts", R"({"body": "b"})", 422, {"title"}},
  };
  const auto count = [&] { return std::pair{User::query(db).count(), Post::query(db).count()}; };
  const auto before = count();
  for (const Bad& bad : table) {
    httplib::Request req;
    req.method = bad.method;
    req.path = bad.path;
    req.body = bad.body;
    if (!bad.body.empty() && !bad.contentType.empty()) req.set_header("Content-Type", bad.contentType);
    const auto r = http.send(req);
    if (!r) {
      check(false, bad.what + ": no answer (" + httplib::to_string(r.error()) + ")");
      continue;
    }
    check(r->status == bad.status, bad.what + ": status " + std::to_string(bad.status) + ", got " + said(r).substr(0, 300));
    checkErrorShape(bad.what, r->status, r->get_header_value("Content-Type"), r->body);
    if (!bad.fields.empty()) {
      const Json details = body(r)["details"];
      std::vector<std::string> named;
      for (const auto& d : details) named.push_back(d.value("field", "?"));
      check(named == bad.fields, bad.what + ": the details name each refused field: " + r->body.substr(0, 300));
    }
    check(count() == before, bad.what + ": the tables hold what they held");
  }
  // httplib's own answers, before any route: a URI past 8 KB, a request line that is not HTTP.
  const auto longUri = http.Get("/users?page=" + text(9000, '1'));
  check(status(longUri) == 414, "a URI of 9 KB is 414: " + said(longUri).substr(0, 200));
  if (longUri) checkErrorShape("a URI of 9 KB", longUri->status, longUri->get_header_value("Content-Type"), longUri->body);
  const std::string raw = rawExchange(port, "NONSENSE\r\n\r\n");
  const auto blank = raw.find("\r\n\r\n");
  check(raw.starts_with("HTTP/1.1 400"), "a request line that is not HTTP is 400: " + raw.substr(0, 200));
  checkErrorShape("a request line that is not HTTP", raw.starts_with("HTTP/1.1 400") ? 400 : 0,
                  raw.find("Content-Type: application/json") != std::string::npos ? "application/json" : "",
                  blank == std::string::npos ? "" : raw.substr(blank + 4));
  check(count() == before, "the tables hold what they held after every refused request");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// The migration commands on a new database, which the server refuses to serve until they ran.
void migrateFirst(const std::string& program, const harness::Database& database) {
  const auto with = [&](std::vector<std::string> args) {
    for (auto& a : database.serverArgs()) args.push_back(a);
    return harness::run(program, args);
  };
  auto r = with({"--port", "0"});
  check(r.status == 1 && contains(r.output,
                                  "not serving: migrations are pending: 2026_11_30_01_create_users, 2026_11_30_02_create_posts, "
                                  "2026_12_05_01_posts_user_foreign_key; run `kith_api migrate`"),
        "the server refuses an unmigrated database, naming the migrations: " + r.output);
  r = with({"migrate", "--dry-run"});
  check(r.status == 0 && contains(r.output, "would apply 2026_11_30_01_create_users (batch 1)\n    CREATE TABLE \"users\""),
        "migrate --dry-run prints the SQL: " + r.output);
  const kith::Connection db = database.open();
  const auto tableExists = [&] {
    try {
      User::query(db).count();
      return true;
    } catch (const kith::DatabaseError&) {
      return false;
    }
  };
  check(!tableExists(), "the dry run made no table");
  r = with({"migrate"});
  check(r.status == 0 && contains(r.output, "applied 2026_11_30_01_create_users (batch 1, ") &&
            contains(r.output, "applied 2026_12_05_01_posts_user_foreign_key (batch 1, "),
        "migrate applies the three: " + r.output);
  check(tableExists() && Post::query(db).count() == 0, "the tables are there, empty");
  r = with({"migrate:status"});
  check(r.status == 0 && contains(r.output, "2026_12_05_01_posts_user_foreign_key     applied (batch 1, "), "migrate:status: " + r.output);
  r = with({"migrate"});
  check(r.status == 0 && r.output == "nothing to do\n", "migrate again does nothing: " + r.output);
  r = with({"migrate:rollback", "--to"});
  check(r.status == 2 && contains(r.output, "usage:"), "a flag without its value is a usage error: " + r.output);
}

/// With rows in the tables: the last migration rolled back and applied again (SQLite: the posts
/// table rebuilt), every row served as before; a dropped index stops the server from starting.
void migrateWithRows(const std::string& program, const harness::Database& database) {
  const auto with = [&](std::vector<std::string> args) {
    for (auto& a : database.serverArgs()) args.push_back(a);
    return harness::run(program, args);
  };
  std::vector<std::string> serve{"--port", "0"};
  for (auto& a : database.serverArgs()) serve.push_back(a);
  const auto read = [&](harness::Server& server) {
    httplib::Client http("127.0.0.1", server.port);
    const auto users = http.Get("/users?perPage=100"), posts = http.Get("/posts?perPage=100");
    return said(users) + said(posts);
  };
  std::string before;
  {
    harness::Server server(program, serve);
    httplib::Client http("127.0.0.1", server.port);
    const auto user = body(http.Post("/users", R"({"email": "rows@example.com", "name": "Rows"})", "application/json"));
    for (const char* title : {"one", "two", "three"})
      http.Post("/users/" + std::to_string(user.value("id", 0)) + "/posts", Json{{"title", title}, {"body", "b"}}.dump(),
                "application/json");
    before = read(server);
  }
  const kith::Connection db = database.open();
  const auto posts = Post::query(db).count();
  check(posts >= 3, "the tables hold rows before the migration");
  auto r = with({"migrate:rollback", "--to", "2026_11_30_02_create_posts"});
  check(r.status == 0 && r.output.starts_with("rolled back 2026_12_05_01_posts_user_foreign_key (batch 1, "),
        "migrate:rollback --to: " + r.output);
  r = with({"--port", "0"});
  check(r.status == 1 && contains(r.output, "migrations are pending: 2026_12_05_01_posts_user_foreign_key;"),
        "the server refuses while one is pending: " + r.output);
  r = with({"migrate"});
  check(r.status == 0 && r.output.starts_with("applied 2026_12_05_01_posts_user_foreign_key (batch 2, "), "migrate again: " + r.output);
  {
    harness::Server server(program, serve);
    check(read(server) == before, "every user and post is served as before the migration");
  }
  check(Post::query(db).count() == posts, "every post is still there");
  bool refused = false;
  try {
    db.execute("INSERT INTO posts (user_id, title, body, created_at) VALUES (987654, 't', 'b', '2026-12-05 00:00:00')");
  } catch (const kith::ConstraintError&) {
    refused = true;
  }
  check(refused, "the foreign key the migration added refuses a post without its user");

  db.execute("DROP INDEX posts_user_id_index");
  r = with({"--port", "0"});
  check(r.status == 1 && contains(r.output, "the tables differ from this program's models:\nno index on posts (user_id)"),
        "the server refuses tables that differ from its models, naming the difference: " + r.output);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s SERVER [--postgres]\n", argv[0]);
    return 2;
  }
  const bool postgres = argc > 2 && std::string(argv[2]) == "--postgres";
  harness::Database database;
  if (!database.make(postgres, "kith_api")) {
    std::puts("skipped: set KITH_TEST_POSTGRES to a libpq conninfo to run the API on PostgreSQL");
    return 77;
  }
  std::vector<std::string> args{"--port", "0"};
  for (auto& a : database.serverArgs()) args.push_back(a);
  try {
    migrateFirst(argv[1], database);
    {
      harness::Server server(argv[1], args);
      const kith::Connection db = database.open();
      httplib::Client http("127.0.0.1", server.port);
      http.set_url_encode(false);  // the paths below are sent as written
      converse(http, db);
      refuseBadInput(http, server.port, db, User::query(db).orderBy<&User::id>().firstOrFail().id);
    }
    migrateWithRows(argv[1], database);
  } catch (const std::exception& e) {
    std::printf("FAILED: %s\n", e.what());
    ++failures;
  }
  std::printf("%s: %d failed\n", postgres ? "PostgreSQL" : "SQLite", failures);
  return failures == 0 ? 0 : 1;
}
