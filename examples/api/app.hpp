// examples/api's shared part: the models, the rules a payload must follow, and how every route
// answers. The routes live one file per model (users.cpp, posts.cpp), the HTTP plumbing in
// http.cpp, the program in server.cpp: the layout of an application, each file compiling kith's
// templates for what it uses.
#pragma once

#include <kith/json.hpp>
#include <kith/kith.hpp>
#include <kith/pool.hpp>

#include <httplib.h>

#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
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

/// An email address as this service stores it: ASCII (an internationalized domain in its xn--
/// form), one '@', a local part of at most 64 characters and a domain of dot-separated labels;
/// the reason when `email` is not one.
std::optional<std::string> emailProblem(std::string_view email);

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

/// Why `value` cannot be `field`, or nothing.
std::optional<std::string> valueProblem(const Field& field, const Json& value);

/// The request's JSON object, checked against what the route accepts; every problem found is
/// reported at once (422). `creating`: required fields must be present.
Json payload(const httplib::Request& req, std::span<const Field> fields, std::span<const std::string_view> readOnly, std::string_view what,
             bool creating);

/// A non-negative decimal integer that fits 63 bits, digits only: no sign, space, hex or exponent.
std::optional<std::int64_t> digits(std::string_view text);

/// A query parameter that is an integer from `low` to `high`, or `fallback` when absent.
std::int64_t intParam(const httplib::Request& req, const char* name, std::int64_t fallback, std::int64_t low, std::int64_t high);
std::int64_t pageParam(const httplib::Request& req);
std::int64_t perPageParam(const httplib::Request& req);

/// The id in the path (the route's regex admits only digits): one no row can have is not found.
std::int64_t pathId(const httplib::Request& req);

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

void reply(httplib::Response& res, int status, const Json& body);
void error(httplib::Response& res, int status, const std::string& message, Json details = nullptr);
/// What went wrong, for the server's log only: never sent to the client.
void log(const httplib::Request& req, const char* kind, const std::exception& e);
/// 503 with Retry-After: the database busy or unreachable, or no connection free in time.
void unavailable(const httplib::Request& req, httplib::Response& res, const std::exception& e, const char* kind, const char* retryAfter);

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

/// The routes, one function per model (users.cpp, posts.cpp), and httplib's own answers in the
/// service's JSON shape with the body limit (http.cpp).
void userRoutes(httplib::Server& server, kith::Pool& pool);
void postRoutes(httplib::Server& server, kith::Pool& pool);
void answerInJson(httplib::Server& server);

}  // namespace api
