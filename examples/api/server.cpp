// A small JSON REST service on kith: users and their posts, over cpp-httplib.
//
//   kith_api [--port N] [--sqlite FILE | --postgres CONNINFO]
//
// SQLite (a file, default kith-api.db in the temporary directory) unless --postgres or the
// environment variable KITH_API_POSTGRES gives a libpq conninfo. --port 0 picks a free port. The
// server prints "listening on http://127.0.0.1:PORT" once it accepts connections.
//
//   GET    /users?page=1&perPage=20   users with their posts and post counts, a page at a time
//   GET    /users/ID                  one user with their posts
//   POST   /users                     {"email": ..., "name": ...}          201, 400, 409, 422
//   PATCH  /users/ID                  any of email, name                   200, 400, 404, 409, 422
//   DELETE /users/ID                  the user and their posts             204, 404
//   POST   /users/ID/posts            {"title": ..., "body": ...}          201, 404, 422
//   GET    /posts?page=1&perPage=20   posts with their author
#include <kith/json.hpp>
#include <kith/kith.hpp>
#include <kith/postgres.hpp>

#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace api {

using Time = std::chrono::sys_time<std::chrono::microseconds>;

/// A payload a hook refused: 422 with the message.
struct Invalid : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// A request the service cannot read (a query parameter that is not a number): 400.
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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

  // Validation and normalisation before every insert and update.
  static void beforeSave(User& u) {
    for (char& c : u.email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (u.email.find('@') == std::string::npos) throw Invalid("email must be an address, like ann@example.com");
    if (u.name.empty()) throw Invalid("name must not be empty");
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
    if (p.title.empty()) throw Invalid("title must not be empty");
  }
  static void newestFirst(kith::Query<Post>& q) { q.orderBy<&Post::id>(kith::desc); }
};

using Json = nlohmann::json;

void reply(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}
void error(httplib::Response& res, int status, const std::string& message, Json details = nullptr) {
  Json body{{"error", message}};
  if (!details.is_null()) body["details"] = std::move(details);
  reply(res, status, body);
}

/// Runs a handler, turning what it throws into a status: bad JSON 400, a refused payload 422, a
/// duplicate 409, not found 404, anything else 500.
template <class F>
auto guarded(F handler) {
  return [handler](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const Json::parse_error&) {
      error(res, 400, "the body is not JSON");
    } catch (const BadRequest& e) {
      error(res, 400, e.what());
    } catch (const kith::JsonError& e) {
      Json details = Json::array();
      for (const auto& p : e.problems()) details.push_back({{"field", p.key}, {"message", p.message}});
      error(res, 422, "the payload was refused", std::move(details));
    } catch (const Invalid& e) {
      error(res, 422, e.what());
    } catch (const kith::UniqueViolation&) {
      error(res, 409, "a user with this email exists");
    } catch (const kith::NotFound&) {
      error(res, 404, "not found");
    } catch (const std::exception& e) {
      error(res, 500, e.what());
    }
  };
}

std::int64_t intParam(const httplib::Request& req, const char* name, std::int64_t fallback) {
  if (!req.has_param(name)) return fallback;
  try {
    return std::stoll(req.get_param_value(name));
  } catch (const std::exception&) {
    throw BadRequest(std::string("the query parameter ") + name + " must be an integer");
  }
}

template <class M>
Json page(const kith::Page<M>& p) {
  return {{"data", kith::toJson(p.rows)},
          {"meta", {{"total", p.total}, {"perPage", p.perPage}, {"currentPage", p.currentPage}, {"lastPage", p.lastPage}}}};
}

void routes(httplib::Server& server, const kith::Connection& db) {
  server.Get("/users", guarded([&db](const httplib::Request& req, httplib::Response& res) {
               const auto users = User::query(db)
                                      .orderBy<&User::id>()
                                      .preload<&User::posts>([](auto& q) { q.template apply<&Post::newestFirst>(); })
                                      .withCount<&User::posts>()
                                      .paginate(intParam(req, "page", 1), intParam(req, "perPage", 20));
               reply(res, 200, page(users));
             }));
  server.Get(R"(/users/(\d+))", guarded([&db](const httplib::Request& req, httplib::Response& res) {
               User user = User::findOrFail(db, std::stoll(req.matches[1]));
               user.load<&User::posts>([](auto& q) { q.template apply<&Post::newestFirst>(); });
               reply(res, 200, kith::toJson(user));
             }));
  server.Post("/users", guarded([&db](const httplib::Request& req, httplib::Response& res) {
                User user = kith::fromJson<User>(Json::parse(req.body));
                user.save(db);
                reply(res, 201, kith::toJson(user));
              }));
  server.Patch(R"(/users/(\d+))", guarded([&db](const httplib::Request& req, httplib::Response& res) {
                 User user = User::findOrFail(db, std::stoll(req.matches[1]));
                 kith::merge(user, Json::parse(req.body));
                 user.save();
                 reply(res, 200, kith::toJson(user));
               }));
  server.Delete(R"(/users/(\d+))", guarded([&db](const httplib::Request& req, httplib::Response& res) {
                  User user = User::findOrFail(db, std::stoll(req.matches[1]));
                  db.transaction([&](kith::Transaction& trx) {  // the posts and the user, or neither
                    user.related<&User::posts>(trx).query().remove();
                    user.useConnection(trx);
                    user.destroy();
                  });
                  res.status = 204;
                }));
  server.Post(R"(/users/(\d+)/posts)", guarded([&db](const httplib::Request& req, httplib::Response& res) {
                User user = User::findOrFail(db, std::stoll(req.matches[1]));
                const Post post = user.related<&User::posts>().create(kith::fromJson<Post>(Json::parse(req.body)));
                reply(res, 201, kith::toJson(post));
              }));
  server.Get("/posts", guarded([&db](const httplib::Request& req, httplib::Response& res) {
               const auto posts = Post::query(db).apply<&Post::newestFirst>().preload<&Post::author>().paginate(
                   intParam(req, "page", 1), intParam(req, "perPage", 20));
               reply(res, 200, page(posts));
             }));
}

}  // namespace api

int main(int argc, char** argv) {
  int port = 8080;
  std::string sqlite = (std::filesystem::temp_directory_path() / "kith-api.db").string();
  std::string postgres = std::getenv("KITH_API_POSTGRES") ? std::getenv("KITH_API_POSTGRES") : "";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port")
      port = std::stoi(value);
    else if (flag == "--sqlite")
      sqlite = value;
    else if (flag == "--postgres")
      postgres = value;
    else {
      std::fprintf(stderr, "usage: %s [--port N] [--sqlite FILE | --postgres CONNINFO]\n", argv[0]);
      return 2;
    }
  }
  const kith::Connection db = postgres.empty() ? kith::sqlite::open(sqlite) : kith::postgres::open(postgres);
  kith::createTables<api::User, api::Post>(db);
  db.execute("CREATE UNIQUE INDEX IF NOT EXISTS users_email ON users (email)");

  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(1); };  // one kith connection: one request at a time
  api::routes(server, db);
  const int bound = port == 0 ? server.bind_to_any_port("127.0.0.1") : (server.bind_to_port("127.0.0.1", port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%d\n", port);
    return 1;
  }
  std::printf("listening on http://127.0.0.1:%d (%s)\n", bound, postgres.empty() ? sqlite.c_str() : "PostgreSQL");
  std::fflush(stdout);
  return server.listen_after_bind() ? 0 : 1;
}
