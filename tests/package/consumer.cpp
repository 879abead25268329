// Proves a consumer can build and run against kith: one model's table made by a migration,
// checked against the model, a row saved and read back.
#include <kith/kith.hpp>
#include <kith/migrate.hpp>
#include <kith/verify.hpp>

#include <cstdio>
#include <vector>

struct Note : kith::BaseModel<Note> {
  std::int64_t id{};
  std::string text;
  static constexpr auto columns = kith::columns<&Note::id, &Note::text>;
};

int main() {
  auto db = kith::sqlite::open(":memory:");
  const std::vector<kith::Migration> migrations{{"2026_12_05_01_notes",
                                                 [](kith::Schema& s) {
                                                   s.createTable("notes", [](kith::TableBuilder& t) {
                                                     t.id();
                                                     t.column<std::string>("text");
                                                   });
                                                 },
                                                 {}}};
  kith::migrate(db, migrations);
  if (!kith::verifySchema<Note>(db).ok()) return 1;
  auto note = Note::create(db, Note{{}, 0, "hello"});
  auto back = Note::findOrFail(db, note.id);
  std::printf("%s\n", back.text.c_str());
  return back.text == "hello" ? 0 : 1;
}
