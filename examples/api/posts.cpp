// examples/api: the routes of posts, a user's and all of them.
#include "app.hpp"

namespace api {

void postRoutes(httplib::Server& server, kith::Pool& pool) {
  server.Get(R"(/users/(\d+)/posts)", guarded(pool, [](const httplib::Request& req, httplib::Response& res, const kith::Connection& db) {
               User user = User::findOrFail(db, pathId(req), kith::untracked);
               reply(res, 200,
                     page(user.related<&User::posts>().query().untracked().apply<&Post::newestFirst>().paginate(pageParam(req),
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
}

}  // namespace api
