// A TCP proxy on 127.0.0.1 that holds every byte for a fixed delay in each direction: a database
// "on another host" for benchmarks, on one machine. Forwards to a TCP port or a Unix socket (a
// PostgreSQL server started by scripts/postgres.sh listens on one only).
//
//   kith_delay_proxy --delay-ms D --to PATH_OR_PORT [--port P]
// Prints "listening on 127.0.0.1:P" when it accepts connections; at most 256 at once; stops on
// SIGTERM. Only for benchmarks: it listens on the loopback interface alone.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int connectTo(const std::string& target) {
  if (!target.empty() && target.find_first_not_of("0123456789") == std::string::npos) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(target)));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
    close(fd);
    return -1;
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, target.c_str(), sizeof address.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
  close(fd);
  return -1;
}

/// One direction of a connection: a reader that stamps what it reads, a writer that sends each
/// chunk when its time has come.
void pump(int from, int to, std::chrono::microseconds delay) {
  struct Chunk {
    Clock::time_point due;
    std::string bytes;
  };
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Chunk> queue;
  bool ended = false;
  std::thread writer([&] {
    std::unique_lock lock(mutex);
    while (true) {
      ready.wait(lock, [&] { return ended || !queue.empty(); });
      if (queue.empty()) break;
      Chunk chunk = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      std::this_thread::sleep_until(chunk.due);
      for (std::size_t sent = 0; sent < chunk.bytes.size();) {
        const ssize_t n = send(to, chunk.bytes.data() + sent, chunk.bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      lock.lock();
    }
    shutdown(to, SHUT_WR);
  });
  char buffer[65536];
  while (true) {
    const ssize_t n = read(from, buffer, sizeof buffer);
    if (n <= 0) break;
    std::lock_guard lock(mutex);
    queue.push_back({Clock::now() + delay, std::string(buffer, static_cast<std::size_t>(n))});
    ready.notify_one();
  }
  {
    std::lock_guard lock(mutex);
    ended = true;
  }
  ready.notify_one();
  writer.join();
}

}  // namespace

int main(int argc, char** argv) {
  double delayMs = 1;
  std::string target;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--delay-ms")
      delayMs = std::stod(argv[i + 1]);
    else if (flag == "--to")
      target = argv[i + 1];
    else if (flag == "--port")
      port = std::stoi(argv[i + 1]);
  }
  if (target.empty()) {
    std::fprintf(stderr, "usage: %s --delay-ms D --to UNIX_SOCKET_PATH|PORT [--port P]\n", argv[0]);
    return 2;
  }
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int yes = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(listener, 256) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    std::perror("listen");
    return 1;
  }
  std::printf("listening on 127.0.0.1:%d (%.2f ms each way to %s)\n", ntohs(address.sin_port), delayMs, target.c_str());
  std::fflush(stdout);
  const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(delayMs * 1000));
  std::atomic<int> open{0};
  while (true) {
    const int client = accept(listener, nullptr, nullptr);
    if (client < 0) continue;
    if (open >= 256) {  // bounded: refuse past 256 connections at once
      close(client);
      continue;
    }
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    const int server = connectTo(target);
    if (server < 0) {
      close(client);
      continue;
    }
    ++open;
    std::thread([client, server, delay, &open] {
      std::thread back(pump, server, client, delay);
      pump(client, server, delay);
      back.join();
      close(client);
      close(server);
      --open;
    }).detach();
  }
}
