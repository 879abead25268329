// The limit: the best hand-written sqlite3 C API code for each workload. Statements are prepared
// once per workload and reused (bind, step, reset); inserts also come as 100-row statements.
#include "bench.hpp"

#include <sqlite3.h>

#include <cstring>

#include <string>
#include <unordered_map>
#include <vector>

namespace bench {
namespace {

struct RawPost {
  std::int64_t id = 0, userId = 0;
  std::string title, body;
};
struct RawVideo {
  std::int64_t id = 0;
  std::string title;
};
/// A comment refers to its owner by kind (0: post, 1: video, -1: none) and index in that kind's list.
struct RawComment {
  std::int64_t id = 0;
  std::string body;
  int kind = -1;
  std::size_t owner = 0;
};
struct RawUser {
  std::int64_t id = 0;
  std::string email, name;
  std::vector<RawPost> posts;
};

std::string text(sqlite3_stmt* s, int column) {
  return {reinterpret_cast<const char*>(sqlite3_column_text(s, column)), static_cast<std::size_t>(sqlite3_column_bytes(s, column))};
}

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) { sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  operator sqlite3_stmt*() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

std::string insertSql(int rows) {
  std::string sql = "INSERT INTO posts (user_id, title, body) VALUES (?, ?, ?)";
  for (int i = 1; i < rows; ++i) sql += ", (?, ?, ?)";
  return sql;
}

void bindPost(sqlite3_stmt* s, int row, const PostData& p) {
  sqlite3_bind_int64(s, 3 * row + 1, p.userId);
  sqlite3_bind_text(s, 3 * row + 2, p.title.data(), static_cast<int>(p.title.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 3 * row + 3, p.body.data(), static_cast<int>(p.body.size()), SQLITE_STATIC);
}

RawPost readPost(sqlite3_stmt* s) {
  RawPost p;
  p.id = sqlite3_column_int64(s, 0);
  p.userId = sqlite3_column_int64(s, 1);
  p.title = text(s, 2);
  p.body = text(s, 3);
  return p;
}

/// Inserts rows[begin, end) with statements of `perStatement` rows, then one row at a time;
/// writes the new ids into `ids`. Multi-row INSERTs number their rows consecutively.
void insertRows(sqlite3* db, const std::vector<const PostData*>& rows, std::vector<std::int64_t>& ids, int perStatement) {
  Stmt many(db, insertSql(perStatement));
  Stmt one(db, insertSql(1));
  std::size_t done = 0;
  while (done < rows.size()) {
    const std::size_t n = rows.size() - done >= static_cast<std::size_t>(perStatement) ? static_cast<std::size_t>(perStatement) : 1;
    sqlite3_stmt* s = n == 1 ? one : many;
    for (std::size_t r = 0; r < n; ++r) bindPost(s, static_cast<int>(r), *rows[done + r]);
    sqlite3_step(s);
    sqlite3_reset(s);
    const auto last = sqlite3_last_insert_rowid(db);
    for (std::size_t r = 0; r < n; ++r) ids.push_back(last - static_cast<std::int64_t>(n - 1 - r));
    done += n;
  }
}

class Raw final : public Impl {
 public:
  Raw(const Target& target, int perStatement) : perStatement_(perStatement) {
    sqlite3_open_v2(target.path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (target.walFile) sqlite3_exec(db_, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
  }
  ~Raw() override { sqlite3_close_v2(db_); }
  sqlite3* handle() override { return db_; }

  void prepareInsert(const std::vector<PostData>& rows) override { input_ = &rows; }

  std::optional<Checksum> insertMany() override { return insert(perStatement_); }

  // One prepared single-row INSERT, bound and stepped per row: what save() of a new row is.
  std::optional<Checksum> insertEach() override {
    if (perStatement_ == 1) return std::nullopt;  // raw answers W4 for both
    return insert(1);
  }

  std::optional<Checksum> preload() override {
    if (perStatement_ == 1) return std::nullopt;
    std::vector<RawUser> users;
    std::unordered_map<std::int64_t, std::size_t> byId;
    {
      Stmt s(db_, "SELECT id, email, name FROM users");
      while (sqlite3_step(s) == SQLITE_ROW) {
        RawUser& u = users.emplace_back();
        u.id = sqlite3_column_int64(s, 0);
        u.email = text(s, 1);
        u.name = text(s, 2);
        byId.emplace(u.id, users.size() - 1);
      }
    }
    std::string sql = "SELECT id, user_id, title, body FROM posts WHERE user_id IN (";
    for (std::size_t i = 0; i < users.size(); ++i) sql += i ? ", ?" : "?";
    sql += ")";
    Stmt s(db_, sql);
    for (std::size_t i = 0; i < users.size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 1, users[i].id);
    while (sqlite3_step(s) == SQLITE_ROW) {
      RawPost p = readPost(s);
      users[byId[p.userId]].posts.push_back(std::move(p));
    }
    Checksum sum = 0;
    for (const auto& u : users)
      for (const auto& p : u.posts) sum += p.id + static_cast<Checksum>(p.title.size() + u.email.size());
    return sum;
  }

  // Raw code has no tracking to leave out: W2u and W3u compare with W2's and W3's code.
  std::optional<Checksum> preloadUntracked() override { return preload(); }
  std::optional<Checksum> preloadCommentableUntracked() override { return preloadCommentable(); }
  std::optional<Checksum> findUntracked(const std::vector<std::int64_t>& keys) override { return find(keys); }

  // Posts, then their distinct authors in one IN list; each post refers to its author by index.
  std::optional<Checksum> preloadAuthors() override {
    if (perStatement_ == 1) return std::nullopt;
    std::vector<RawPost> posts;
    std::unordered_map<std::int64_t, std::size_t> userIndex;
    std::vector<std::int64_t> userIds;
    {
      Stmt s(db_, "SELECT id, user_id, title, body FROM posts");
      while (sqlite3_step(s) == SQLITE_ROW) {
        posts.push_back(readPost(s));
        if (userIndex.try_emplace(posts.back().userId, userIds.size()).second) userIds.push_back(posts.back().userId);
      }
    }
    std::vector<RawUser> users(userIds.size());
    std::string sql = "SELECT id, email, name FROM users WHERE id IN (";
    for (std::size_t i = 0; i < userIds.size(); ++i) sql += i ? ", ?" : "?";
    Stmt s(db_, sql + ")");
    for (std::size_t i = 0; i < userIds.size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 1, userIds[i]);
    while (sqlite3_step(s) == SQLITE_ROW) {
      RawUser& u = users[userIndex[sqlite3_column_int64(s, 0)]];
      u.id = sqlite3_column_int64(s, 0);
      u.email = text(s, 1);
      u.name = text(s, 2);
    }
    Checksum sum = 0;
    for (const auto& p : posts) sum += p.id + static_cast<Checksum>(p.title.size() + users[userIndex[p.userId]].email.size());
    return sum;
  }

  // Comments, then each owner kind's distinct ids in one IN list each; the kind compared in place
  // (no string made of it), each comment pointing at its owner by index.
  std::optional<Checksum> preloadCommentable() override {
    if (perStatement_ == 1) return std::nullopt;
    std::vector<RawComment> comments;
    std::unordered_map<std::int64_t, std::size_t> index[2];
    std::vector<std::int64_t> ids[2];
    {
      Stmt s(db_, "SELECT id, body, commentable_type, commentable_id FROM comments");
      while (sqlite3_step(s) == SQLITE_ROW) {
        RawComment& c = comments.emplace_back();
        c.id = sqlite3_column_int64(s, 0);
        c.body = text(s, 1);
        const auto* type = reinterpret_cast<const char*>(sqlite3_column_text(s, 2));
        c.kind = !type ? -1 : std::strcmp(type, "posts") == 0 ? 0 : std::strcmp(type, "videos") == 0 ? 1 : -1;
        if (c.kind < 0 || sqlite3_column_type(s, 3) == SQLITE_NULL) continue;
        auto& kind = index[c.kind];
        const auto [it, added] = kind.try_emplace(sqlite3_column_int64(s, 3), ids[c.kind].size());
        if (added) ids[c.kind].push_back(it->first);
        c.owner = it->second;
      }
    }
    const auto in = [](const char* head, std::size_t n) {
      std::string sql = head;
      for (std::size_t i = 0; i < n; ++i) sql += i ? ", ?" : "?";
      return sql + ")";
    };
    std::vector<RawPost> posts(ids[0].size());
    if (!ids[0].empty()) {
      Stmt s(db_, in("SELECT id, user_id, title, body FROM posts WHERE id IN (", ids[0].size()));
      for (std::size_t i = 0; i < ids[0].size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 1, ids[0][i]);
      while (sqlite3_step(s) == SQLITE_ROW) posts[index[0][sqlite3_column_int64(s, 0)]] = readPost(s);
    }
    std::vector<RawVideo> videos(ids[1].size());
    if (!ids[1].empty()) {
      Stmt s(db_, in("SELECT id, title FROM videos WHERE id IN (", ids[1].size()));
      for (std::size_t i = 0; i < ids[1].size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 1, ids[1][i]);
      while (sqlite3_step(s) == SQLITE_ROW) {
        RawVideo& v = videos[index[1][sqlite3_column_int64(s, 0)]];
        v.id = sqlite3_column_int64(s, 0);
        v.title = text(s, 1);
      }
    }
    Checksum sum = 0;
    for (const auto& c : comments) {
      sum += c.id + static_cast<Checksum>(c.body.size());
      if (c.kind == 0) sum += static_cast<Checksum>(posts[c.owner].title.size()) + 3;
      if (c.kind == 1) sum += static_cast<Checksum>(videos[c.owner].title.size()) + 7;
    }
    return sum;
  }

  std::optional<Checksum> find(const std::vector<std::int64_t>& keys) override {
    if (perStatement_ == 1) return std::nullopt;
    Stmt s(db_, "SELECT id, email, name FROM users WHERE id = ?");
    Checksum sum = 0;
    for (auto key : keys) {
      sqlite3_bind_int64(s, 1, key);
      if (sqlite3_step(s) == SQLITE_ROW) {
        RawUser u;
        u.id = sqlite3_column_int64(s, 0);
        u.email = text(s, 1);
        u.name = text(s, 2);
        sum += u.id + static_cast<Checksum>(u.email.size());
      }
      sqlite3_reset(s);
    }
    return sum;
  }

  // Posts, then their tags in one join over post_tag with the posts' ids in one IN list, grouped by
  // a hash map; then the sync: the post's tag ids, the missing ones inserted (100-row statements),
  // the others deleted (one IN list), in one transaction.
  std::optional<Checksum> postTags(const std::vector<std::int64_t>& syncIds) override {
    if (perStatement_ == 1) return std::nullopt;
    struct RawTag {
      std::int64_t id = 0;
      std::string name;
    };
    std::vector<RawPost> posts;
    std::vector<std::vector<RawTag>> tags;
    std::unordered_map<std::int64_t, std::size_t> byId;
    {
      Stmt s(db_, "SELECT id, user_id, title, body FROM posts");
      while (sqlite3_step(s) == SQLITE_ROW) {
        posts.push_back(readPost(s));
        byId.emplace(posts.back().id, posts.size() - 1);
      }
    }
    tags.resize(posts.size());
    {
      std::string sql =
          "SELECT tags.id, tags.name, post_tag.post_id FROM tags INNER JOIN post_tag ON post_tag.tag_id = tags.id WHERE "
          "post_tag.post_id IN (";
      for (std::size_t i = 0; i < posts.size(); ++i) sql += i ? ", ?" : "?";
      Stmt s(db_, sql + ")");
      for (std::size_t i = 0; i < posts.size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 1, posts[i].id);
      while (sqlite3_step(s) == SQLITE_ROW) tags[byId[sqlite3_column_int64(s, 2)]].push_back({sqlite3_column_int64(s, 0), text(s, 1)});
    }
    Checksum sum = 0;
    for (std::size_t i = 0; i < posts.size(); ++i) {
      sum += posts[i].id;
      for (const auto& t : tags[i]) sum += t.id + static_cast<Checksum>(t.name.size());
    }
    const std::int64_t post = posts.front().id;
    sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    std::unordered_map<std::int64_t, bool> existing;  // tag id -> wanted
    {
      Stmt s(db_, "SELECT tag_id FROM post_tag WHERE post_id = ?");
      sqlite3_bind_int64(s, 1, post);
      while (sqlite3_step(s) == SQLITE_ROW) existing.emplace(sqlite3_column_int64(s, 0), false);
    }
    std::vector<std::int64_t> attach, detach;
    for (auto id : syncIds) {
      if (auto it = existing.find(id); it != existing.end())
        it->second = true;
      else
        attach.push_back(id);
    }
    for (const auto& [id, wanted] : existing)
      if (!wanted) detach.push_back(id);
    {
      const auto insertSql = [](std::size_t rows) {
        std::string sql = "INSERT INTO post_tag (post_id, tag_id) VALUES (?, ?)";
        for (std::size_t r = 1; r < rows; ++r) sql += ", (?, ?)";
        return sql;
      };
      Stmt many(db_, insertSql(static_cast<std::size_t>(perStatement_)));
      Stmt one(db_, insertSql(1));
      for (std::size_t done = 0; done < attach.size();) {
        const std::size_t n = attach.size() - done >= static_cast<std::size_t>(perStatement_) ? static_cast<std::size_t>(perStatement_) : 1;
        sqlite3_stmt* s = n == 1 ? one : many;
        for (std::size_t r = 0; r < n; ++r) {
          sqlite3_bind_int64(s, static_cast<int>(2 * r + 1), post);
          sqlite3_bind_int64(s, static_cast<int>(2 * r + 2), attach[done + r]);
        }
        sqlite3_step(s);
        sqlite3_reset(s);
        done += n;
      }
    }
    if (!detach.empty()) {
      std::string sql = "DELETE FROM post_tag WHERE post_id = ? AND tag_id IN (";
      for (std::size_t i = 0; i < detach.size(); ++i) sql += i ? ", ?" : "?";
      Stmt s(db_, sql + ")");
      sqlite3_bind_int64(s, 1, post);
      for (std::size_t i = 0; i < detach.size(); ++i) sqlite3_bind_int64(s, static_cast<int>(i) + 2, detach[i]);
      sqlite3_step(s);
    }
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    return sum + static_cast<Checksum>(attach.size() * 1000 + detach.size());
  }

  // One SELECT for the rows that exist (matched on title), multi-row INSERTs for the rest, in one
  // transaction; results in input order.
  std::optional<Checksum> fetchOrCreate() override {
    if (perStatement_ == 1) return std::nullopt;
    const auto& input = *input_;
    sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    std::unordered_map<std::string, RawPost> found;
    {
      std::string sql = "SELECT id, user_id, title, body FROM posts WHERE user_id = ? AND title IN (";
      for (std::size_t i = 0; i < input.size(); ++i) sql += i ? ", ?" : "?";
      sql += ")";
      Stmt s(db_, sql);
      sqlite3_bind_int64(s, 1, input.front().userId);
      for (std::size_t i = 0; i < input.size(); ++i)
        sqlite3_bind_text(s, static_cast<int>(i) + 2, input[i].title.data(), static_cast<int>(input[i].title.size()), SQLITE_STATIC);
      while (sqlite3_step(s) == SQLITE_ROW) {
        RawPost p = readPost(s);
        std::string key = p.title;
        found.emplace(std::move(key), std::move(p));
      }
    }
    std::vector<RawPost> result(input.size());
    std::vector<const PostData*> missing;
    std::vector<std::size_t> missingAt;
    for (std::size_t i = 0; i < input.size(); ++i) {
      if (auto it = found.find(input[i].title); it != found.end()) {
        result[i] = it->second;
      } else {
        missing.push_back(&input[i]);
        missingAt.push_back(i);
      }
    }
    std::vector<std::int64_t> ids;
    insertRows(db_, missing, ids, perStatement_);
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    for (std::size_t k = 0; k < missing.size(); ++k)
      result[missingAt[k]] = RawPost{ids[k], missing[k]->userId, missing[k]->title, missing[k]->body};
    Checksum sum = 0;
    for (const auto& p : result) sum += p.id;
    return sum;
  }

 private:
  Checksum insert(int perStatement) {
    std::vector<const PostData*> rows;
    rows.reserve(input_->size());
    for (const auto& r : *input_) rows.push_back(&r);
    std::vector<std::int64_t> ids;
    ids.reserve(rows.size());
    sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    insertRows(db_, rows, ids, perStatement);
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    Checksum sum = 0;
    for (auto id : ids) sum += id;
    return sum;
  }

  sqlite3* db_ = nullptr;
  int perStatement_;
  const std::vector<PostData>* input_ = nullptr;
};

}  // namespace

std::unique_ptr<Impl> makeRaw(const Target& target) { return std::make_unique<Raw>(target, 100); }
std::unique_ptr<Impl> makeRawRow(const Target& target) { return std::make_unique<Raw>(target, 1); }

}  // namespace bench
