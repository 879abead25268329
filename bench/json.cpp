// W9: serialising 1,000 users with 10 posts each to JSON — kith::toJson against a hand-written
// serializer with the same library (nlohmann::json), on the same models, loaded once before any
// measurement. Two forms: the JSON value alone, and the value dumped to the string a service
// sends.
//
//   kith_bench_json            paired times: kith and hand-written calls alternating, the ratio
//                              taken within each adjacent pair, median of 61 pairs
//   kith_bench_json --count    for valgrind --tool=callgrind --collect-atstart=no: each once,
//                              dumped under "W9 kith", "W9 raw", "W9 dump kith", "W9 dump raw"
//   kith_bench_json --smoke    one small run; fails when the two outputs differ
#include <kith/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(label)
#endif

namespace {

struct Post;

struct User : kith::BaseModel<User> {
  std::int64_t id{};
  std::string email;
  std::string name;
  kith::HasMany<Post> posts;

  static constexpr auto columns = kith::columns<&User::id, &User::email, &User::name>;
  static constexpr auto relations = kith::relations<&User::posts>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t userId{};
  std::string title;
  std::string body;

  static constexpr auto columns = kith::columns<&Post::id, &Post::userId, &Post::title, &Post::body>;
};

using Json = nlohmann::json;

/// What one would write by hand for the same output.
Json handWritten(const std::vector<User>& users) {
  Json out = Json::array();
  for (const auto& u : users) {
    Json user = Json::object();
    user["id"] = u.id;
    user["email"] = u.email;
    user["name"] = u.name;
    Json posts = Json::array();
    for (const auto& p : u.posts) {
      Json post = Json::object();
      post["id"] = p.id;
      post["userId"] = p.userId;
      post["title"] = p.title;
      post["body"] = p.body;
      posts.push_back(std::move(post));
    }
    user["posts"] = std::move(posts);
    out.push_back(std::move(user));
  }
  return out;
}

std::vector<User> load(int users, int postsEach) {
  auto db = kith::sqlite::open(":memory:");
  kith::createTables<User, Post>(db);
  std::vector<User> rows;
  for (int u = 1; u <= users; ++u) rows.push_back(User{.email = "user" + std::to_string(u) + "@example.com", .name = "Name"});
  rows = User::createMany(db, std::move(rows));
  std::vector<Post> posts;
  for (const auto& u : rows)
    for (int k = 0; k < postsEach; ++k)
      posts.push_back(Post{.userId = u.id,
                           .title = "Post number " + std::to_string(k) + " of user",
                           .body = std::string(100, static_cast<char>('a' + k % 26))});
  Post::createMany(db, std::move(posts));
  return User::query(db).orderBy<&User::id>().preload<&User::posts>().all();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool smoke = mode == "--smoke";
  const auto users = load(smoke ? 10 : 1000, 10);
  const auto kith = [&] { return kith::toJson(users); };
  const auto raw = [&] { return handWritten(users); };
  if (kith() != raw() || kith().dump() != raw().dump()) {
    std::fprintf(stderr, "W9: kith::toJson and the hand-written serializer disagree\n");
    return 1;
  }
  if (smoke) {
    std::puts("W9 smoke: outputs agree");
    return 0;
  }
  std::size_t sink = 0;
  if (mode == "--count") {
    const auto count = [&](const char* label, auto&& f) {
      CALLGRIND_TOGGLE_COLLECT;
      sink += f();
      CALLGRIND_TOGGLE_COLLECT;
      CALLGRIND_DUMP_STATS_AT(label);
    };
    count("W9 kith", [&] { return kith().size(); });
    count("W9 raw", [&] { return raw().size(); });
    count("W9 dump kith", [&] { return kith().dump().size(); });
    count("W9 dump raw", [&] { return raw().dump().size(); });
    return sink == 0;
  }
  // Paired times: kith then raw, raw then kith, alternating; the ratio within each pair.
  const auto time = [&](auto&& f) {
    const auto start = std::chrono::steady_clock::now();
    sink += f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  for (const bool dump : {false, true}) {
    std::vector<double> ratios, kithMs, rawMs;
    for (int i = 0; i < 61; ++i) {
      double k = 0, r = 0;
      if (i % 2 == 0) {
        k = time([&] { return dump ? kith().dump().size() : kith().size(); });
        r = time([&] { return dump ? raw().dump().size() : raw().size(); });
      } else {
        r = time([&] { return dump ? raw().dump().size() : raw().size(); });
        k = time([&] { return dump ? kith().dump().size() : kith().size(); });
      }
      ratios.push_back(k / r);
      kithMs.push_back(k);
      rawMs.push_back(r);
    }
    std::printf("W9%s: kith %.2f ms, hand-written %.2f ms (medians); paired ratio kith/raw %.3f (61 pairs)\n", dump ? " dump" : "",
                median(kithMs), median(rawMs), median(ratios));
  }
  return sink == 0;
}
