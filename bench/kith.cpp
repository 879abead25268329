// kith, used as a user would: models, the relation client, preload, find.
#include <kith/kith.hpp>

#include "bench.hpp"
#include "kith_models.hpp"

namespace bench {
namespace {

using models::AuthoredPost;
using models::Comment;
using models::Post;
using models::TaggedPost;
using models::User;

class Kith final : public Impl {
 public:
  explicit Kith(const Target& target)
      : db_(target.walFile ? kith::sqlite::open(target.path, {.wal = true, .synchronous = kith::sqlite::Synchronous::Normal})
                           : kith::sqlite::open(target.path)) {}
  sqlite3* handle() override { return kith::sqlite::handle(db_); }

  void prepareInsert(const std::vector<PostData>& rows) override {
    input_.clear();
    input_.reserve(rows.size());
    for (const auto& r : rows) input_.push_back(Post{{}, 0, r.userId, r.title, r.body});
    user_ = User::find(db_, rows.front().userId);
  }

  // The rows created are the caller's data, as raw's input rows are raw's: like those, they are
  // destroyed after the clock stops (with the Kith object), not inside the workload.
  std::optional<Checksum> insertMany() override {
    Checksum sum = 0;
    created_ = user_->related<&User::posts>().createMany(std::move(input_));
    for (const auto& p : created_) sum += p.id;
    return sum;
  }

  std::optional<Checksum> insertEach() override {
    return db_.transaction([&](kith::Transaction& trx) {
      Checksum sum = 0;
      for (auto& p : input_) {
        p.save(trx);
        sum += p.id;
      }
      return sum;
    });
  }

  std::optional<Checksum> preload() override {
    Checksum sum = 0;
    for (const auto& u : User::query(db_).preload<&User::posts>().all())
      for (const auto& p : u.posts) sum += p.id + static_cast<Checksum>(p.title.size() + u.email.size());
    return sum;
  }

  std::optional<Checksum> preloadUntracked() override {
    Checksum sum = 0;
    for (const auto& u : User::query(db_).untracked().preload<&User::posts>().all())
      for (const auto& p : u.posts) sum += p.id + static_cast<Checksum>(p.title.size() + u.email.size());
    return sum;
  }

  std::optional<Checksum> findUntracked(const std::vector<std::int64_t>& keys) override {
    Checksum sum = 0;
    for (auto key : keys)
      if (auto u = User::find(db_, key, kith::untracked)) sum += u->id + static_cast<Checksum>(u->email.size());
    return sum;
  }

  std::optional<Checksum> preloadAuthors() override {
    Checksum sum = 0;
    for (const auto& p : AuthoredPost::query(db_).preload<&AuthoredPost::author>().all())
      sum += p.id + static_cast<Checksum>(p.title.size() + p.author->email.size());
    return sum;
  }

  std::optional<Checksum> preloadCommentable() override { return commentable(Comment::query(db_)); }
  std::optional<Checksum> preloadCommentableUntracked() override { return commentable(Comment::query(db_).untracked()); }

  std::optional<Checksum> find(const std::vector<std::int64_t>& keys) override {
    Checksum sum = 0;
    for (auto key : keys)
      if (auto u = User::find(db_, key)) sum += u->id + static_cast<Checksum>(u->email.size());
    return sum;
  }

  std::optional<Checksum> fetchOrCreate() override {
    Checksum sum = 0;
    for (const auto& p : user_->related<&User::posts>().fetchOrCreateMany<&Post::title>(std::move(input_))) sum += p.id;
    return sum;
  }

  std::optional<Checksum> postTags(const std::vector<std::int64_t>& syncIds) override {
    Checksum sum = 0;
    auto posts = TaggedPost::query(db_).preload<&TaggedPost::tags>().all();
    for (const auto& p : posts) {
      sum += p.id;
      for (const auto& t : p.tags) sum += t.id + static_cast<Checksum>(t.name.size());
    }
    const auto r = posts.front().related<&TaggedPost::tags>().sync(syncIds);
    return sum + static_cast<Checksum>(r.attached.size() * 1000 + r.detached.size());
  }

  std::optional<Checksum> saveManyLoaded() override {
    user_->load<&User::posts>();
    user_->related<&User::posts>().saveMany(input_);
    return static_cast<Checksum>(user_->posts.size()) + input_.back().id;
  }

 private:
  static Checksum commentable(kith::Query<Comment> q) {
    Checksum sum = 0;
    for (const auto& c : q.preload<&Comment::commentable>().all()) {
      sum += c.id + static_cast<Checksum>(c.body.size());
      if (c.commentable)
        sum += c.commentable.visit([](const auto& owner) { return static_cast<Checksum>(owner.title.size()); }) +
               (c.commentable.is<models::Video>() ? 7 : 3);
    }
    return sum;
  }

  kith::Connection db_;
  std::vector<Post> input_;
  std::vector<Post> created_;  // W1's result, kept past the workload
  std::optional<User> user_;
};

}  // namespace

std::unique_ptr<Impl> makeKith(const Target& target) { return std::make_unique<Kith>(target); }

}  // namespace bench
