// A relation member that nothing loaded (no preload, load() or write through it) is never read as
// empty: every way of reading it throws a kith::UsageError naming its kind and model and how to
// load it, for every relation kind; isLoaded() asks without throwing; loaded, it reads as before.
#include "many_to_many_models.hpp"
#include "people_models.hpp"

namespace {

constexpr const char* howToLoad =
    "load it with the query that reads its model (.preload<&User::posts>()) or on the model (model.load<&User::posts>())";

}  // namespace

TEST_CASE("a HasMany, HasOne and BelongsTo nothing loaded throw on every read, and read as before once loaded",
          "[relations][unloaded][portable]") {
  auto db = people::database();
  auto ann = people::User::create(db, people::user("ann@b"));
  ann.related<&people::User::posts>().create(people::post("first"));

  auto plain = people::User::findOrFail(db, ann.id);
  CHECK_FALSE(plain.posts.isLoaded());
  // The member is named where the program has one of its type, with the call that loads it.
  CHECK_THROWS_WITH(plain.posts.size(),
                    test::Contains("kith: User::posts, a HasMany<Post>, was read before anything loaded it (it is not an empty relation)"));
  CHECK_THROWS_WITH(plain.posts.empty(), test::Contains(howToLoad));
  CHECK_THROWS_AS(plain.posts[0], kith::UsageError);
  CHECK_THROWS_AS(plain.posts.items(), kith::UsageError);
  CHECK_THROWS_AS(
      [&] {
        for (const auto& p : plain.posts) (void)p;
      }(),
      kith::UsageError);

  CHECK_FALSE(plain.profile.isLoaded());
  CHECK_THROWS_WITH(bool(plain.profile), test::Contains("User::profile, a HasOne<Profile>, was read before anything loaded it"));
  CHECK_THROWS_AS(plain.profile.get(), kith::UsageError);
  CHECK_THROWS_AS(plain.profile->bio, kith::UsageError);
  CHECK_THROWS_AS(*plain.profile, kith::UsageError);

  people::Profile::query(db).preload<&people::Profile::user>().all();  // this program has Profile::user too
  auto post = people::Post::query(db).firstOrFail();
  CHECK_FALSE(post.author.isLoaded());
  // Several members of one type (Post::author and Profile::user are both a BelongsTo<User>): all named.
  CHECK_THROWS_WITH(bool(post.author), test::Contains("a BelongsTo<User> (") && test::Contains("Post::author") &&
                                           test::Contains("Profile::user") && test::Contains(") was read before anything loaded it"));
  CHECK_THROWS_AS(post.author.shared(), kith::UsageError);
  CHECK_THROWS_AS(post.author->email, kith::UsageError);

  // A write through the relation of a parent whose relation was not loaded does not load it.
  plain.related<&people::User::posts>().create(people::post("second"));
  CHECK_FALSE(plain.posts.isLoaded());
  CHECK_THROWS_AS(plain.posts.size(), kith::UsageError);

  // Loaded, they read as before: a list (empty or not), a handle that may be empty.
  plain.load<&people::User::posts>();
  plain.load<&people::User::profile>();
  CHECK(plain.posts.size() == 2);
  CHECK_FALSE(plain.profile);  // loaded: no profile
  CHECK(plain.profile.get() == nullptr);
  post.load<&people::Post::author>();
  REQUIRE(post.author);
  CHECK(post.author->email == "ann@b");
}

TEST_CASE("a ManyToMany nothing loaded throws on every read, its pivot values included", "[relations][unloaded][many-to-many][portable]") {
  m2m::Team t;
  t.ann.related<&m2m::Developer::skills>().attach({{t.id(0), m2m::level(3)}});
  auto ann = m2m::Developer::findOrFail(t.db, t.ann.id);
  CHECK_FALSE(ann.skills.isLoaded());
  CHECK_THROWS_WITH(ann.skills.size(), test::Contains("Developer::skills, a ManyToMany<Skill>, was read before anything loaded it") &&
                                           test::Contains(".preload<&Developer::skills>()"));
  CHECK_THROWS_AS(ann.skills.pivot(0), kith::UsageError);
  CHECK_THROWS_AS(ann.skills.pivots(), kith::UsageError);
  ann.load<&m2m::Developer::skills>();
  REQUIRE(ann.skills.size() == 1);
  CHECK(ann.skills.pivot(0).proficiency == 3);
  // Loaded and empty is not the same as not loaded: no error.
  auto bob = m2m::Developer::query(t.db).where<&m2m::Developer::id>(t.bob.id).preload<&m2m::Developer::skills>().firstOrFail();
  CHECK(bob.skills.empty());
}
