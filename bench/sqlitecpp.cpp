// SQLiteCpp (libsqlitecpp-dev), written the way its documentation shows: prepared Statement
// objects reused with bind / executeStep / reset, inserts one row per statement.
#include <SQLiteCpp/SQLiteCpp.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "bench.hpp"

namespace bench {
namespace {

struct CppPost {
  std::int64_t id = 0, userId = 0;
  std::string title, body;
};
struct CppUser {
  std::int64_t id = 0;
  std::string email, name;
  std::vector<CppPost> posts;
};

CppPost readPost(SQLite::Statement& s) {
  return {s.getColumn(0).getInt64(), s.getColumn(1).getInt64(), s.getColumn(2).getString(), s.getColumn(3).getString()};
}

class SqliteCpp final : public Impl {
 public:
  explicit SqliteCpp(const Target& target) : db_(target.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE) {
    if (target.walFile) db_.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL");
  }
  sqlite3* handle() override { return db_.getHandle(); }
  void prepareInsert(const std::vector<PostData>& rows) override { input_ = &rows; }

  std::optional<Checksum> insertMany() override {
    SQLite::Transaction trx(db_);
    std::vector<std::int64_t> ids;
    insertRows(*input_, ids);
    trx.commit();
    Checksum sum = 0;
    for (auto id : ids) sum += id;
    return sum;
  }

  std::optional<Checksum> insertEach() override { return insertMany(); }

  std::optional<Checksum> preload() override {
    std::vector<CppUser> users;
    std::unordered_map<std::int64_t, std::size_t> byId;
    SQLite::Statement all(db_, "SELECT id, email, name FROM users");
    while (all.executeStep()) {
      users.push_back({all.getColumn(0).getInt64(), all.getColumn(1).getString(), all.getColumn(2).getString(), {}});
      byId.emplace(users.back().id, users.size() - 1);
    }
    std::string sql = "SELECT id, user_id, title, body FROM posts WHERE user_id IN (";
    for (std::size_t i = 0; i < users.size(); ++i) sql += i ? ", ?" : "?";
    SQLite::Statement posts(db_, sql + ")");
    for (std::size_t i = 0; i < users.size(); ++i) posts.bind(static_cast<int>(i) + 1, users[i].id);
    while (posts.executeStep()) {
      CppPost p = readPost(posts);
      users[byId[p.userId]].posts.push_back(std::move(p));
    }
    Checksum sum = 0;
    for (const auto& u : users)
      for (const auto& p : u.posts) sum += p.id + static_cast<Checksum>(p.title.size() + u.email.size());
    return sum;
  }

  std::optional<Checksum> preloadAuthors() override {
    std::vector<CppPost> posts;
    std::unordered_map<std::int64_t, std::size_t> userIndex;
    std::vector<std::int64_t> userIds;
    SQLite::Statement all(db_, "SELECT id, user_id, title, body FROM posts");
    while (all.executeStep()) {
      posts.push_back(readPost(all));
      if (userIndex.emplace(posts.back().userId, userIds.size()).second) userIds.push_back(posts.back().userId);
    }
    std::vector<CppUser> users(userIds.size());
    std::string sql = "SELECT id, email, name FROM users WHERE id IN (";
    for (std::size_t i = 0; i < userIds.size(); ++i) sql += i ? ", ?" : "?";
    SQLite::Statement owners(db_, sql + ")");
    for (std::size_t i = 0; i < userIds.size(); ++i) owners.bind(static_cast<int>(i) + 1, userIds[i]);
    while (owners.executeStep())
      users[userIndex[owners.getColumn(0).getInt64()]] = {
          owners.getColumn(0).getInt64(), owners.getColumn(1).getString(), owners.getColumn(2).getString(), {}};
    Checksum sum = 0;
    for (const auto& p : posts) sum += p.id + static_cast<Checksum>(p.title.size() + users[userIndex[p.userId]].email.size());
    return sum;
  }

  std::optional<Checksum> find(const std::vector<std::int64_t>& keys) override {
    SQLite::Statement s(db_, "SELECT id, email, name FROM users WHERE id = ?");
    Checksum sum = 0;
    for (auto key : keys) {
      s.bind(1, key);
      if (s.executeStep()) {
        CppUser u{s.getColumn(0).getInt64(), s.getColumn(1).getString(), s.getColumn(2).getString(), {}};
        sum += u.id + static_cast<Checksum>(u.email.size());
      }
      s.reset();
    }
    return sum;
  }

  std::optional<Checksum> postTags(const std::vector<std::int64_t>& syncIds) override {
    std::vector<CppPost> posts;
    std::vector<std::vector<std::pair<std::int64_t, std::string>>> tags;
    std::unordered_map<std::int64_t, std::size_t> byId;
    SQLite::Statement all(db_, "SELECT id, user_id, title, body FROM posts");
    while (all.executeStep()) {
      posts.push_back(readPost(all));
      byId.emplace(posts.back().id, posts.size() - 1);
    }
    tags.resize(posts.size());
    std::string sql =
        "SELECT tags.id, tags.name, post_tag.post_id FROM tags INNER JOIN post_tag ON post_tag.tag_id = tags.id WHERE "
        "post_tag.post_id IN (";
    for (std::size_t i = 0; i < posts.size(); ++i) sql += i ? ", ?" : "?";
    SQLite::Statement joined(db_, sql + ")");
    for (std::size_t i = 0; i < posts.size(); ++i) joined.bind(static_cast<int>(i) + 1, posts[i].id);
    while (joined.executeStep())
      tags[byId[joined.getColumn(2).getInt64()]].emplace_back(joined.getColumn(0).getInt64(), joined.getColumn(1).getString());
    Checksum sum = 0;
    for (std::size_t i = 0; i < posts.size(); ++i) {
      sum += posts[i].id;
      for (const auto& t : tags[i]) sum += t.first + static_cast<Checksum>(t.second.size());
    }
    const std::int64_t post = posts.front().id;
    SQLite::Transaction trx(db_);
    std::unordered_map<std::int64_t, bool> existing;
    SQLite::Statement current(db_, "SELECT tag_id FROM post_tag WHERE post_id = ?");
    current.bind(1, post);
    while (current.executeStep()) existing.emplace(current.getColumn(0).getInt64(), false);
    std::size_t attached = 0, detached = 0;
    SQLite::Statement insert(db_, "INSERT INTO post_tag (post_id, tag_id) VALUES (?, ?)");
    for (auto id : syncIds) {
      if (auto it = existing.find(id); it != existing.end()) {
        it->second = true;
        continue;
      }
      insert.bind(1, post);
      insert.bind(2, id);
      insert.exec();
      insert.reset();
      ++attached;
    }
    SQLite::Statement remove(db_, "DELETE FROM post_tag WHERE post_id = ? AND tag_id = ?");
    for (const auto& [id, wanted] : existing) {
      if (wanted) continue;
      remove.bind(1, post);
      remove.bind(2, id);
      remove.exec();
      remove.reset();
      ++detached;
    }
    trx.commit();
    return sum + static_cast<Checksum>(attached * 1000 + detached);
  }

  std::optional<Checksum> fetchOrCreate() override {
    const auto& input = *input_;
    SQLite::Transaction trx(db_);
    std::unordered_map<std::string, CppPost> found;
    std::string sql = "SELECT id, user_id, title, body FROM posts WHERE user_id = ? AND title IN (";
    for (std::size_t i = 0; i < input.size(); ++i) sql += i ? ", ?" : "?";
    SQLite::Statement s(db_, sql + ")");
    s.bind(1, input.front().userId);
    for (std::size_t i = 0; i < input.size(); ++i) s.bindNoCopy(static_cast<int>(i) + 2, input[i].title);
    while (s.executeStep()) {
      CppPost p = readPost(s);
      std::string key = p.title;
      found.emplace(std::move(key), std::move(p));
    }
    std::vector<PostData> missing;
    std::vector<CppPost> result(input.size());
    for (std::size_t i = 0; i < input.size(); ++i)
      if (auto it = found.find(input[i].title); it != found.end()) result[i] = it->second;
    for (const auto& row : input)
      if (!found.count(row.title)) missing.push_back(row);
    std::vector<std::int64_t> ids;
    insertRows(missing, ids);
    trx.commit();
    std::size_t next = 0;
    for (std::size_t i = 0; i < input.size(); ++i)
      if (result[i].id == 0) result[i] = {ids[next++], input[i].userId, input[i].title, input[i].body};
    Checksum sum = 0;
    for (const auto& p : result) sum += p.id;
    return sum;
  }

 private:
  void insertRows(const std::vector<PostData>& rows, std::vector<std::int64_t>& ids) {
    SQLite::Statement s(db_, "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ?)");
    ids.reserve(rows.size());
    for (const auto& row : rows) {
      s.bind(1, row.userId);
      s.bindNoCopy(2, row.title);
      s.bindNoCopy(3, row.body);
      s.exec();
      s.reset();
      ids.push_back(db_.getLastInsertRowid());
    }
  }

  SQLite::Database db_;
  const std::vector<PostData>* input_ = nullptr;
};

}  // namespace

std::unique_ptr<Impl> makeSqliteCpp(const Target& target) { return std::make_unique<SqliteCpp>(target); }

}  // namespace bench
