// The schema of examples/api, as the migrations that made it: the service's first release (users,
// posts) and a change to a table that already holds rows. Frozen in time: they spell their tables
// and columns out and never read the models in app.hpp, which may change after them. A new
// change is a new migration at the end of the list, never an edit of one that was applied.
#pragma once

#include <kith/migrate.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace api {

inline std::vector<kith::Migration> migrations() {
  using Time = std::chrono::sys_time<std::chrono::microseconds>;
  return {
      {"2026_11_30_01_create_users",
       [](kith::Schema& s) {
         s.createTable("users", [](kith::TableBuilder& t) {
           t.id();
           t.column<std::string>("email");
           t.column<std::string>("name");
           t.column<Time>("created_at");
           t.column<std::optional<Time>>("updated_at");
           t.unique({"email"}, "users_email");  // one account per address (the service lowers its case first)
         });
       },
       [](kith::Schema& s) {
         s.dropTable("users");
         s.acceptDataLoss();
       }},
      {"2026_11_30_02_create_posts",
       [](kith::Schema& s) {
         s.createTable("posts", [](kith::TableBuilder& t) {
           t.id();
           t.column<std::int64_t>("user_id");
           t.column<std::string>("title");
           t.column<std::string>("body");
           t.column<Time>("created_at");
           t.column<std::optional<Time>>("updated_at");
           t.index({"user_id"}, {.name = "posts_user_id_index"});  // every read of a user's posts
         });
       },
       [](kith::Schema& s) {
         s.dropTable("posts");
         s.acceptDataLoss();
       }},
      // The first release kept posts.user_id valid in code only; the database now refuses a post
      // without its user, and deleting a user deletes their posts. On SQLite: a rebuild of posts.
      {"2026_12_05_01_posts_user_foreign_key",
       [](kith::Schema& s) {
         s.alterTable("posts", [](kith::TableChanges& t) { t.foreign("user_id", "users", "id", {.onDelete = kith::OnAction::Cascade}); });
       },
       [](kith::Schema& s) { s.alterTable("posts", [](kith::TableChanges& t) { t.dropForeign("posts_user_id_foreign"); }); }},
  };
}

}  // namespace api
