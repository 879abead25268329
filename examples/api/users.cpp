// examples/api: the routes of users.
#include "app.hpp"

namespace api {

void userRoutes(httplib::Server& server, kith::Pool& pool) {
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
}

}  // namespace api
