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
#include <kith/json.hpp>
#include <kith/kith.hpp>
#include <kith/pool.hpp>
#include <kith/postgres.hpp>
#include <kith/verify.hpp>

#include "migrations.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace api {

using Time = std::chrono::sys_time<std::chrono::microseconds>;
using Json = nlohmann::json;

constexpr std::size_t maxBodyBytes = 64 * 1024;
constexpr int maxNesting = 32;
constexpr std::int64_t maxPerPage = 100;

/// One refused field of a payload.
struct Problem {
  std::string field, message;
};

/// A payload the service refuses (422), with every problem found in it.
struct Invalid : std::runtime_error {
  std::vector<Problem> problems;
  explicit Invalid(std::vector<Problem> p) : std::runtime_error("the payload was refused"), problems(std::move(p)) {}
};

/// A request the service cannot read (400), or one it does not take (415), with the reason.
struct BadRequest : std::runtime_error {
  int status = 400;
  explicit BadRequest(const std::string& message, int s = 400) : std::runtime_error(message), status(s) {}
};

// ---- Validation of the values a client sends ----------------------------------------------------

/// Code points of valid UTF-8 (nlohmann::json has checked it while parsing), or the first control
/// character that `allowed` does not admit.
struct TextShape {
  std::size_t characters = 0;
  bool badControl = false;
};
TextShape shapeOf(std::string_view s, std::string_view allowedControls) {
  TextShape shape;
  for (const char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xc0) != 0x80) ++shape.characters;  // not a continuation byte
    if ((byte < 0x20 || byte == 0x7f) && allowedControls.find(c) == std::string_view::npos) shape.badControl = true;
  }
  return shape;
}

/// An email address as this service stores it: ASCII (an internationalized domain in its xn--
/// form), one '@', a local part of at most 64 characters and a domain of dot-separated labels.
/// Comparing Unicode addresses would need case folding and normalization (ICU), which this example
/// does not carry: it refuses them rather than let two spellings of one address both register.
std::optional<std::string> emailProblem(std::string_view email) {
  if (email.size() > 254) return "must be at most 254 characters";
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos)
    return "must be an address with one @, like ann@example.com";
  const std::string_view local = email.substr(0, at), domain = email.substr(at + 1);
  constexpr std::string_view localSpecials = "!#$%&'*+/=?^_`{|}~.-";
  for (const char c : email)
    if (static_cast<unsigned char>(c) >= 0x80) return "must be ASCII (write an internationalized domain in its xn-- form)";
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return "must have a local part (before the @) of 1 to 64 characters, without leading, trailing or double dots";
  for (const char c : local)
    if (!std::isalnum(static_cast<unsigned char>(c)) && localSpecials.find(c) == std::string_view::npos)
      return "has a character an address cannot hold before the @";
  std::size_t dots = 0;
  for (std::string_view rest = domain;; ++dots) {
    const auto dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return "must have a domain like example.com after the @";
    for (const char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return "must have a domain like example.com after the @";
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (dots == 0) return "must have a domain like example.com after the @";
  return std::nullopt;
}

/// What a payload may set: each writable field, its kind and limit.
struct Field {
  enum Kind { Email, Line, Text };
  std::string_view name;
  Kind kind;
  std::size_t maxCharacters;
  bool required;  // on create
};

constexpr std::array<Field, 2> userFields{{{"email", Field::Email, 254, true}, {"name", Field::Line, 200, true}}};
constexpr std::array<std::string_view, 3> userReadOnly{"id", "createdAt", "updatedAt"};
constexpr std::array<Field, 2> postFields{{{"title", Field::Line, 200, true}, {"body", Field::Text, 20'000, false}}};
constexpr std::array<std::string_view, 4> postReadOnly{"id", "authorId", "createdAt", "updatedAt"};

std::optional<std::string> valueProblem(const Field& field, const Json& value) {
  if (!value.is_string()) return std::string("must be a string, got ") + value.type_name();
  const auto& text = value.get_ref<const std::string&>();
  if (field.kind == Field::Email) return emailProblem(text);
  const TextShape shape = shapeOf(text, field.kind == Field::Text ? "\n\r\t" : "");
  if (shape.badControl)
    return field.kind == Field::Text ? "must not hold control characters other than line breaks and tabs"
                                     : "must not hold control characters";
  if (field.required && text.find_first_not_of(" \t\n\r") == std::string::npos) return "must not be empty";
  if (shape.characters > field.maxCharacters) return "must be at most " + std::to_string(field.maxCharacters) + " characters";
  return std::nullopt;
}

/// Nesting depth of a JSON text, counted without parsing it (strings skipped).
int nesting(std::string_view text) {
  int depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (const char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

/// The request's JSON object, checked against what the route accepts; every problem found is
/// reported at once (422). `creating`: required fields must be present.
Json payload(const httplib::Request& req, std::span<const Field> fields, std::span<const std::string_view> readOnly, std::string_view what,
             bool creating) {
  const std::string type = req.get_header_value("Content-Type");
  if (type.substr(0, type.find(';')) != "application/json")
    throw BadRequest("send the body as JSON with the header Content-Type: application/json", 415);
  if (nesting(req.body) > maxNesting) throw BadRequest("the body is nested more than " + std::to_string(maxNesting) + " levels deep");
  Json body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw BadRequest("the body is not JSON (UTF-8)");
  if (!body.is_object()) throw Invalid({{"", std::string("expected a JSON object, got ") + body.type_name()}});
  std::vector<Problem> problems;
  for (const auto& item : body.items()) {
    const std::string& key = item.key();  // a named variable: clang 14 cannot capture structured bindings
    const Json& value = item.value();
    const auto field = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == key; });
    if (field != fields.end()) {
      if (auto problem = valueProblem(*field, value)) problems.push_back({key, std::move(*problem)});
    } else if (std::find(readOnly.begin(), readOnly.end(), key) != readOnly.end()) {
      problems.push_back({key, "is set by the server and cannot be written"});
    } else {
      problems.push_back({key, "is not a field of " + std::string(what)});
    }
  }
  if (creating)
    for (const Field& f : fields)
      if (f.required && !body.contains(f.name)) problems.push_back({std::string(f.name), "is required"});
  if (!problems.empty()) throw Invalid(std::move(problems));
  return body;
}

/// A non-negative decimal integer that fits 63 bits, digits only: no sign, space, hex or exponent.
std::optional<std::int64_t> digits(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;  // past INT64_MAX
  return v;
}

/// A query parameter that is an integer from `low` to `high`, or `fallback` when absent.
std::int64_t intParam(const httplib::Request& req, const char* name, std::int64_t fallback, std::int64_t low, std::int64_t high) {
  if (!req.has_param(name)) return fallback;
  const auto v = digits(req.get_param_value(name));
  if (!v || *v < low || *v > high)
    throw BadRequest(std::string("the query parameter ") + name + " must be a whole number from " + std::to_string(low) + " to " +
                     std::to_string(high));
  return *v;
}

/// The id in the path (the route's regex admits only digits): one no row can have is not found.
std::int64_t pathId(const httplib::Request& req) {
  const auto v = digits(req.matches[1].str());
  if (!v || *v < 1) throw kith::NotFound("no row has an id of 0 or past 64 bits");
  return *v;
}

// ---- Models -------------------------------------------------------------------------------------

struct Post;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::string name;
  Time createdAt{};
  std::optional<Time> updatedAt;
  kith::HasMany<Post> posts;

  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name, &User::createdAt, &User::updatedAt>;
  static constexpr auto relations = kith::relations<&User::posts>;
  static constexpr auto timestamps = kith::timestamps<&User::createdAt, &User::updatedAt>;

  // Before every insert and update, whoever saves: one spelling per address (ASCII, so lowering
  // the ASCII letters is the whole of case folding), and the rules the payload check applies.
  static void beforeSave(User& u) {
    for (char& c : u.email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::vector<Problem> problems;
    for (const Field& f : userFields)
      if (auto problem = valueProblem(f, f.name == "email" ? u.email : u.name)) problems.push_back({std::string(f.name), *problem});
    if (!problems.empty()) throw Invalid(std::move(problems));
  }
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;
  Time createdAt{};
  std::optional<Time> updatedAt;
  kith::BelongsTo<User> author;

  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body, &Post::createdAt, &Post::updatedAt>;
  static constexpr auto relations = kith::relations<&Post::author>;
  static constexpr auto timestamps = kith::timestamps<&Post::createdAt, &Post::updatedAt>;
  static constexpr kith::JsonName jsonNames[] = {{"userId", "authorId"}};

  static void beforeSave(Post& p) {
    std::vector<Problem> problems;
    for (const Field& f : postFields)
      if (auto problem = valueProblem(f, f.name == "title" ? p.title : p.body)) problems.push_back({std::string(f.name), *problem});
    if (!problems.empty()) throw Invalid(std::move(problems));
  }
  static void newestFirst(kith::Query<Post>& q) { q.orderBy<&Post::id>(kith::desc); }
};

// ---- Answers ------------------------------------------------------------------------------------

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}
void error(httplib::Response& res, int status, const std::string& message, Json details = nullptr) {
  Json body{{"error", message}};
  if (!details.is_null()) body["details"] = std::move(details);
  reply(res, status, body);
}

/// What went wrong, for the server's log only: never sent to the client.
void log(const httplib::Request& req, const char* kind, const std::exception& e) {
  std::fprintf(stderr, "%s %s: %s: %s\n", req.method.c_str(), req.path.c_str(), kind, e.what());
}

/// 503 with Retry-After: the database busy or unreachable, or no connection free in time.
void unavailable(const httplib::Request& req, httplib::Response& res, const std::exception& e, const char* kind, const char* retryAfter) {
  log(req, kind, e);
  res.set_header("Retry-After", retryAfter);
  error(res, 503, "the service is unavailable for a moment; try again");
}

/// Runs a handler with a connection leased from the pool for the request, turning what it throws
/// into an answer: a request that cannot be read 400 (415 for a body that is not JSON), no such row
/// 404, a duplicate 409, a refused payload or a value the database cannot store 422, a busy or
/// unreachable database or no free connection 503; anything else 500, whose cause goes to the
/// log, not to the client.
template <class F>
auto guarded(kith::Pool& pool, F handler) {
  return [&pool, handler](const httplib::Request& req, httplib::Response& res) {
    try {
      const kith::Lease db = pool.acquire();  // one connection per request, given back when it is answered
      handler(req, res, db);
    } catch (const BadRequest& e) {
      error(res, e.status, e.what());
    } catch (const Invalid& e) {
      Json details = Json::array();
      for (const auto& p : e.problems) details.push_back({{"field", p.field}, {"message", p.message}});
      error(res, 422, "the payload was refused", std::move(details));
    } catch (const kith::JsonError& e) {  // what the payload check let through and merge refused
      Json details = Json::array();
      for (const auto& p : e.problems()) details.push_back({{"field", p.key}, {"message", p.message}});
      error(res, 422, "the payload was refused", std::move(details));
    } catch (const kith::UniqueViolation&) {
      error(res, 409, "a user with this email exists");
    } catch (const kith::DataError& e) {
      log(req, "value refused by the database", e);
      error(res, 422, "a value in the request cannot be stored");
    } catch (const kith::NotFound&) {
      error(res, 404, "not found");
    } catch (const kith::BusyError& e) {
      unavailable(req, res, e, "database busy", "1");
    } catch (const kith::ConnectionError& e) {
      unavailable(req, res, e, "database unreachable", "5");
    } catch (const kith::PoolTimeout& e) {
      unavailable(req, res, e, "no connection free", "1");
    } catch (const std::exception& e) {
      log(req, "failed", e);
      error(res, 500, "the server failed to answer this request");
    }
  };
}

template <class M>
Json page(const kith::Page<M>& p) {
  return {{"data", kith::toJson(p.rows)},
          {"meta", {{"total", p.total}, {"perPage", p.perPage}, {"currentPage", p.currentPage}, {"lastPage", p.lastPage}}}};
}

std::int64_t pageParam(const httplib::Request& req) { return intParam(req, "page", 1, 1, std::numeric_limits<std::int64_t>::max()); }
std::int64_t perPageParam(const httplib::Request& req) { return intParam(req, "perPage", 20, 1, maxPerPage); }

void routes(httplib::Server& server, kith::Pool& pool) {
  server.Get("/users", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
               // Read untracked: these rows are only shown, never saved (no per-row record of their values).
               const auto users = User::query(db)
                                      .untracked()
                                      .orderBy<&User::id>()
                                      .preload<&User::posts>([](auto& q) { q.template apply<&Post::newestFirst>().groupLimit(5); })
                                      .withCount<&User::posts>()
                                      .paginate(pageParam(req), perPageParam(req));
               reply(res, 200, page(users));
             }));
  server.Get(R"(/users/(\d+))", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
               auto user = User::query(db)
                               .untracked()
                               .where<&User::id>(pathId(req))
                               .preload<&User::posts>([](auto& q) { q.template apply<&Post::newestFirst>().limit(20); })
                               .withCount<&User::posts>()
                               .firstOrFail();
               reply(res, 200, kith::toJson(user));
             }));
  server.Post("/users", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
                User user = kith::fromJson<User>(payload(req, userFields, userReadOnly, "a user", true));
                user.save(db);
                reply(res, 201, kith::toJson(user));
              }));
  server.Patch(R"(/users/(\d+))", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
                 const Json changes = payload(req, userFields, userReadOnly, "a user", false);
                 User user = User::findOrFail(db, pathId(req));
                 kith::merge(user, changes);
                 user.save();
                 reply(res, 200, kith::toJson(user));
               }));
  server.Delete(R"(/users/(\d+))", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
                  User user = User::findOrFail(db, pathId(req));
                  db.transaction([&](kith::Transaction& trx) {  // the posts and the user, or neither
                    user.related<&User::posts>(trx).query().remove();
                    user.useConnection(trx);
                    user.destroy();
                  });
                  res.status = 204;
                }));
  server.Get(R"(/users/(\d+)/posts)", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
               auto user = User::find(db, pathId(req), kith::untracked);
               if (!user) throw kith::NotFound("no such user");
               reply(res, 200,
                     page(user->related<&User::posts>().query().untracked().apply<&Post::newestFirst>().paginate(pageParam(req),
                                                                                                                 perPageParam(req))));
             }));
  server.Post(R"(/users/(\d+)/posts)", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
                const Json fields = payload(req, postFields, postReadOnly, "a post", true);
                User user = User::findOrFail(db, pathId(req));
                const Post post = user.related<&User::posts>().create(kith::fromJson<Post>(fields));
                reply(res, 201, kith::toJson(post));
              }));
  server.Get("/posts", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
               const auto posts = Post::query(db).untracked().apply<&Post::newestFirst>().preload<&Post::author>().paginate(
                   pageParam(req), perPageParam(req));
               reply(res, 200, page(posts));
             }));

  // httplib's own answers (no route, a malformed request, a body or URI too long) get the same
  // JSON shape as the service's; the answers above already have a body and are left as they are.
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    switch (res.status) {
      case 404:
        error(res, 404, "no such route");
        break;
      case 413:
        error(res, 413, "the body is larger than " + std::to_string(maxBodyBytes) + " bytes");
        break;
      case 414:
        error(res, 414, "the URI is too long");
        break;
      default:
        error(res, res.status, res.status < 500 ? "the request could not be read" : "the server failed to answer this request");
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr thrown) {
    try {
      std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
      log(req, "failed outside a route", e);
    } catch (...) {
      std::fprintf(stderr, "%s %s: failed outside a route\n", req.method.c_str(), req.path.c_str());
    }
    error(res, 500, "the server failed to answer this request");
  });
  server.set_payload_max_length(maxBodyBytes);
}

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

}  // namespace api

namespace api {

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
  api::routes(server, pool);
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
