// Proves a consumer of the json component builds and runs: a model out as JSON and back in.
#include <kith/json.hpp>

#include <cstdio>

struct Greeting : kith::BaseModel<Greeting> {
  std::int64_t id{};
  std::string text;
  static constexpr auto columns = kith::columns<&Greeting::id, &Greeting::text>;
};

int main() {
  Greeting g;
  g.text = "hello";
  const auto back = kith::fromJson<Greeting>(kith::toJson(g), {.allowPrimaryKey = true});
  std::printf("%s\n", back.text.c_str());
  return back.text == "hello" ? 0 : 1;
}
