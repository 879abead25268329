// Values that break naive SQL building round-trip exactly through every write and condition, and
// leave the schema as it was (issue 5, item 4).
#include <cmath>
#include <limits>

#include "support.hpp"

namespace {

struct Note;

struct Author : kith::BaseModel<Author> {
  std::int64_t id{};
  std::string name;
  std::int64_t big{};
  double score{};
  kith::Blob avatar;
  kith::HasMany<Note> notes;
  static constexpr auto columns = kith::columns<&Author::id, &Author::name, &Author::big, &Author::score, &Author::avatar>;
};

struct Note : kith::BaseModel<Note> {
  std::int64_t id{};
  std::int64_t authorId{};
  std::string text;
  static constexpr auto columns = kith::columns<&Note::id, &Note::authorId, &Note::text>;
};

kith::Connection database() {
  auto db = test::database();
  kith::createTables<Author, Note>(db);
  return db;
}

std::string schemaOf(const kith::Connection& db) {
  std::string out;
  const char* sql = test::onPostgres() ? "SELECT table_name || '.' || column_name || ' ' || data_type FROM information_schema.columns "
                                         "WHERE table_schema = current_schema() ORDER BY 1"
                                       : "SELECT type || name || coalesce(sql, '') FROM sqlite_master ORDER BY name";
  for (const auto& row : test::select(db, sql)) out += *row[0] + "\n";
  return out;
}

std::vector<std::string> corpus() {
  std::vector<std::string> c = {
      "",
      "'",
      "\"",
      "it's \"quoted\"",
      "'; DROP TABLE authors; --",
      "\"); DELETE FROM notes; --",
      "100% of _under_scores",
      "%",
      "_",
      "back\\slash",
      "?",
      ":name $1 @p",
      std::string("nul\0inside", 10),
      std::string("\0", 1),
      "\xff\xfe invalid utf-8 \xc3\x28",
      "emoji \xf0\x9f\x98\x80 and \xe2\x80\xae right-to-left",
      "line\nbreak\r\ttab",
  };
  c.push_back(std::string(1 << 20, 'x') + "'end");  // 1 MiB of text
  if (test::onPostgres())  // PostgreSQL text holds neither NUL nor invalid UTF-8 (kith refuses a NUL, the server the rest)
    std::erase_if(c, [](const std::string& v) { return v.find('\0') != std::string::npos || v.find('\xff') != std::string::npos; });
  return c;
}

kith::Blob everyByte() {
  kith::Blob b;
  for (int i = 0; i < 256; ++i) b.push_back(static_cast<std::byte>(i));
  return b;
}

}  // namespace

TEST_CASE("hostile strings round-trip through create, createMany, save and every condition", "[reliability][portable]") {
  auto db = database();
  const auto schema = schemaOf(db);
  const auto values = corpus();

  std::vector<Author> payload;
  for (const auto& v : values) payload.push_back(Author{{}, 0, v, 1, 0.5, everyByte(), {}});
  const auto created = Author::createMany(db, std::move(payload));
  REQUIRE(created.size() == values.size());

  for (std::size_t i = 0; i < values.size(); ++i) {
    INFO("value #" << i << " of " << values[i].size() << " bytes");
    const auto found = Author::findOrFail(db, created[i].id);
    CHECK(found.name == values[i]);
    CHECK(found.avatar == everyByte());

    // Equality finds exactly this row; the value is bound, never spliced into the SQL.
    const auto byName = Author::query(db).where<&Author::name>(values[i]).all();
    REQUIRE(byName.size() == 1);
    CHECK(byName[0].id == created[i].id);
    CHECK(Author::query(db).whereIn<&Author::name>(std::vector<std::string>{values[i], "none"}).count() == 1);
    CHECK(Author::query(db).where<&Author::name>("!=", values[i]).count() == static_cast<std::int64_t>(values.size() - 1));
  }

  // save() of a changed value, then read back.
  auto first = Author::findOrFail(db, created[4].id);
  first.name = values[5] + values[4];
  first.save();
  CHECK(Author::findOrFail(db, first.id).name == values[5] + values[4]);

  // like: % and _ are the caller's wildcards, and the pattern is bound like any value.
  // No ESCAPE clause: \ is literal on SQLite, and PostgreSQL's default escape character.
  CHECK(Author::query(db).where<&Author::name>("like", "100\\% of%").count() == (test::onPostgres() ? 1 : 0));
  CHECK(Author::query(db).where<&Author::name>("like", "100% of _under%").count() == 1);
  CHECK(Author::query(db).where<&Author::name>("like", "%'; DROP TABLE%").count() == 1);

  CHECK(schemaOf(db) == schema);
  CHECK(test::rows(db, "authors") == static_cast<std::int64_t>(values.size()));
}

TEST_CASE("hostile strings round-trip through relation writes, *OrCreate predicates and preload constraints", "[reliability][portable]") {
  auto db = database();
  const auto schema = schemaOf(db);
  const auto values = corpus();
  auto author = Author::create(db, Author{{}, 0, "author", 0, 0, {}, {}});

  std::vector<Note> notes;
  for (const auto& v : values) notes.push_back(Note{{}, 0, 0, v});
  const auto created = author.related<&Author::notes>().createMany(std::move(notes));

  // fetchOrCreateMany matches every hostile value to its row: nothing new is inserted.
  std::vector<Note> again;
  for (const auto& v : values) again.push_back(Note{{}, 0, 0, v});
  const auto fetched = author.related<&Author::notes>().fetchOrCreateMany<&Note::text>(std::move(again));
  REQUIRE(fetched.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    INFO("value #" << i);
    CHECK(fetched[i].id == created[i].id);
    CHECK(fetched[i].text == values[i]);

    const auto one = author.related<&Author::notes>().firstOrCreate<&Note::text>(Note{{}, 0, 0, values[i]});
    CHECK(one.id == created[i].id);

    auto loaded = Author::query(db).preload<&Author::notes>([&](auto& q) { q.template where<&Note::text>(values[i]); }).all();
    REQUIRE(loaded.size() == 1);
    REQUIRE(loaded[0].notes.size() == 1);
    CHECK(loaded[0].notes.begin()->id == created[i].id);
  }
  CHECK(test::rows(db, "notes") == static_cast<std::int64_t>(values.size()));

  // updateOrCreate with a hostile predicate updates that row only.
  author.related<&Author::notes>().updateOrCreate<&Note::text>(Note{{}, 0, 0, values[4]});
  CHECK(test::rows(db, "notes") == static_cast<std::int64_t>(values.size()));
  CHECK(schemaOf(db) == schema);
}

TEST_CASE("numeric extremes: int64 limits, infinities and signed zero round-trip", "[reliability][portable]") {
  auto db = database();
  for (const auto big :
       {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), std::int64_t{0}, std::int64_t{-1}}) {
    const auto a = Author::create(db, Author{{}, 0, "n", big, 0, {}, {}});
    CHECK(Author::findOrFail(db, a.id).big == big);
    CHECK(Author::query(db).where<&Author::big>(big).count() == 1);
  }
  for (const auto score : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::lowest(), std::numeric_limits<double>::denorm_min(), -0.0}) {
    const auto a = Author::create(db, Author{{}, 0, "r", 0, score, {}, {}});
    CHECK(Author::findOrFail(db, a.id).score == score);
  }
}

namespace {
struct Tagged : kith::BaseModel<Tagged> {
  std::int64_t id{};
  std::optional<std::string> label;
  std::optional<std::int64_t> count;
  std::optional<kith::Blob> data;
  static constexpr auto columns = kith::columns<&Tagged::id, &Tagged::label, &Tagged::count, &Tagged::data>;
};
}  // namespace

TEST_CASE("empty and absent optionals stay distinct through writes and conditions", "[hostile][types][portable]") {
  auto db = test::database();
  kith::createTables<Tagged>(db);
  auto absent = Tagged::create(db, {});
  auto empty = Tagged::create(db, {.label = "", .count = 0, .data = kith::Blob{}});
  CHECK(Tagged::query(db).count() == 2);

  const auto a = Tagged::findOrFail(db, absent.id);
  CHECK_FALSE(a.label.has_value());
  CHECK_FALSE(a.count.has_value());
  CHECK_FALSE(a.data.has_value());
  const auto e = Tagged::findOrFail(db, empty.id);
  CHECK(e.label == std::optional<std::string>(""));
  CHECK(e.count == std::optional<std::int64_t>(0));
  REQUIRE(e.data.has_value());
  CHECK(e.data->empty());

  // = nullopt is IS NULL; = "" matches only the empty string; != "" does not match NULL (SQL).
  CHECK(Tagged::query(db).where<&Tagged::label>(std::nullopt).count() == 1);
  CHECK(Tagged::query(db).where<&Tagged::count>("!=", std::nullopt).firstOrFail().id == empty.id);
  CHECK(Tagged::query(db).where<&Tagged::label>("").firstOrFail().id == empty.id);
  CHECK(Tagged::query(db).where<&Tagged::label>("!=", "").count() == 0);
  CHECK(Tagged::query(db).whereNull<&Tagged::data>().firstOrFail().id == absent.id);
  CHECK(Tagged::query(db).whereIn<&Tagged::count>(std::vector<std::int64_t>{0}).firstOrFail().id == empty.id);

  // Turning an empty value into an absent one (and back) is a change that save() writes.
  auto changed = Tagged::findOrFail(db, empty.id);
  changed.label.reset();
  CHECK(changed.dirty() == std::vector<std::string_view>{"label"});
  changed.save();
  CHECK_FALSE(Tagged::findOrFail(db, empty.id).label.has_value());
  changed.label = "";
  CHECK(changed.isDirty());
  changed.save();
  CHECK(Tagged::findOrFail(db, empty.id).label == std::optional<std::string>(""));
}
