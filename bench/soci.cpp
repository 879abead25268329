// SOCI 4 with its SQLite3 backend (libsoci-dev), written the way its documentation shows:
// prepared statements with into()/use() variables, bulk use() of vectors for the many-row insert.
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "bench.hpp"

namespace bench {
namespace {

struct SociPost {
  long long id = 0, userId = 0;
  std::string title, body;
};
struct SociUser {
  long long id = 0;
  std::string email, name;
  std::vector<SociPost> posts;
};

std::string placeholders(std::size_t n, std::size_t first = 0) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? ", :p" : ":p") + std::to_string(first + i);
  return out;
}

/// Runs a posts query whose use() elements are already exchanged, fetching rows into `p`.
void run(soci::statement& s, SociPost& p, const std::string& sql) {
  s.exchange(soci::into(p.id));
  s.exchange(soci::into(p.userId));
  s.exchange(soci::into(p.title));
  s.exchange(soci::into(p.body));
  s.alloc();
  s.prepare(sql);
  s.define_and_bind();
  s.execute();
}

class Soci final : public Impl {
 public:
  explicit Soci(const Target& target) : sql_(soci::sqlite3, "db=" + target.path) {
    if (target.walFile) {
      sql_ << "PRAGMA journal_mode = WAL";
      sql_ << "PRAGMA synchronous = NORMAL";
    }
  }
  sqlite3* handle() override {
    // SOCI declares sqlite3 inside its own namespace; it is the same handle.
    return reinterpret_cast<sqlite3*>(static_cast<soci::sqlite3_session_backend*>(sql_.get_backend())->conn_);
  }
  void prepareInsert(const std::vector<PostData>& rows) override { input_ = &rows; }

  std::optional<Checksum> insertMany() override {
    std::vector<long long> userIds;
    std::vector<std::string> titles, bodies;
    for (const auto& r : *input_) {
      userIds.push_back(r.userId);
      titles.push_back(r.title);
      bodies.push_back(r.body);
    }
    soci::transaction trx(sql_);
    sql_ << "INSERT INTO posts (user_id, title, body) VALUES (:u, :t, :b)", soci::use(userIds), soci::use(titles), soci::use(bodies);
    long long last = 0;
    sql_.get_last_insert_id("posts", last);
    trx.commit();
    const auto n = static_cast<long long>(input_->size());
    return n * last - n * (n - 1) / 2;  // ids last-n+1 .. last
  }

  std::optional<Checksum> insertEach() override {
    soci::transaction trx(sql_);
    std::vector<long long> ids;
    insertRows(*input_, ids);
    trx.commit();
    Checksum sum = 0;
    for (auto id : ids) sum += id;
    return sum;
  }

  std::optional<Checksum> preload() override {
    std::vector<SociUser> users;
    std::unordered_map<long long, std::size_t> byId;
    {
      SociUser u;
      soci::statement all =
          (sql_.prepare << "SELECT id, email, name FROM users", soci::into(u.id), soci::into(u.email), soci::into(u.name));
      all.execute();
      while (all.fetch()) {
        byId.emplace(u.id, users.size());
        users.push_back(u);
      }
    }
    std::vector<long long> keys;
    for (const auto& u : users) keys.push_back(u.id);
    SociPost p;
    soci::statement posts(sql_);
    for (auto& k : keys) posts.exchange(soci::use(k));
    run(posts, p, "SELECT id, user_id, title, body FROM posts WHERE user_id IN (" + placeholders(keys.size()) + ")");
    while (posts.fetch()) users[byId[p.userId]].posts.push_back(p);
    Checksum sum = 0;
    for (const auto& u : users)
      for (const auto& q : u.posts) sum += q.id + static_cast<Checksum>(q.title.size() + u.email.size());
    return sum;
  }

  std::optional<Checksum> preloadAuthors() override {
    std::vector<SociPost> posts;
    std::unordered_map<long long, std::size_t> userIndex;
    std::vector<long long> userIds;
    {
      SociPost p;
      soci::statement all(sql_);
      run(all, p, "SELECT id, user_id, title, body FROM posts");
      while (all.fetch()) {
        posts.push_back(p);
        if (userIndex.emplace(p.userId, userIds.size()).second) userIds.push_back(p.userId);
      }
    }
    std::vector<SociUser> users(userIds.size());
    SociUser u;
    soci::statement owners(sql_);
    owners.exchange(soci::into(u.id));
    owners.exchange(soci::into(u.email));
    owners.exchange(soci::into(u.name));
    for (auto& k : userIds) owners.exchange(soci::use(k));
    owners.alloc();
    owners.prepare("SELECT id, email, name FROM users WHERE id IN (" + placeholders(userIds.size()) + ")");
    owners.define_and_bind();
    owners.execute();
    while (owners.fetch()) users[userIndex[u.id]] = u;
    Checksum sum = 0;
    for (const auto& p : posts) sum += p.id + static_cast<Checksum>(p.title.size() + users[userIndex[p.userId]].email.size());
    return sum;
  }

  std::optional<Checksum> postTags(const std::vector<std::int64_t>& syncIds) override {
    std::vector<SociPost> posts;
    std::unordered_map<long long, std::size_t> byId;
    {
      SociPost p;
      soci::statement all(sql_);
      run(all, p, "SELECT id, user_id, title, body FROM posts");
      while (all.fetch()) {
        byId.emplace(p.id, posts.size());
        posts.push_back(p);
      }
    }
    std::vector<std::vector<std::pair<long long, std::string>>> tags(posts.size());
    {
      long long tagId = 0, postId = 0;
      std::string name;
      std::vector<long long> keys;
      for (const auto& p : posts) keys.push_back(p.id);
      soci::statement joined(sql_);
      joined.exchange(soci::into(tagId));
      joined.exchange(soci::into(name));
      joined.exchange(soci::into(postId));
      for (auto& k : keys) joined.exchange(soci::use(k));
      joined.alloc();
      joined.prepare(
          "SELECT tags.id, tags.name, post_tag.post_id FROM tags INNER JOIN post_tag ON post_tag.tag_id = tags.id WHERE "
          "post_tag.post_id IN (" +
          placeholders(keys.size()) + ")");
      joined.define_and_bind();
      joined.execute();
      while (joined.fetch()) tags[byId[postId]].emplace_back(tagId, name);
    }
    Checksum sum = 0;
    for (std::size_t i = 0; i < posts.size(); ++i) {
      sum += posts[i].id;
      for (const auto& t : tags[i]) sum += t.first + static_cast<Checksum>(t.second.size());
    }
    long long post = posts.front().id, tag = 0;
    soci::transaction trx(sql_);
    std::unordered_map<long long, bool> existing;
    {
      soci::statement current = (sql_.prepare << "SELECT tag_id FROM post_tag WHERE post_id = :p", soci::into(tag), soci::use(post));
      current.execute();
      while (current.fetch()) existing.emplace(tag, false);
    }
    std::size_t attached = 0, detached = 0;
    soci::statement insert = (sql_.prepare << "INSERT INTO post_tag (post_id, tag_id) VALUES (:p, :t)", soci::use(post), soci::use(tag));
    for (auto id : syncIds) {
      if (auto it = existing.find(id); it != existing.end()) {
        it->second = true;
        continue;
      }
      tag = id;
      insert.execute(true);
      ++attached;
    }
    soci::statement remove = (sql_.prepare << "DELETE FROM post_tag WHERE post_id = :p AND tag_id = :t", soci::use(post), soci::use(tag));
    for (const auto& [id, wanted] : existing) {
      if (wanted) continue;
      tag = id;
      remove.execute(true);
      ++detached;
    }
    trx.commit();
    return sum + static_cast<Checksum>(attached * 1000 + detached);
  }

  std::optional<Checksum> find(const std::vector<std::int64_t>& keys) override {
    long long key = 0;
    SociUser u;
    soci::statement s = (sql_.prepare << "SELECT id, email, name FROM users WHERE id = :id", soci::into(u.id), soci::into(u.email),
                         soci::into(u.name), soci::use(key));
    Checksum sum = 0;
    for (auto k : keys) {
      key = k;
      if (s.execute(true)) sum += u.id + static_cast<Checksum>(u.email.size());
    }
    return sum;
  }

  std::optional<Checksum> fetchOrCreate() override {
    const auto& input = *input_;
    soci::transaction trx(sql_);
    std::unordered_map<std::string, SociPost> found;
    long long userId = input.front().userId;
    std::vector<std::string> titles;
    for (const auto& r : input) titles.push_back(r.title);
    SociPost p;
    soci::statement s(sql_);
    s.exchange(soci::use(userId));
    for (auto& t : titles) s.exchange(soci::use(t));
    run(s, p, "SELECT id, user_id, title, body FROM posts WHERE user_id = :u AND title IN (" + placeholders(titles.size()) + ")");
    while (s.fetch()) found.emplace(p.title, p);
    std::vector<PostData> missing;
    for (const auto& row : input)
      if (!found.count(row.title)) missing.push_back(row);
    std::vector<long long> ids;
    insertRows(missing, ids);
    trx.commit();
    Checksum sum = 0;
    std::size_t next = 0;
    for (const auto& row : input) {
      if (auto it = found.find(row.title); it != found.end())
        sum += it->second.id;
      else
        sum += ids[next++];
    }
    return sum;
  }

 private:
  void insertRows(const std::vector<PostData>& rows, std::vector<long long>& ids) {
    long long userId = 0;
    std::string title, body;
    soci::statement s = (sql_.prepare << "INSERT INTO posts (user_id, title, body) VALUES (:u, :t, :b)", soci::use(userId),
                         soci::use(title), soci::use(body));
    for (const auto& row : rows) {
      userId = row.userId;
      title = row.title;
      body = row.body;
      s.execute(true);
      long long id = 0;
      sql_.get_last_insert_id("posts", id);
      ids.push_back(id);
    }
  }

  soci::session sql_;
  const std::vector<PostData>* input_ = nullptr;
};

}  // namespace

std::unique_ptr<Impl> makeSoci(const Target& target) { return std::make_unique<Soci>(target); }

}  // namespace bench
