// Soft deletes: destroy() and a query's remove() trash a row (its deletedAt set) instead of
// deleting it, and no read path lets a trashed row through unless it asks — one test per path
// (queries, counts, exists, pagination, find, preload and load of every relation kind, loadCount,
// withCount, withAggregate, has/whereHas, relation clients' queries, ManyToMany from both sides,
// HasManyThrough's intermediate rows), each checked on the rows the database holds. Then
// withTrashed/onlyTrashed, restore, forceDelete, their hooks, the lookups of the relation writes,
// and a transaction rolled back.
#include "support.hpp"

#include <chrono>

namespace trash {

using Time = std::chrono::sys_time<std::chrono::microseconds>;

using Journal = test::HookJournal;

struct Post;
struct Comment;
struct Profile;
struct Tag;

struct Writer : kith::BaseModel<Writer> {
  std::int64_t id{};
  std::string name;
  std::optional<Time> deletedAt;
  kith::HasMany<Post> posts;                     // Post::writerId -> Writer::id
  kith::HasOne<Profile> profile;                 // Profile::writerId
  kith::ManyToMany<Tag> tags;                    // tag_writer
  kith::HasManyThrough<Comment, Post> comments;  // Post::writerId, Comment::postId
  std::int64_t postCount = -1;                   // not a column: receives withCount / loadCount

  static constexpr auto columns = kith::columns<&Writer::id, &Writer::name, &Writer::deletedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Writer::deletedAt>;
  static constexpr auto relations = kith::relations<&Writer::tags>;  // createTables makes tag_writer
};

struct Post : kith::BaseModel<Post> {
  std::int64_t id{};
  std::int64_t writerId{};
  std::string slug;
  std::int64_t views{};
  std::optional<Time> deletedAt;
  std::optional<Time> updatedAt;
  kith::BelongsTo<Writer> writer;
  kith::HasMany<Comment> comments;

  static constexpr auto columns = kith::columns<&Post::id, &Post::writerId, &Post::slug, &Post::views, &Post::deletedAt, &Post::updatedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Post::deletedAt>;
  static constexpr auto timestamps = kith::timestamps<nullptr, &Post::updatedAt>;

  static void beforeDelete(Post& p) { Journal::record("beforeDelete", p.slug + (p.trashed() ? "(trashed)" : "")); }
  static void afterDelete(Post& p) { Journal::record("afterDelete", p.slug + (p.trashed() ? "(trashed)" : "")); }
  static void beforeRestore(Post& p) { Journal::record("beforeRestore", p.slug); }
  static void afterRestore(Post& p) { Journal::record("afterRestore", p.slug + (p.trashed() ? "(trashed)" : "")); }
  static void beforeForceDelete(Post& p) { Journal::record("beforeForceDelete", p.slug); }
  static void afterForceDelete(Post& p) { Journal::record("afterForceDelete", p.slug + (p.isDeleted() ? "(gone)" : "")); }
};

struct Comment : kith::BaseModel<Comment> {
  std::int64_t id{};
  std::int64_t postId{};
  std::string body;
  std::optional<Time> deletedAt;

  static constexpr auto columns = kith::columns<&Comment::id, &Comment::postId, &Comment::body, &Comment::deletedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Comment::deletedAt>;
};

struct Profile : kith::BaseModel<Profile> {
  std::int64_t id{};
  std::int64_t writerId{};
  std::string bio;
  std::optional<Time> deletedAt;

  static constexpr auto columns = kith::columns<&Profile::id, &Profile::writerId, &Profile::bio, &Profile::deletedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Profile::deletedAt>;
};

struct Tag : kith::BaseModel<Tag> {
  std::int64_t id{};
  std::string label;
  std::optional<Time> deletedAt;
  kith::ManyToMany<Writer> writers;  // the same tag_writer table, from the other side

  static constexpr auto columns = kith::columns<&Tag::id, &Tag::label, &Tag::deletedAt>;
  static constexpr auto softDeletes = kith::softDeletes<&Tag::deletedAt>;
};

/// A model without soft deletes beside them: its destroy() deletes.
struct Note : kith::BaseModel<Note> {
  std::int64_t id{};
  std::string text;

  static constexpr auto columns = kith::columns<&Note::id, &Note::text>;
};

/// ann: posts live (2 comments, one of them trashed) and gone (trashed; 1 comment), a trashed
/// profile, tags go (live) and old (trashed); bob (trashed): post b1 (live, 1 comment), tag go.
struct Blog {
  kith::Connection db = [] {
    auto db = test::database();
    kith::createTables<Writer, Post, Comment, Profile, Tag, Note>(db);
    return db;
  }();
  Writer ann = Writer::create(db, Writer{.name = "ann"});
  Writer bob = Writer::create(db, Writer{.name = "bob"});
  Post live = ann.related<&Writer::posts>().create(Post{.slug = "live", .views = 10});
  Post gone = ann.related<&Writer::posts>().create(Post{.slug = "gone", .views = 90});
  Post b1 = bob.related<&Writer::posts>().create(Post{.slug = "b1", .views = 5});
  Tag go = Tag::create(db, Tag{.label = "go"});
  Tag old = Tag::create(db, Tag{.label = "old"});

  Blog() {
    live.related<&Post::comments>().createMany({Comment{.body = "first"}, Comment{.body = "spam"}});
    gone.related<&Post::comments>().create(Comment{.body = "on gone"});
    b1.related<&Post::comments>().create(Comment{.body = "on b1"});
    ann.related<&Writer::profile>().create(Profile{.bio = "old bio"});
    ann.related<&Writer::tags>().attach({go.id, old.id});
    bob.related<&Writer::tags>().attach({go.id});
    Comment::query(db).where<&Comment::body>("spam").remove();
    Profile::query(db).remove();
    old.destroy();
    gone.destroy();
    bob.destroy();
  }

  std::int64_t trashedIn(const std::string& table) {
    return std::stoll(test::scalar(db, "SELECT count(*) FROM " + table + " WHERE deleted_at IS NOT NULL"));
  }
};

template <class Range>
std::vector<std::string> slugs(const Range& posts) {
  std::vector<std::string> out;
  for (const auto& p : posts) out.push_back(p.slug);
  return out;
}
template <class Range>
std::vector<std::string> labels(const Range& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.label);
  return out;
}
template <class Range>
std::vector<std::string> bodies(const Range& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.body);
  return out;
}

using Strings = std::vector<std::string>;

/// The UPDATE statements of a log (a write with an after hook runs in a transaction of its own).
inline Strings updates(const test::StatementLog& log) {
  Strings out;
  for (const auto& sql : log.sql())
    if (sql.starts_with("UPDATE")) out.push_back(sql);
  return out;
}

}  // namespace trash

using namespace trash;

TEST_CASE("destroy() trashes the row: it stays, its deletedAt and updatedAt set, and the model says so", "[soft-deletes][portable]") {
  Blog blog;
  // The fixture's trashing: every row is still there.
  CHECK(test::rows(blog.db, "posts") == 3);
  CHECK(test::rows(blog.db, "writers") == 2);
  CHECK(blog.trashedIn("posts") == 1);
  CHECK(blog.trashedIn("comments") == 1);
  CHECK(blog.trashedIn("profiles") == 1);
  CHECK(blog.trashedIn("tags") == 1);
  CHECK(blog.trashedIn("writers") == 1);

  CHECK(blog.gone.trashed());
  CHECK(blog.gone.isPersisted());
  CHECK_FALSE(blog.gone.isDeleted());
  CHECK_FALSE(blog.gone.isDirty());  // the model holds what the row holds
  REQUIRE(blog.gone.deletedAt);
  REQUIRE(blog.gone.updatedAt);
  CHECK(*blog.gone.deletedAt == *blog.gone.updatedAt);
  const auto raw = test::select(blog.db, "SELECT deleted_at, updated_at FROM posts WHERE slug = 'gone'");
  CHECK(raw.at(0).at(0).has_value());
  CHECK(raw.at(0).at(1).has_value());
  CHECK_FALSE(blog.live.trashed());

  // One UPDATE of those two columns, nothing else the model changed.
  test::StatementLog log(blog.db);
  blog.live.views = 11;
  blog.live.destroy();
  CHECK(updates(log) == Strings{R"(UPDATE "posts" SET "deleted_at" = ?, "updated_at" = ? WHERE "id" = ?)"});
  CHECK(blog.live.isDirty());  // views: not written by destroy()
  CHECK(test::scalar(blog.db, "SELECT views FROM posts WHERE slug = 'live'") == "10");
  CHECK(blog.live.dirty() == std::vector<std::string_view>{"views"});

  // Trashed already: refused, nothing sent.
  log.clear();
  CHECK_THROWS_WITH(blog.live.destroy(), test::Contains("is trashed already; forceDelete() deletes its row, restore() brings it back"));
  CHECK(log.count() == 0);

  // A model read untracked is trashed and restored too (as it may be destroyed).
  auto light = Post::query(blog.db).untracked().where<&Post::slug>("b1").firstOrFail();
  light.destroy();
  CHECK(light.trashed());
  CHECK(blog.trashedIn("posts") == 3);
  light.restore();
  CHECK_FALSE(light.trashed());
  CHECK(blog.trashedIn("posts") == 2);
  CHECK_THROWS_AS(light.save(), kith::UsageError);  // still untracked: save() refused as before

  // destroyQuietly(): trashed, no hook.
  Journal::reset();
  auto quiet = Post::findOrFail(blog.db, blog.b1.id);
  quiet.destroyQuietly();
  CHECK(quiet.trashed());
  CHECK(Journal::calls.empty());
  CHECK(blog.trashedIn("posts") == 3);
  quiet.restore();

  // A model without soft deletes is deleted as before.
  auto note = Note::create(blog.db, Note{.text = "x"});
  note.destroy();
  CHECK(test::rows(blog.db, "notes") == 0);
  CHECK(note.isDeleted());
}

TEST_CASE("soft deletes: queries leave trashed rows out of all, first, count, exists and paginate", "[soft-deletes][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  CHECK(slugs(Post::query(blog.db).orderBy<&Post::id>().all()) == Strings{"live", "b1"});
  CHECK(
      log.sql().back() ==
      R"(SELECT "id", "writer_id", "slug", "views", "deleted_at", "updated_at" FROM "posts" WHERE "deleted_at" IS NULL ORDER BY "id" ASC)");
  CHECK(Post::query(blog.db).count() == 2);
  CHECK(Post::query(blog.db).where<&Post::slug>("gone").count() == 0);
  CHECK_FALSE(Post::query(blog.db).where<&Post::slug>("gone").exists());
  CHECK_FALSE(Post::query(blog.db).where<&Post::slug>("gone").first());
  CHECK_THROWS_AS(Post::query(blog.db).where<&Post::slug>("gone").firstOrFail(), kith::NotFound);
  // A condition with OR stays inside its group: it cannot widen the query to trashed rows.
  CHECK(Post::query(blog.db).where<&Post::slug>("gone").orWhere<&Post::views>(">", 50).count() == 0);
  CHECK(log.sql().back() == R"(SELECT count(*) FROM "posts" WHERE ("slug" = ? OR "views" > ?) AND ("deleted_at" IS NULL))");

  const auto page = Post::query(blog.db).orderBy<&Post::id>().paginate(1, 1);
  CHECK(page.total == 2);
  CHECK(page.lastPage == 2);
  CHECK(slugs(page) == Strings{"live"});
  CHECK(Post::query(blog.db).orderBy<&Post::id>().paginate(2, 1).rows.at(0).slug == "b1");

  // Asked for: all of them, or only the trashed.
  CHECK(slugs(Post::query(blog.db).withTrashed().orderBy<&Post::id>().all()) == Strings{"live", "gone", "b1"});
  CHECK(slugs(Post::query(blog.db).onlyTrashed().all()) == Strings{"gone"});
  CHECK(Post::query(blog.db).onlyTrashed().paginate(1, 10).total == 1);
  CHECK(Post::query(blog.db).withTrashed().where<&Post::slug>("gone").exists());
  CHECK(Writer::query(blog.db).count() == 1);
  CHECK(Writer::query(blog.db).onlyTrashed().firstOrFail().name == "bob");
}

TEST_CASE("soft deletes: find and findOrFail do not find a trashed row, kith::withTrashed does, refresh reads it",
          "[soft-deletes][portable]") {
  Blog blog;
  CHECK_FALSE(Post::find(blog.db, blog.gone.id));
  CHECK_THROWS_AS(Post::findOrFail(blog.db, blog.gone.id), kith::NotFound);
  CHECK_FALSE(Post::find(blog.db, blog.gone.id, kith::untracked));
  CHECK(Post::find(blog.db, blog.live.id)->slug == "live");
  const auto found = Post::find(blog.db, blog.gone.id, kith::withTrashed);
  REQUIRE(found);
  CHECK(found->trashed());
  CHECK(found->slug == "gone");

  // Trashed by another writer: refresh() reads the row as it is.
  auto copy = Post::findOrFail(blog.db, blog.live.id);
  Post::query(blog.db).where<&Post::id>(blog.live.id).remove();
  CHECK_FALSE(copy.trashed());
  copy.refresh();
  CHECK(copy.trashed());
}

TEST_CASE("soft deletes: preload and load of a HasMany leave trashed children out, unless the callback asks", "[soft-deletes][portable]") {
  Blog blog;
  auto writers = Writer::query(blog.db).withTrashed().orderBy<&Writer::id>().preload<&Writer::posts>().all();
  REQUIRE(writers.size() == 2);
  CHECK(slugs(writers[0].posts) == Strings{"live"});
  CHECK(slugs(writers[1].posts) == Strings{"b1"});  // bob is trashed, his post is not
  auto withGone =
      Writer::query(blog.db).preload<&Writer::posts>([](auto& q) { q.withTrashed().template orderBy<&Post::id>(); }).firstOrFail();
  CHECK(slugs(withGone.posts) == Strings{"live", "gone"});

  auto ann = Writer::findOrFail(blog.db, blog.ann.id);
  ann.load<&Writer::posts>();
  CHECK(slugs(ann.posts) == Strings{"live"});
  // Nested: the live post's comments without the trashed one.
  auto nested = Writer::query(blog.db).preload<&Writer::posts>([](auto& q) { q.template preload<&Post::comments>(); }).firstOrFail();
  CHECK(bodies(nested.posts[0].comments) == Strings{"first"});
}

TEST_CASE("soft deletes: a trashed HasOne child preloads as none", "[soft-deletes][portable]") {
  Blog blog;
  auto ann = Writer::query(blog.db).preload<&Writer::profile>().firstOrFail();
  REQUIRE(ann.profile.isLoaded());
  CHECK_FALSE(ann.profile);
  ann.load<&Writer::profile>([](auto& q) { q.withTrashed(); });
  REQUIRE(ann.profile);
  CHECK(ann.profile->bio == "old bio");
}

TEST_CASE("soft deletes: a BelongsTo whose owner is trashed preloads as none", "[soft-deletes][portable]") {
  Blog blog;
  auto posts = Post::query(blog.db).orderBy<&Post::id>().preload<&Post::writer>().all();
  REQUIRE(posts.size() == 2);
  REQUIRE(posts[0].writer);
  CHECK(posts[0].writer->name == "ann");
  CHECK(posts[1].slug == "b1");
  CHECK(posts[1].writer.isLoaded());
  CHECK_FALSE(posts[1].writer);  // bob is trashed
  posts[1].load<&Post::writer>([](auto& q) { q.withTrashed(); });
  CHECK(posts[1].writer->name == "bob");
}

TEST_CASE("soft deletes: a ManyToMany leaves trashed related rows out from both sides, pivot rows kept", "[soft-deletes][portable]") {
  Blog blog;
  auto ann = Writer::query(blog.db).preload<&Writer::tags>().firstOrFail();
  CHECK(labels(ann.tags) == Strings{"go"});
  CHECK(ann.related<&Writer::tags>().query().count() == 1);
  CHECK(test::rows(blog.db, "tag_writer") == 3);  // the pivot rows stay: restore brings the tag back attached

  auto go = Tag::query(blog.db).preload<&Tag::writers>().firstOrFail();
  CHECK(go.label == "go");
  std::vector<std::string> names;
  for (const auto& w : go.writers) names.push_back(w.name);
  CHECK(names == Strings{"ann"});  // bob is trashed
  CHECK(go.related<&Tag::writers>().query().withTrashed().count() == 2);
  auto old = Tag::query(blog.db).withTrashed().where<&Tag::label>("old").firstOrFail();
  CHECK(old.related<&Tag::writers>().query().count() == 1);

  auto withOld = Writer::query(blog.db).preload<&Writer::tags>([](auto& q) { q.withTrashed().template orderBy<&Tag::id>(); }).firstOrFail();
  CHECK(labels(withOld.tags) == Strings{"go", "old"});

  // Restored, the tag is attached again; a sync that leaves a trashed tag out detaches it.
  blog.old.restore();
  CHECK(labels(Writer::query(blog.db).preload<&Writer::tags>([](auto& q) { q.template orderBy<&Tag::id>(); }).firstOrFail().tags) ==
        Strings{"go", "old"});
  blog.old.destroy();
  const auto synced = blog.ann.related<&Writer::tags>().sync({blog.go.id});
  CHECK(synced.detached == std::vector<std::int64_t>{blog.old.id});
  CHECK(test::rows(blog.db, "tag_writer") == 2);
  CHECK_THROWS_WITH(blog.ann.related<&Writer::tags>().query().restore(), test::Contains("a ManyToMany's query writes its pivot rows"));
}

TEST_CASE("soft deletes: a HasManyThrough leaves out trashed rows and the rows of trashed intermediate rows", "[soft-deletes][portable]") {
  Blog blog;
  auto ann = Writer::query(blog.db).preload<&Writer::comments>().firstOrFail();
  CHECK(bodies(ann.comments) == Strings{"first"});  // "spam" is trashed; "on gone" hangs from a trashed post
  CHECK(ann.related<&Writer::comments>().query().count() == 1);
  CHECK(Writer::query(blog.db).has<&Writer::comments>(">=", 2).count() == 0);
  CHECK(Writer::query(blog.db).withCount<&Writer::comments, &Writer::postCount>().firstOrFail().postCount == 1);
  // withTrashed() on the related rows does not bring back the trashed intermediate row's.
  auto all =
      Writer::query(blog.db).preload<&Writer::comments>([](auto& q) { q.withTrashed().template orderBy<&Comment::id>(); }).firstOrFail();
  CHECK(bodies(all.comments) == Strings{"first", "spam"});
}

TEST_CASE("soft deletes: withCount, withAggregate and loadCount count live rows only", "[soft-deletes][portable]") {
  Blog blog;
  auto ann = Writer::query(blog.db)
                 .withCount<&Writer::posts, &Writer::postCount>()
                 .withAggregate<&Writer::posts>(kith::sum<&Post::views>(), "views")
                 .firstOrFail();
  CHECK(ann.postCount == 1);
  CHECK(ann.extra<std::int64_t>("views") == 10);  // gone's 90 left out
  auto counted = Writer::query(blog.db).withCount<&Writer::posts>("all_posts", [](auto& q) { q.withTrashed(); }).firstOrFail();
  CHECK(counted.extra<std::int64_t>("all_posts") == 2);
  ann.loadCount<&Writer::posts>();
  CHECK(ann.extra<std::int64_t>("posts_count") == 1);
  ann.loadCount<&Writer::posts>("trashed_posts", [](auto& q) { q.onlyTrashed(); });
  CHECK(ann.extra<std::int64_t>("trashed_posts") == 1);
  ann.loadCount<&Writer::tags>();
  CHECK(ann.extra<std::int64_t>("tags_count") == 1);
}

TEST_CASE("soft deletes: has, whereHas and doesntHave see live related rows only", "[soft-deletes][portable]") {
  Blog blog;
  CHECK(Writer::query(blog.db).whereHas<&Writer::posts>([](auto& q) { q.template where<&Post::views>(">", 50); }).count() == 0);
  CHECK(Writer::query(blog.db).whereHas<&Writer::posts>([](auto& q) { q.template where<&Post::views>(">", 50).withTrashed(); }).count() ==
        1);
  CHECK(Writer::query(blog.db).has<&Writer::posts>(">=", 2).count() == 0);
  CHECK(Writer::query(blog.db).has<&Writer::profile>().count() == 0);
  CHECK(Writer::query(blog.db).doesntHave<&Writer::profile>().count() == 1);
  CHECK(Post::query(blog.db).has<&Post::writer>().count() == 1);  // b1's writer is trashed
  CHECK(Writer::query(blog.db).whereHas<&Writer::tags>([](auto& q) { q.template where<&Tag::label>("old"); }).count() == 0);
  CHECK(Tag::query(blog.db).withTrashed().has<&Tag::writers>().count() == 2);
  CHECK(Tag::query(blog.db).has<&Tag::writers>(">=", 2).count() == 0);  // go: ann, and bob trashed
  CHECK(Writer::query(blog.db).whereDoesntHave<&Writer::posts>([](auto& q) { q.template where<&Post::views>(">", 50); }).count() == 1);
}

TEST_CASE("soft deletes: a joined table is not filtered, a condition on its column is the caller's", "[soft-deletes][portable]") {
  Blog blog;
  CHECK(Post::query(blog.db).join<&Post::writerId, &Writer::id>().count() == 2);  // b1 too: its writer bob is trashed
  CHECK(slugs(Post::query(blog.db).join<&Post::writerId, &Writer::id>().whereNull<&Writer::deletedAt>().all()) == Strings{"live"});
}

TEST_CASE("soft deletes: a relation client's query and its lookups do not count a trashed row", "[soft-deletes][portable]") {
  Blog blog;
  auto posts = blog.ann.related<&Writer::posts>();
  CHECK(posts.query().count() == 1);
  CHECK(posts.query().withTrashed().count() == 2);
  // firstOrCreate: the trashed "gone" is no match, a new row is written.
  auto again = posts.firstOrCreate<&Post::slug>(Post{.slug = "gone", .views = 1});
  CHECK_FALSE(again.trashed());
  CHECK(again.id != blog.gone.id);
  CHECK(Post::query(blog.db).withTrashed().where<&Post::slug>("gone").count() == 2);
  // updateOrCreate and fetchOrCreateMany: the same rule.
  Post::query(blog.db).where<&Post::id>(again.id).remove();
  auto updated = posts.updateOrCreate<&Post::slug>(Post{.slug = "live", .views = 12});
  CHECK(updated.id == blog.live.id);
  auto many = posts.fetchOrCreateMany<&Post::slug>({Post{.slug = "live"}, Post{.slug = "gone"}});
  CHECK(many.at(0).id == blog.live.id);
  CHECK(many.at(1).id != blog.gone.id);
  CHECK(many.at(1).id != again.id);
  CHECK(Post::query(blog.db).withTrashed().where<&Post::slug>("gone").count() == 3);
}

TEST_CASE("soft deletes: a unique index and a trashed row: the lookup writes, the index refuses unless it is partial",
          "[soft-deletes][portable]") {
  Blog blog;
  blog.db.execute(R"(CREATE UNIQUE INDEX "posts_slug" ON "posts" ("writer_id", "slug"))");
  auto posts = blog.ann.related<&Writer::posts>();
  CHECK_THROWS_AS(posts.firstOrCreate<&Post::slug>(Post{.slug = "gone"}), kith::UniqueViolation);
  CHECK(Post::query(blog.db).withTrashed().count() == 3);  // nothing written
  // The advice of the guide: an index over the live rows only.
  blog.db.execute(R"(DROP INDEX "posts_slug")");
  blog.db.execute(R"(CREATE UNIQUE INDEX "posts_slug" ON "posts" ("writer_id", "slug") WHERE "deleted_at" IS NULL)");
  auto made = posts.firstOrCreate<&Post::slug>(Post{.slug = "gone"});
  CHECK_FALSE(made.trashed());
  CHECK_THROWS_AS(posts.create(Post{.slug = "gone"}), kith::UniqueViolation);  // two live rows: refused
  CHECK_THROWS_AS(blog.gone.restore(), kith::UniqueViolation);                 // a restore that would make two: refused
  CHECK(blog.gone.trashed());                                                  // and the model still says trashed
  CHECK(blog.trashedIn("posts") == 1);
}

TEST_CASE("soft deletes: restore() and forceDelete() on a model, with their hooks in order", "[soft-deletes][portable]") {
  Blog blog;
  Journal::reset();
  test::StatementLog log(blog.db);
  blog.gone.restore();
  CHECK(Journal::calls == Strings{"beforeRestore:gone", "afterRestore:gone"});
  CHECK_FALSE(blog.gone.trashed());
  CHECK_FALSE(blog.gone.isDirty());
  CHECK(updates(log) == Strings{R"(UPDATE "posts" SET "deleted_at" = ?, "updated_at" = ? WHERE "id" = ?)"});
  CHECK(Post::query(blog.db).count() == 3);
  CHECK_THROWS_WITH(blog.gone.restore(), test::Contains("is not trashed; restore() brings back a row that destroy() trashed"));

  Journal::reset();
  blog.gone.destroy();
  CHECK(Journal::calls == Strings{"beforeDelete:gone", "afterDelete:gone(trashed)"});

  // forceDelete: the row goes, trashed or not; its hooks around the delete hooks.
  Journal::reset();
  blog.gone.forceDelete();
  CHECK(Journal::calls ==
        Strings{"beforeForceDelete:gone", "beforeDelete:gone(trashed)", "afterDelete:gone(trashed)", "afterForceDelete:gone(gone)"});
  CHECK(blog.gone.isDeleted());
  CHECK_FALSE(blog.gone.isPersisted());
  CHECK(test::scalar(blog.db, "SELECT count(*) FROM posts WHERE slug = 'gone'") == "0");
  CHECK_THROWS_AS(blog.gone.restore(), kith::UsageError);

  // A hook that throws: nothing written, the model as it was.
  Journal::reset();
  Journal::failIn = "afterRestore";
  blog.live.destroy();
  const auto deletedAt = blog.live.deletedAt;
  CHECK_THROWS_WITH(blog.live.restore(), test::Contains("hook afterRestore refused live"));
  CHECK(blog.live.trashed());
  CHECK(blog.live.deletedAt == deletedAt);
  CHECK_FALSE(blog.live.isDirty());
  CHECK(test::scalar(blog.db, "SELECT count(*) FROM posts WHERE slug = 'live' AND deleted_at IS NOT NULL") == "1");
  Journal::failIn = "afterDelete";
  CHECK_THROWS_AS(blog.b1.destroy(), std::runtime_error);
  CHECK_FALSE(blog.b1.trashed());
  CHECK(Post::query(blog.db).where<&Post::slug>("b1").exists());
  Journal::failIn = "afterForceDelete";
  CHECK_THROWS_AS(blog.b1.forceDelete(), std::runtime_error);
  CHECK(blog.b1.isPersisted());
  CHECK(Post::query(blog.db).where<&Post::slug>("b1").exists());
  Journal::reset();

  // A row gone meanwhile: NotFound, the model unchanged.
  auto copy = Post::findOrFail(blog.db, blog.b1.id);
  blog.b1.forceDelete();
  CHECK_THROWS_AS(copy.destroy(), kith::NotFound);
  CHECK_FALSE(copy.trashed());
  CHECK_FALSE(copy.isDirty());
}

TEST_CASE("soft deletes: a query's remove() trashes, forceDelete() deletes, restore() brings back, update() skips trashed rows",
          "[soft-deletes][portable]") {
  Blog blog;
  test::StatementLog log(blog.db);
  CHECK(Post::query(blog.db).withTrashed().where<&Post::writerId>(blog.ann.id).remove() == 1);  // live only: gone is trashed already
  CHECK(log.sql().back() == R"(UPDATE "posts" SET "deleted_at" = ?, "updated_at" = ? WHERE ("writer_id" = ?) AND ("deleted_at" IS NULL))");
  CHECK(blog.trashedIn("posts") == 2);
  CHECK(Post::query(blog.db).update(kith::set<&Post::views>(0)) == 1);  // b1 only
  CHECK(test::scalar(blog.db, "SELECT views FROM posts WHERE slug = 'gone'") == "90");
  CHECK(Post::query(blog.db).withTrashed().update(kith::set<&Post::views>(1)) == 3);
  CHECK_THROWS_WITH(Post::query(blog.db).onlyTrashed().remove(), test::Contains("forceDelete() deletes them"));

  CHECK(Post::query(blog.db).where<&Post::slug>("live").restore() == 1);
  CHECK(log.sql().back() == R"(UPDATE "posts" SET "deleted_at" = ?, "updated_at" = ? WHERE ("slug" = ?) AND ("deleted_at" IS NOT NULL))");
  CHECK(Post::query(blog.db).count() == 2);

  CHECK(Post::query(blog.db).forceDelete() == 2);  // the live ones
  CHECK(test::rows(blog.db, "posts") == 1);
  CHECK(Post::query(blog.db).onlyTrashed().forceDelete() == 1);
  CHECK(test::rows(blog.db, "posts") == 0);

  // On a ManyToMany's query, remove() detaches (pivot rows); restore and forceDelete are refused there.
  CHECK(blog.ann.related<&Writer::tags>().query().remove() == 1);  // go: old is trashed
  CHECK(test::rows(blog.db, "tag_writer") == 2);
  CHECK(test::rows(blog.db, "tags") == 2);
  CHECK_THROWS_WITH(blog.ann.related<&Writer::tags>().query().forceDelete(), test::Contains("a ManyToMany's query writes its pivot rows"));
}

TEST_CASE("soft deletes: a destroy() rolled back leaves the row live, and the model dirty until saved or refreshed",
          "[soft-deletes][portable]") {
  Blog blog;
  std::optional<Post> live;
  try {
    blog.db.transaction([&](kith::Transaction& trx) {
      live = Post::findOrFail(trx, blog.live.id);
      live->destroy();
      CHECK_FALSE(Post::query(trx).where<&Post::slug>("live").exists());
      throw std::runtime_error("changed my mind");
    });
  } catch (const std::runtime_error&) {
  }
  CHECK(Post::query(blog.db).where<&Post::slug>("live").exists());
  CHECK(live->trashed());  // the member still holds the time it was given
  CHECK(live->isDirty());  // and save() would write it
  live->useConnection(blog.db);
  live->refresh();
  CHECK_FALSE(live->trashed());
  CHECK_FALSE(live->isDirty());
}
