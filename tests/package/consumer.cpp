// Proves a consumer can build and run against kith: one model, saved and read back.
#include <kith/kith.hpp>

#include <cstdio>

struct Note : kith::BaseModel<Note> {
  std::int64_t id{};
  std::string text;
  static constexpr auto columns = kith::columns<&Note::id, &Note::text>;
};

int main() {
  auto db = kith::sqlite::open(":memory:");
  kith::createTables<Note>(db);
  auto note = Note::create(db, Note{{}, 0, "hello"});
  auto back = Note::findOrFail(db, note.id);
  std::printf("%s\n", back.text.c_str());
  return back.text == "hello" ? 0 : 1;
}
