// Models for the ManyToMany tests: developers and their skills through `developer_skill`, with a
// typed pivot column; tags keyed by a text code (the related key is the related model's own primary
// key, not the parent's name for it); developers following developers (a self relation).
#pragma once

#include "support.hpp"

namespace m2m {

struct Skill;
struct Tag;

/// The pivot table's own columns.
struct DeveloperSkill {
  std::int64_t proficiency{};
  std::optional<std::string> note;

  static constexpr auto columns = kith::columns<&DeveloperSkill::proficiency, &DeveloperSkill::note>;
};

/// developer_tag's own columns: a level, and two times kith stamps.
struct DeveloperTag {
  std::int64_t level{};
  std::chrono::sys_time<std::chrono::microseconds> createdAt{};
  std::chrono::sys_time<std::chrono::microseconds> updatedAt{};

  static constexpr auto columns = kith::columns<&DeveloperTag::level, &DeveloperTag::createdAt, &DeveloperTag::updatedAt>;
};

struct Developer : kith::BaseModel<Developer> {
  std::int64_t id{};
  std::string name;
  kith::ManyToMany<Skill, kith::pivot{}, DeveloperSkill> skills;
  // developer_tag (developer_id, tag_code, level, created_at, updated_at) -> Tag::code
  kith::ManyToMany<Tag, kith::pivot{.createdAt = "createdAt", .updatedAt = "updatedAt"}, DeveloperTag> tags;
  kith::ManyToMany<Developer, kith::pivot{.table = "follows", .foreignKey = "follower_id", .relatedForeignKey = "followed_id"}> following;
  kith::ManyToMany<Developer, kith::pivot{.table = "follows", .foreignKey = "followed_id", .relatedForeignKey = "follower_id"}> followers;
  std::int64_t skillCount = 0;  // not a column: receives withCount

  static constexpr auto columns = kith::columns<&Developer::id, &Developer::name>;
  static constexpr auto relations = kith::relations<&Developer::skills, &Developer::tags, &Developer::following>;
};

struct Skill : kith::BaseModel<Skill> {
  std::int64_t id{};
  std::string name;
  kith::ManyToMany<Developer, kith::pivot{}, DeveloperSkill> developers;  // the same pivot table, from the other side

  static constexpr auto columns = kith::columns<&Skill::id, &Skill::name>;
};

struct Tag : kith::BaseModel<Tag> {
  std::string code;
  std::string label;

  static constexpr auto primaryKey = &Tag::code;
  static constexpr auto columns = kith::columns<&Tag::code, &Tag::label>;
};

inline Developer developer(std::string name) {
  Developer d;
  d.name = std::move(name);
  return d;
}
inline Skill skill(std::string name) {
  Skill s;
  s.name = std::move(name);
  return s;
}
inline DeveloperSkill level(std::int64_t proficiency, std::optional<std::string> note = std::nullopt) {
  DeveloperSkill p;
  p.proficiency = proficiency;
  p.note = std::move(note);
  return p;
}

/// A database with ann, bob and cy, and the skills c++, sql, go, rust (ids 1 to 4), nothing attached.
struct Team {
  kith::Connection db = [] {
    auto db = test::database();
    kith::createTables<Developer, Skill, Tag>(db);
    return db;
  }();
  Developer ann = Developer::create(db, developer("ann"));
  Developer bob = Developer::create(db, developer("bob"));
  Developer cy = Developer::create(db, developer("cy"));
  std::vector<Skill> skills = Skill::createMany(db, {skill("c++"), skill("sql"), skill("go"), skill("rust")});

  std::int64_t id(std::size_t i) const { return skills[i].id; }
  /// (skill id, proficiency) of a developer's pivot rows, by skill id.
  std::vector<test::RawRow> pivots(const Developer& d) const {
    return test::select(
        db, "SELECT skill_id, proficiency FROM developer_skill WHERE developer_id = " + std::to_string(d.id) + " ORDER BY skill_id");
  }
};

/// The names of a range of skills (or developers), in order.
template <class Range>
std::vector<std::string> names(const Range& range) {
  std::vector<std::string> out;
  for (const auto& r : range) out.push_back(r.name);
  return out;
}

}  // namespace m2m
