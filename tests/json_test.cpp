// kith/json.hpp: a model out as JSON (names, renames and hidden columns, every column type, loaded
// relations of each kind, extras and typed pivot values under "meta"), and JSON in through merge
// (dirty tracking, every refusal naming its key, never a half-merged model).
#include "support.hpp"

#include <kith/json.hpp>

#include <chrono>

namespace js {

using Micros = std::chrono::sys_time<std::chrono::microseconds>;
enum class Role : std::int32_t { member = 1, admin = 2 };

struct Team;
struct Note;
struct Tag;

struct MemberTag {
  std::int64_t level{};
  static constexpr auto columns = kith::columns<&MemberTag::level>;
};

struct Member : kith::BaseModel<Member> {
  std::int64_t id{};
  std::string email;
  std::string passwordHash;
  std::optional<std::string> nickname;
  bool active{};
  Role role = Role::member;
  std::int32_t age{};
  double score{};
  kith::Blob avatar;
  Micros joinedAt{};
  std::optional<std::int64_t> teamId;
  kith::BelongsTo<Team> team;
  kith::HasMany<Note> notes;
  kith::ManyToMany<Tag, kith::pivot{}, MemberTag> tags;

  static constexpr auto columns =
      kith::columns<&Member::id, &Member::email, &Member::passwordHash, &Member::nickname, &Member::active, &Member::role, &Member::age,
                    &Member::score, &Member::avatar, &Member::joinedAt, &Member::teamId>;
  static constexpr auto relations = kith::relations<&Member::team, &Member::notes, &Member::tags>;
  static constexpr kith::JsonName jsonNames[] = {{"passwordHash", kith::hidden}, {"email", "emailAddress"}, {"notes", "writings"}};
};

struct Team : kith::BaseModel<Team> {
  std::int64_t id{};
  std::string name;
  static constexpr auto columns = kith::columns<&Team::id, &Team::name>;
};

struct Note : kith::BaseModel<Note> {
  std::int64_t id{};
  std::int64_t memberId{};
  std::string body;
  static constexpr auto columns = kith::columns<&Note::id, &Note::memberId, &Note::body>;
};

struct Tag : kith::BaseModel<Tag> {
  std::int64_t id{};
  std::string label;
  static constexpr auto columns = kith::columns<&Tag::id, &Tag::label>;
};

/// A MorphTo over Team and Note, for its JSON: the owner object, of whichever type.
struct Like : kith::BaseModel<Like> {
  std::int64_t id{};
  std::optional<std::string> likeableType;
  std::optional<std::int64_t> likeableId;
  kith::MorphTo<Team, Note> likeable;
  static constexpr auto columns = kith::columns<&Like::id, &Like::likeableType, &Like::likeableId>;
  static constexpr auto relations = kith::relations<&Like::likeable>;
};

inline Member member(std::string email) {
  Member m;
  m.email = std::move(email);
  m.passwordHash = "secret-hash";
  m.active = true;
  m.role = Role::admin;
  m.age = 41;
  m.score = 2.5;
  m.avatar = kith::Blob{std::byte{'k'}, std::byte{'i'}, std::byte{'t'}, std::byte{'h'}};
  m.joinedAt = Micros{std::chrono::seconds{1'764'504'000}} + std::chrono::microseconds{250'000};  // 2025-11-30 12:00:00.25 UTC
  return m;
}

struct Club {
  kith::Connection db = [] {
    auto db = test::database();
    kith::createTables<Team, Member, Note, Tag>(db);
    return db;
  }();
};

}  // namespace js

using namespace js;
using nlohmann::json;

TEST_CASE("toJson: columns by property name, renamed and hidden ones, every column type", "[json]") {
  const Member m = member("ann@example.com");
  const json out = kith::toJson(m);
  CHECK(out == json::parse(R"({
    "id": 0, "emailAddress": "ann@example.com", "nickname": null, "active": true, "role": 2, "age": 41, "score": 2.5,
    "avatar": "a2l0aA==", "joinedAt": "2025-11-30T12:00:00.250000Z", "teamId": null
  })"));
  CHECK_FALSE(out.contains("passwordHash"));
  CHECK_FALSE(out.contains("notes"));  // not loaded: absent
  // Declared order with nlohmann::ordered_json.
  const auto ordered = kith::toJson<nlohmann::ordered_json>(m);
  CHECK(ordered.begin().key() == "id");
  CHECK(std::next(ordered.begin()).key() == "emailAddress");
}

TEST_CASE("toJson: loaded relations as arrays, objects or null, and extras and pivot values under meta", "[json][portable]") {
  Club c;
  Team red;
  red.name = "red";
  red.save(c.db);
  Member ann = member("ann@example.com");
  ann.teamId = red.id;
  ann.save(c.db);
  Member bob = member("bob@example.com");
  bob.save(c.db);
  ann.related<&Member::notes>().createMany({Note{.body = "one"}, Note{.body = "two"}});
  Tag cpp;
  cpp.label = "c++";
  cpp.save(c.db);
  ann.related<&Member::tags>().attach({{cpp.id, MemberTag{.level = 3}}});

  auto rows = Member::query(c.db)
                  .orderBy<&Member::id>()
                  .preload<&Member::team>()
                  .preload<&Member::notes>([](auto& q) { q.template orderBy<&Note::id>(); })
                  .preload<&Member::tags>()
                  .withCount<&Member::notes>()
                  .all();
  const json out = kith::toJson(rows);
  REQUIRE(out.is_array());
  REQUIRE(out.size() == 2);
  CHECK(out[0]["team"] == json::parse(R"({"id": 1, "name": "red"})"));
  CHECK(out[1]["team"].is_null());        // loaded, none
  CHECK(out[0]["writings"].size() == 2);  // renamed relation
  CHECK(out[0]["writings"][1]["body"] == "two");
  CHECK(out[0]["tags"] == json::parse(R"([{"id": 1, "label": "c++", "meta": {"pivot_level": 3}}])"));
  CHECK(out[0]["meta"]["notes_count"] == 2);
  CHECK(out[1]["meta"]["notes_count"] == 0);
  CHECK(out[0]["joinedAt"] == "2025-11-30T12:00:00.250000Z");  // as read back, on either database
  CHECK(out[0]["avatar"] == "a2l0aA==");

  // Rows of a ManyToMany's query carry their pivot row as extras: under meta too.
  const json tag = kith::toJson(ann.related<&Member::tags>().query().firstOrFail());
  CHECK(tag["meta"]["pivot_level"] == 3);
  CHECK(tag["meta"]["pivot_member_id"] == ann.id);
}

TEST_CASE("toJson: a loaded MorphTo is its owner's object, of whichever type, or null", "[json][morph][portable]") {
  Club c;
  kith::createTables<Like>(c.db);
  auto red = Team::create(c.db, Team{.name = "red"});
  Member ann = member("ann@example.com");
  ann.save(c.db);
  auto note = ann.related<&Member::notes>().create(Note{.body = "hi"});
  auto onTeam = Like::create(c.db, Like{});
  onTeam.related<&Like::likeable>().associate(red);
  Like::create(c.db, Like{});
  auto onNote = Like::create(c.db, Like{});
  onNote.related<&Like::likeable>().associate(note);
  const json out = kith::toJson(Like::query(c.db).orderBy<&Like::id>().preload<&Like::likeable>().all());
  REQUIRE(out.size() == 3);
  CHECK(out[0]["likeableType"] == "teams");
  CHECK(out[0]["likeable"] == json::parse(R"({"id": 1, "name": "red"})"));
  CHECK(out[1]["likeable"].is_null());
  CHECK(out[2]["likeable"]["body"] == "hi");
  CHECK_FALSE(kith::toJson(Like::query(c.db).firstOrFail()).contains("likeable"));  // not loaded: absent
}

TEST_CASE("merge sets known columns through dirty tracking and saves nothing", "[json][portable]") {
  Club c;
  Member ann = member("ann@example.com");
  ann.save(c.db);
  test::StatementLog log(c.db);
  kith::merge(ann,
              json::parse(R"({"emailAddress": "ann@new.example", "nickname": "annie", "age": 41, "joinedAt": "2026-01-02T03:04:05Z"})"));
  CHECK(log.count() == 0);
  CHECK(ann.email == "ann@new.example");
  CHECK(ann.nickname == "annie");
  CHECK(ann.joinedAt == Micros{std::chrono::sys_days{std::chrono::days{20455}} + std::chrono::hours{3} + std::chrono::minutes{4} +
                               std::chrono::seconds{5}});
  // age was already 41: not dirty.
  CHECK(ann.dirty() == std::vector<std::string_view>{"email", "nickname", "joinedAt"});
  ann.save();
  CHECK(Member::findOrFail(c.db, ann.id).nickname == "annie");
  kith::merge(ann, json::parse(R"({"nickname": null, "avatar": "AAEC", "role": 1, "score": 3})"));
  CHECK_FALSE(ann.nickname);
  CHECK(ann.avatar == kith::Blob{std::byte{0}, std::byte{1}, std::byte{2}});
  CHECK(ann.role == Role::member);
  CHECK(ann.score == 3.0);

  const Member made = kith::fromJson<Member>(json::parse(R"({"emailAddress": "new@example.com", "active": true})"));
  CHECK(made.email == "new@example.com");
  CHECK(made.active);
  CHECK_FALSE(made.isPersisted());
}

TEST_CASE("merge refuses wrong types, unknown keys, relations, the key and hidden columns, naming each, and changes nothing", "[json]") {
  Member m = member("ann@example.com");
  const auto refused = [&](const char* payload, kith::MergeOptions options = {}) {
    const Member before = m;
    try {
      kith::merge(m, json::parse(payload), options);
    } catch (const kith::JsonError& e) {
      CHECK(m.email == before.email);  // never half-merged
      CHECK(m.age == before.age);
      CHECK(m.id == before.id);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused(R"({"age": "41"})") == R"(kith: cannot merge this JSON into a Member: "age": expected an integer, got string)");
  CHECK(refused(R"({"emailAddress": "x@y.z", "age": 3000000000})") ==
        R"(kith: cannot merge this JSON into a Member: "age": the integer 3000000000 is out of range)");
  CHECK(refused(R"({"active": 1})") == R"(kith: cannot merge this JSON into a Member: "active": expected true or false, got number)");
  CHECK(
      refused(R"({"joinedAt": "yesterday"})") ==
      R"(kith: cannot merge this JSON into a Member: "joinedAt": expected an ISO 8601 UTC time such as "2026-11-30T12:00:00Z", got "yesterday")");
  CHECK(refused(R"({"avatar": "not base64!"})") == R"(kith: cannot merge this JSON into a Member: "avatar": expected a base64 string)");
  CHECK(refused(R"({"email": "x@y.z"})") == R"(kith: cannot merge this JSON into a Member: "email": is not a column of Member)");
  CHECK(refused(R"({"writings": []})") ==
        R"(kith: cannot merge this JSON into a Member: "writings": is not a column of Member)");  // the relation's JSON name is not a
                                                                                                  // property
  CHECK(
      refused(R"({"notes": []})") ==
      R"(kith: cannot merge this JSON into a Member: "notes": is a relation; merge sets columns only: write related models through related<...>())");
  CHECK_THAT(refused(R"({"id": 7})"), test::Contains(R"("id": is the primary key, which a payload does not set)"));
  CHECK_THAT(refused(R"({"passwordHash": "x"})"), test::Contains(R"("passwordHash": is hidden in JSON and not assignable)"));
  CHECK(refused("[1, 2]") == "kith: cannot merge this JSON into a Member: expected a JSON object, got array");
  CHECK(refused("[1, 2]", {.collectErrors = true}) == "kith: cannot merge this JSON into a Member: expected a JSON object, got array");
  // Every problem at once, when asked.
  CHECK(
      refused(R"({"age": "x", "zzz": 1, "emailAddress": 5})", {.collectErrors = true}) ==
      R"(kith: cannot merge this JSON into a Member: "age": expected an integer, got string; "emailAddress": expected a string, got number; "zzz": is not a column of Member)");
  // And what the options allow.
  CHECK(refused(R"({"id": 7, "passwordHash": "h", "zzz": 1, "meta": {}})",
                {.ignoreUnknown = true, .allowPrimaryKey = true, .allowHidden = true}) == "accepted");
  CHECK(m.id == 7);
  CHECK(m.passwordHash == "h");
  // A model's JSON goes back in, relations and meta skipped.
  const Member copy = kith::fromJson<Member>(kith::toJson(m), {.ignoreUnknown = true, .allowPrimaryKey = true});
  CHECK(kith::toJson(copy) == kith::toJson(m));
}
