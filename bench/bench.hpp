// What every implementation in the benchmark shares: the schema, the data, and the interface each
// implementation (raw sqlite3, kith, SQLiteCpp, SOCI) fills in. Setup runs through the same raw
// sqlite3 code for all of them; only the workload itself is timed and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;  // not <sqlite3.h>: SOCI includes it inside a namespace of its own

namespace bench {

/// One row of posts as the workloads' inputs carry it (each implementation converts it to its own
/// objects before the clock starts).
struct PostData {
  std::int64_t userId = 0;
  std::string title;  // ~20 characters
  std::string body;   // ~100 characters
};

/// A database opened by one implementation: ":memory:" or a WAL file with synchronous=NORMAL.
struct Target {
  std::string path = ":memory:";
  bool walFile = false;
};

/// What each workload returns: a checksum that every implementation must agree on.
using Checksum = std::int64_t;

/// An implementation of the workloads. Each returns a checksum or nothing when it does not take
/// part (raw_row only inserts). Methods run only the workload; prepare() builds its input.
class Impl {
 public:
  virtual ~Impl() = default;
  /// The underlying handle, for the shared setup.
  virtual sqlite3* handle() = 0;

  // Inputs are converted before the clock starts.
  virtual void prepareInsert(const std::vector<PostData>& rows) = 0;
  virtual std::optional<Checksum> insertMany() = 0;                                 // W1 / W1f: one call for all rows
  virtual std::optional<Checksum> insertEach() = 0;                                 // W4: one save per row, one transaction
  virtual std::optional<Checksum> preload() = 0;                                    // W2: users with their posts
  virtual std::optional<Checksum> find(const std::vector<std::int64_t>& keys) = 0;  // W3
  virtual std::optional<Checksum> fetchOrCreate() = 0;                              // W5: rows matched on title
  /// W6: every post with its author (a BelongsTo preload: few users, many posts).
  virtual std::optional<Checksum> preloadAuthors() = 0;
  /// W7: every post with its tags (a ManyToMany preload through post_tag), then one post's tags
  /// synced to `syncIds` (attach the missing, detach the rest), in one transaction.
  virtual std::optional<Checksum> postTags(const std::vector<std::int64_t>& syncIds) = 0;
  /// W2u, W3u: W2 and W3 with models read untracked (kith's Query::untracked(), find(..., kith::untracked));
  /// the raw baselines answer them with W2's and W3's code.
  virtual std::optional<Checksum> preloadUntracked() { return std::nullopt; }
  virtual std::optional<Checksum> findUntracked(const std::vector<std::int64_t>&) { return std::nullopt; }
  /// W8: load a user's posts, then save new ones through the relation into that loaded list (kith only).
  virtual std::optional<Checksum> saveManyLoaded() { return std::nullopt; }
  /// W10: every comment with its owner, a post or a video (a MorphTo preload: one statement for
  /// the comments, one per owner type; comments of one owner share it).
  virtual std::optional<Checksum> preloadCommentable() { return std::nullopt; }
  /// W10u: W10 with the comments and their owners read untracked; raw answers it with W10's code.
  virtual std::optional<Checksum> preloadCommentableUntracked() { return std::nullopt; }
};

using Factory = std::unique_ptr<Impl> (*)(const Target&);

struct Registered {
  const char* name;
  Factory make;
};

// The implementations; each lives in its own translation unit.
std::unique_ptr<Impl> makeRaw(const Target&);
std::unique_ptr<Impl> makeRawRow(const Target&);
std::unique_ptr<Impl> makeKith(const Target&);
/// Null when the library was not found at configure time.
std::unique_ptr<Impl> makeSqliteCpp(const Target&);
std::unique_ptr<Impl> makeSoci(const Target&);

inline constexpr const char* schema =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);"
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX posts_user_id ON posts (user_id);"
    "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
    "CREATE TABLE post_tag (post_id INTEGER NOT NULL, tag_id INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX post_tag_pair ON post_tag (post_id, tag_id);"
    "CREATE INDEX post_tag_tag_id ON post_tag (tag_id);"
    "CREATE TABLE videos (id INTEGER PRIMARY KEY, title TEXT NOT NULL);"
    "CREATE TABLE comments (id INTEGER PRIMARY KEY, body TEXT NOT NULL, commentable_type TEXT, commentable_id INTEGER);";

}  // namespace bench
