// Proves a consumer of the postgres component builds, links libpq and runs: kith::postgres::open
// on a server that is not there is a ConnectionError that says so.
#include <kith/kith.hpp>
#include <kith/postgres.hpp>

#include <cstdio>
#include <string_view>

int main() {
  try {
    kith::postgres::open("host=/nonexistent-kith-socket-dir dbname=none connect_timeout=1");
  } catch (const kith::ConnectionError& e) {
    if (std::string_view(e.what()).find("cannot connect to PostgreSQL") == std::string_view::npos) return 1;
    std::printf("hello\n");
    return 0;
  }
  return 1;
}
