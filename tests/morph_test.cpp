// Polymorphic relations, typed: MorphMany and MorphOne on two owner types (posts and videos, whose
// ids overlap on purpose), MorphTo<Post, Video> on comments. Writes set both columns; reads of one
// owner's children never see another type's rows with the same id; a MorphTo preload reads each
// owner type present with one statement and shares owners; has/whereHas/withCount; associate and
// dissociate; what a failure leaves; the (type, id) index createTables makes.
#include "support.hpp"

#include <kith/verify.hpp>

namespace morphs {

struct Post;
struct Video;

struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::string body;
  std::optional<std::string> commentableType;
  std::optional<std::int64_t> commentableId;
  kith::MorphTo<Post, Video> commentable;

  static constexpr auto columns = kith::columns<&Comment::id, &Comment::body, &Comment::commentableType, &Comment::commentableId>;
  static constexpr auto relations = kith::relations<&Comment::commentable>;
};

/// Not nullable columns, and others than the default names.
struct Image : kith::BaseModel<Image> {
  std::int64_t id{};
  std::string url;
  std::string ownerKind;
  std::int64_t ownerRef{};

  static constexpr auto columns = kith::columns<&Image::id, &Image::url, &Image::ownerKind, &Image::ownerRef>;
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::string title;
  kith::MorphMany<Comment, kith::morph{.name = "commentable"}> comments;
  kith::MorphOne<Image, kith::morph{.typeKey = "ownerKind", .idKey = "ownerRef"}> image;
  std::int64_t commentCount = -1;  // not a column: receives withCount

  static constexpr auto columns = kith::columns<&Post::id, &Post::title>;
  static constexpr auto relations = kith::relations<&Post::comments, &Post::image>;
};

struct Video : kith::BaseModel<Video> {
  std::int64_t id{};
  std::string title;
  std::optional<std::chrono::sys_time<std::chrono::microseconds>> deletedAt;
  kith::MorphMany<Comment, kith::morph{.name = "commentable"}> comments;
  kith::MorphOne<Image, kith::morph{.typeKey = "ownerKind", .idKey = "ownerRef"}> image;

  static constexpr auto columns = kith::columns<&Video::id, &Video::title, &Video::deletedAt>;
  static constexpr std::string_view morphName = "video";  // stays when the class is renamed
  static constexpr auto softDeletes = kith::softDeletes<&Video::deletedAt>;
};

using Strings = std::vector<std::string>;

template <class Range>
Strings bodies(const Range& rows) {
  Strings out;
  for (const auto& r : rows) out.push_back(r.body);
  return out;
}

/// post 1 "hello" (comments a, b), post 2 "quiet" (none), video 1 "clip" (comment c: the same id
/// as post 1), and an orphan comment (no owner).
struct World {
  kith::Connection db = [] {
    auto db = test::database();
    kith::createTables<Comment, Image, Post, Video>(db);
    return db;
  }();
  Post hello = Post::create(db, Post{.title = "hello"});
  Post quiet = Post::create(db, Post{.title = "quiet"});
  Video clip = Video::create(db, Video{.title = "clip"});
  World() {
    REQUIRE(hello.id == clip.id);  // the point of these tests: same ids, different owners
    hello.related<&Post::comments>().createMany({Comment{.body = "a"}, Comment{.body = "b"}});
    clip.related<&Video::comments>().create(Comment{.body = "c"});
    Comment::create(db, Comment{.body = "orphan"});
  }
};

}  // namespace morphs

using namespace morphs;

TEST_CASE("MorphMany writes set the type and id columns, reads see their own type's rows only", "[morph][portable]") {
  World w;
  const auto raw = test::select(w.db, "SELECT body, commentable_type, commentable_id FROM comments ORDER BY id");
  REQUIRE(raw.size() == 4);
  CHECK(raw[0] == test::RawRow{"a", "posts", std::to_string(w.hello.id)});  // the table's name by default
  CHECK(raw[2] == test::RawRow{"c", "video", std::to_string(w.clip.id)});   // the declared morph name
  CHECK(raw[3] == test::RawRow{"orphan", std::nullopt, std::nullopt});

  test::StatementLog log(w.db);
  CHECK(bodies(w.hello.related<&Post::comments>().query().orderBy<&Comment::id>().all()) == Strings{"a", "b"});
  CHECK(log.sql().back() == R"(SELECT "id", "body", "commentable_type", "commentable_id" FROM "comments" WHERE "commentable_type" = ? AND )"
                            R"("commentable_id" = ? ORDER BY "id" ASC)");
  CHECK(bodies(w.clip.related<&Video::comments>().query().all()) == Strings{"c"});

  // Preload: one statement per relation, each owner's rows only.
  log.clear();
  auto posts = Post::query(w.db).orderBy<&Post::id>().preload<&Post::comments>().all();
  CHECK(log.count() == 2);
  CHECK(bodies(posts[0].comments) == Strings{"a", "b"});
  CHECK(posts[1].comments.empty());
  auto clip = Video::query(w.db).preload<&Video::comments>().firstOrFail();
  CHECK(bodies(clip.comments) == Strings{"c"});
  auto hello = Post::findOrFail(w.db, w.hello.id);
  hello.load<&Post::comments>();
  CHECK(hello.comments.size() == 2);

  // firstOrCreate looks among this owner's rows: video 1's "c" is no match for post 1.
  auto c = w.hello.related<&Post::comments>().firstOrCreate<&Comment::body>(Comment{.body = "c"});
  CHECK(c.commentableType == "posts");
  CHECK(Comment::query(w.db).where<&Comment::body>("c").count() == 2);
  auto again = w.clip.related<&Video::comments>().firstOrCreate<&Comment::body>(Comment{.body = "c"});
  CHECK(again.commentableType == "video");
  CHECK(again.id != c.id);
  CHECK(Comment::query(w.db).count() == 5);
  // updateOrCreate and fetchOrCreateMany: the same scope; a match keeps its type and id.
  auto updated = w.clip.related<&Video::comments>().updateOrCreate<&Comment::body>(Comment{.body = "c"});
  CHECK(updated.commentableType == "video");
  auto many = w.hello.related<&Post::comments>().fetchOrCreateMany<&Comment::body>({Comment{.body = "a"}, Comment{.body = "d"}});
  CHECK(many[0].body == "a");
  CHECK(many[1].commentableType == "posts");
  CHECK(Comment::query(w.db).count() == 6);
  auto upserted = w.clip.related<&Video::comments>().updateOrCreateMany<&Comment::body>({Comment{.body = "d"}, Comment{.body = "c"}});
  CHECK(upserted[0].commentableType == "video");  // post 1's "d" is no match for video 1
  CHECK(upserted[0].id != many[1].id);
  CHECK(upserted[1].commentableType == "video");
  CHECK(Comment::query(w.db).count() == 7);
}

TEST_CASE("MorphMany saveMany moves a comment to another type of owner, and a failure puts both columns back", "[morph][portable]") {
  World w;
  auto a = Comment::query(w.db).where<&Comment::body>("a").firstOrFail();
  auto orphan = Comment::query(w.db).where<&Comment::body>("orphan").firstOrFail();
  std::vector<Comment> moving{a, orphan};
  w.clip.related<&Video::comments>().saveMany(moving);
  CHECK(test::select(w.db, "SELECT commentable_type, commentable_id FROM comments WHERE body IN ('a', 'orphan')") ==
        std::vector<test::RawRow>{{"video", std::to_string(w.clip.id)}, {"video", std::to_string(w.clip.id)}});
  CHECK(Video::query(w.db).withCount<&Video::comments>().firstOrFail().extra<std::int64_t>("comments_count") == 3);

  // A failing row (another writer deleted it): nothing written, each model's columns as before.
  auto b = Comment::query(w.db).where<&Comment::body>("b").firstOrFail();
  auto gone = Comment::query(w.db).where<&Comment::body>("c").firstOrFail();
  Comment::query(w.db).where<&Comment::id>(gone.id).remove();
  std::vector<Comment> failing{b, gone};
  CHECK_THROWS_AS(w.quiet.related<&Post::comments>().saveMany(failing), kith::NotFound);
  CHECK(failing[0].commentableType == "posts");
  CHECK(failing[0].commentableId == w.hello.id);
  CHECK(failing[1].commentableType == "video");
  CHECK(test::scalar(w.db, "SELECT commentable_id FROM comments WHERE body = 'b'") == std::to_string(w.hello.id));
}

TEST_CASE("MorphOne: create, firstOrCreate and preload by type, on columns named outright", "[morph][portable]") {
  World w;
  w.hello.related<&Post::image>().create(Image{.url = "post.png"});
  w.clip.related<&Video::image>().create(Image{.url = "clip.png"});
  CHECK(test::select(w.db, "SELECT url, owner_kind, owner_ref FROM images ORDER BY id") ==
        std::vector<test::RawRow>{{"post.png", "posts", std::to_string(w.hello.id)}, {"clip.png", "video", std::to_string(w.clip.id)}});
  auto posts = Post::query(w.db).orderBy<&Post::id>().preload<&Post::image>().all();
  REQUIRE(posts[0].image);
  CHECK(posts[0].image->url == "post.png");
  CHECK_FALSE(posts[1].image);
  auto clip = Video::query(w.db).preload<&Video::image>().firstOrFail();
  CHECK(clip.image->url == "clip.png");
  auto same = w.clip.related<&Video::image>().firstOrCreate<>(Image{.url = "other.png"});
  CHECK(same.url == "clip.png");
  auto fresh = w.quiet.related<&Post::image>().firstOrCreate<>(Image{.url = "quiet.png"});
  CHECK(fresh.ownerKind == "posts");
  CHECK(test::rows(w.db, "images") == 3);
  CHECK(Post::query(w.db).has<&Post::image>().count() == 2);
}

TEST_CASE("MorphTo preload: one statement per owner type present, owners shared, a typed handle", "[morph][portable]") {
  World w;
  w.hello.related<&Post::comments>().create(Comment{.body = "a2"});
  test::StatementLog log(w.db);
  auto comments = Comment::query(w.db).orderBy<&Comment::id>().preload<&Comment::commentable>().all();
  REQUIRE(comments.size() == 5);
  CHECK(log.count() == 3);  // comments, posts, videos
  CHECK(log.sql()[1].find(R"(FROM "posts")") != std::string::npos);
  CHECK(log.sql()[2].find(R"(FROM "videos")") != std::string::npos);

  const auto& a = comments[0].commentable;
  REQUIRE(a.isLoaded());
  REQUIRE(a);
  CHECK(a.is<Post>());
  CHECK_FALSE(a.is<Video>());
  CHECK(a.get<Post>().title == "hello");
  CHECK(a.getIf<Video>() == nullptr);
  CHECK(a.morphName() == "posts");
  CHECK_THROWS_WITH(a.get<Video>(), test::Contains("kith: this MorphTo holds a Post, not a Video"));
  // Children of one owner share it (a2 was written last, same post).
  CHECK(comments[0].commentable.shared<Post>() == comments[4].commentable.shared<Post>());
  CHECK(comments[2].commentable.get<Video>().title == "clip");
  CHECK(comments[2].commentable.morphName() == "video");
  // The orphan: loaded, no owner.
  CHECK(comments[3].commentable.isLoaded());
  CHECK_FALSE(comments[3].commentable);
  CHECK_THROWS_WITH(comments[3].commentable.get<Post>(), test::Contains("holds no owner, not a Post"));
  CHECK_THROWS_AS(comments[3].commentable.visit([](auto& owner) { return owner.title; }), kith::UsageError);
  Strings titles;
  for (const auto& c : comments)
    if (c.commentable) titles.push_back(c.commentable.visit([](auto& owner) { return owner.title; }));
  CHECK(titles == Strings{"hello", "hello", "clip", "hello"});

  // Only posts among the children: no statement for videos.
  log.clear();
  auto onlyPosts = Comment::query(w.db).where<&Comment::commentableType>("posts").preload<&Comment::commentable>().all();
  CHECK(onlyPosts.size() == 3);
  CHECK(log.count() == 2);
  // load() on one model; a callback applied to each owner type's query.
  auto c = Comment::query(w.db).where<&Comment::body>("c").firstOrFail();
  CHECK_THROWS_WITH(bool(c.commentable), test::Contains("a MorphTo<Post, Video>") && test::Contains("Comment::commentable"));
  c.load<&Comment::commentable>([](auto& q) { q.template where<&std::remove_cvref_t<decltype(q)>::model_type::title>("nope"); });
  CHECK_FALSE(c.commentable);
  c.load<&Comment::commentable>();
  CHECK(c.commentable.is<Video>());

  // A trashed owner (Video has soft deletes) preloads as none, and has/whereHas do not count it.
  w.clip.destroy();
  c.load<&Comment::commentable>();
  CHECK(c.commentable.isLoaded());
  CHECK_FALSE(c.commentable);
  CHECK(Comment::query(w.db).has<&Comment::commentable>().count() == 3);
  CHECK(Comment::query(w.db).whereHasMorph<&Comment::commentable, Video>().count() == 0);
}

TEST_CASE("MorphTo: a type its model does not list is a clear error, not a missing owner", "[morph][portable]") {
  World w;
  w.db.execute(R"(UPDATE "comments" SET "commentable_type" = 'photos' WHERE "body" = 'c')");
  CHECK_THROWS_WITH(Comment::query(w.db).preload<&Comment::commentable>().all(),
                    test::Contains("kith: cannot preload \"commentable\": a Comment holds \"photos\" in \"commentable_type\", which is not "
                                   "the morph name of any owner type its MorphTo lists (posts (Post), video (Video))"));
}

TEST_CASE("MorphTo: associate and dissociate write both columns, and a failure leaves both rows and models as they were",
          "[morph][portable]") {
  World w;
  auto orphan = Comment::query(w.db).where<&Comment::body>("orphan").firstOrFail();
  orphan.related<&Comment::commentable>().associate(w.clip);
  CHECK(orphan.commentable.is<Video>());
  CHECK(test::select(w.db, "SELECT commentable_type, commentable_id FROM comments WHERE body = 'orphan'") ==
        std::vector<test::RawRow>{{"video", std::to_string(w.clip.id)}});
  // A new owner is saved first, in the same transaction.
  Post fresh{.title = "fresh"};
  orphan.related<&Comment::commentable>().associate(fresh);
  CHECK(fresh.isPersisted());
  CHECK(orphan.commentableType == "posts");
  CHECK(orphan.commentableId == fresh.id);
  CHECK(Post::query(w.db).whereHas<&Post::comments>([](auto& q) { q.template where<&Comment::body>("orphan"); }).firstOrFail().id ==
        fresh.id);

  orphan.related<&Comment::commentable>().dissociate();
  CHECK(orphan.commentable.isLoaded());
  CHECK_FALSE(orphan.commentable);
  CHECK(test::select(w.db, "SELECT commentable_type, commentable_id FROM comments WHERE body = 'orphan'") ==
        std::vector<test::RawRow>{{std::nullopt, std::nullopt}});

  // dissociate() that fails (the comment's row is gone): the model keeps both columns.
  auto lost = Comment::query(w.db).where<&Comment::body>("b").firstOrFail();
  lost.body = "changed";
  Comment::query(w.db).where<&Comment::id>(lost.id).remove();
  CHECK_THROWS_AS(lost.related<&Comment::commentable>().dissociate(), kith::NotFound);
  CHECK(lost.commentableType == "posts");
  CHECK(lost.commentableId == w.hello.id);

  // The owner cannot be saved (another writer deleted its row): nothing written, both models as they were.
  auto a = Comment::query(w.db).where<&Comment::body>("a").firstOrFail();
  auto ghost = Post::findOrFail(w.db, w.quiet.id);
  ghost.title = "changed";
  Post::query(w.db).where<&Post::id>(ghost.id).remove();
  CHECK_THROWS_AS(a.related<&Comment::commentable>().associate(ghost), kith::NotFound);
  CHECK(a.commentableType == "posts");
  CHECK(a.commentableId == w.hello.id);
  CHECK(ghost.isDirty());
  CHECK(test::scalar(w.db, "SELECT commentable_id FROM comments WHERE body = 'a'") == std::to_string(w.hello.id));
}

TEST_CASE("MorphMany and MorphTo in has, whereHas, withCount, withAggregate and loadCount", "[morph][portable]") {
  World w;
  CHECK(Post::query(w.db).has<&Post::comments>().count() == 1);
  CHECK(Video::query(w.db).has<&Video::comments>().count() == 1);
  CHECK(Post::query(w.db).doesntHave<&Post::comments>().firstOrFail().title == "quiet");
  CHECK(Post::query(w.db).has<&Post::comments>(">=", 2).count() == 1);
  auto counted = Post::query(w.db).orderBy<&Post::id>().withCount<&Post::comments, &Post::commentCount>().all();
  CHECK(counted[0].commentCount == 2);
  CHECK(counted[1].commentCount == 0);
  auto clip = Video::query(w.db).withAggregate<&Video::comments>(kith::max<&Comment::body>(), "last").firstOrFail();
  CHECK(clip.extra<std::string>("last") == "c");
  auto hello = Post::findOrFail(w.db, w.hello.id);
  hello.loadCount<&Post::comments>();
  CHECK(hello.extra<std::int64_t>("comments_count") == 2);

  // From the child: whereHas over every owner type, or the ones named.
  test::StatementLog log(w.db);
  const auto titled = [](const std::string& title) {
    return [title](auto& q) { q.template where<&std::remove_cvref_t<decltype(q)>::model_type::title>(title); };
  };
  CHECK(bodies(Comment::query(w.db).orderBy<&Comment::id>().whereHas<&Comment::commentable>(titled("clip")).all()) == Strings{"c"});
  CHECK(log.sql().back().find(R"(("comments"."commentable_type" = ? AND EXISTS (SELECT 1 FROM "posts" WHERE )") != std::string::npos);
  CHECK(Comment::query(w.db).has<&Comment::commentable>().count() == 3);
  CHECK(bodies(Comment::query(w.db).doesntHave<&Comment::commentable>().all()) == Strings{"orphan"});
  CHECK(Comment::query(w.db).whereHasMorph<&Comment::commentable, Post>().count() == 2);
  CHECK(Comment::query(w.db).whereHasMorph<&Comment::commentable, Video>(titled("hello")).count() == 0);
  CHECK(Comment::query(w.db).whereHasMorph<&Comment::commentable, Post>(titled("hello")).count() == 2);
  // A row whose owner was deleted has none.
  Video::query(w.db).remove();
  CHECK(Comment::query(w.db).has<&Comment::commentable>().count() == 2);
}

TEST_CASE("createTables indexes a polymorphic relation's type and id columns", "[morph][portable]") {
  World w;
  const std::string sql = test::onPostgres()
                              ? "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = "
                                "'comments_commentable_type_commentable_id_index'"
                              : "SELECT sql FROM sqlite_master WHERE name = 'comments_commentable_type_commentable_id_index'";
  CHECK_THAT(test::scalar(w.db, sql), test::Contains(R"(commentable_type)") && test::Contains("commentable_id"));
  const std::string images =
      test::onPostgres()
          ? "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'images_owner_kind_owner_ref_index'"
          : "SELECT count(*) FROM sqlite_master WHERE name = 'images_owner_kind_owner_ref_index'";
  CHECK(test::scalar(w.db, images) == "1");
  // verifySchema expects the pair index, and finds it; without it, it says which.
  CHECK(kith::verifySchema<Comment, Image, Post, Video>(w.db).describe() == "");
  w.db.execute(R"(DROP INDEX "comments_commentable_type_commentable_id_index")");
  const auto report = kith::verifySchema<Comment, Image, Post, Video>(w.db).describe();
  CHECK_THAT(report, test::Contains("no index on comments (commentable_type, commentable_id)"));
}
