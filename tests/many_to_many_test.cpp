// ManyToMany: the pivot table createTables makes, the read SQL (the relation's condition in its own
// group), attach/detach/detachAll/sync/toggle/updatePivot with their statements and what they leave
// in the pivot table, preload with typed pivot values, relationship queries with pivot conditions,
// create/save through the relation (atomic), the pivot values the rows of the relation's query and
// the models create/save wrote carry (kith::pivotOf), a related key that is not named like the parent's,
// and a self relation.
#include "many_to_many_models.hpp"

#include <chrono>
#include <thread>

using namespace m2m;

namespace {

constexpr const char* skillColumns = R"("skills"."id", "skills"."name")";
// What the client's query selects beside each row: its pivot row, as extras (Lucid's names).
constexpr const char* pivotExtras =
    R"(, "developer_skill"."developer_id" AS "pivot_developer_id", "developer_skill"."skill_id" AS "pivot_skill_id",)"
    R"( "developer_skill"."proficiency" AS "pivot_proficiency", "developer_skill"."note" AS "pivot_note")";
constexpr const char* joinPivot = R"( FROM "skills" INNER JOIN "developer_skill" ON "developer_skill"."skill_id" = "skills"."id")";

std::vector<std::string> ids(const std::vector<std::int64_t>& keys) {
  std::vector<std::string> out;
  for (auto k : keys) out.push_back(std::to_string(k));
  return out;
}

/// The statements of a write: BEGIN, the lock on PostgreSQL when the write takes it, the body, COMMIT.
std::vector<std::string> transaction(std::vector<std::string> body, bool locks) {
  std::vector<std::string> out{test::beginSql()};
  if (locks) out = test::statements({out, test::createLock()});
  out.insert(out.end(), body.begin(), body.end());
  out.push_back("COMMIT");
  return out;
}

}  // namespace

TEST_CASE("createTables makes the pivot table: both keys, the pivot columns, a unique index on the pair",
          "[many-to-many][schema][portable]") {
  Team t;
  t.db.execute("INSERT INTO developer_skill (developer_id, skill_id, proficiency) VALUES (1, 1, 3)");
  // The pair is unique; proficiency is NOT NULL, note may be NULL.
  CHECK_THROWS_AS(t.db.execute("INSERT INTO developer_skill (developer_id, skill_id, proficiency) VALUES (1, 1, 4)"),
                  kith::UniqueViolation);
  CHECK_THROWS_AS(t.db.execute("INSERT INTO developer_skill (developer_id, skill_id) VALUES (1, 2)"), kith::NotNullViolation);
  CHECK(test::scalar(t.db, "SELECT count(*) FROM developer_skill WHERE note IS NULL") == "1");
  // The default names: the two type names sorted and snake_cased; <type>_<primary key>.
  t.db.execute(
      "INSERT INTO developer_tag (developer_id, tag_code, level, created_at, updated_at) VALUES (1, 'x', 0, '2026-01-01 00:00:00+00', "
      "'2026-01-01 00:00:00+00')");
  t.db.execute("INSERT INTO follows (follower_id, followed_id) VALUES (1, 2)");
  // Running it again changes nothing.
  kith::createTables<Developer, Skill, Tag>(t.db);
  CHECK(test::rows(t.db, "developer_skill") == 1);
}

TEST_CASE("a ManyToMany's query joins the pivot table and keeps its condition in its own group", "[many-to-many][read][portable]") {
  Team t;
  t.ann.related<&Developer::skills>().attach({{t.id(0), level(5)}, {t.id(1), level(2)}});
  t.bob.related<&Developer::skills>().attach({t.id(2)});
  test::StatementLog log(t.db);
  auto q = t.ann.related<&Developer::skills>().query().where<&Skill::name>("c++").orWhere<&Skill::name>("go").orderBy<&Skill::id>();
  CHECK(q.toSql() ==
        std::string("SELECT ") + skillColumns + pivotExtras + joinPivot +
            R"( WHERE ("skills"."name" = ? OR "skills"."name" = ?) AND ("developer_skill"."developer_id" = ?) ORDER BY "skills"."id" ASC)");
  // bob's go stays out.
  CHECK(names(q.all()) == std::vector<std::string>{"c++"});
  CHECK(log.count() == 1);
  // Conditions and orderBy on the pivot struct's members.
  auto strong = t.ann.related<&Developer::skills>().query().where<&DeveloperSkill::proficiency>(">=", 3);
  CHECK_THAT(strong.toSql(), test::Contains(R"(WHERE ("developer_skill"."proficiency" >= ?))"));
  CHECK(names(strong.all()) == std::vector<std::string>{"c++"});
  CHECK(names(t.ann.related<&Developer::skills>().query().orderBy<&DeveloperSkill::proficiency>().all()) ==
        std::vector<std::string>{"sql", "c++"});
  CHECK(t.cy.related<&Developer::skills>().query().count() == 0);
  // A pivot column on a query that does not join the pivot is a clear error.
  CHECK_THROWS_WITH(Skill::query(t.db).where<&DeveloperSkill::proficiency>(1),
                    test::Contains("proficiency is a column of DeveloperSkill, which this query of Skill does not join"));
}

TEST_CASE("attach inserts the pivot rows with one statement, skips pairs already attached, and needs a saved parent",
          "[many-to-many][attach][portable]") {
  Team t;
  test::StatementLog log(t.db);
  CHECK(t.ann.related<&Developer::skills>().attach({t.id(0), t.id(1), t.id(0)}) == 2);  // a key given twice is attached once
  CHECK(
      log.sql() ==
      transaction(
          {R"(SELECT "skill_id", "proficiency", "note" FROM "developer_skill" WHERE "developer_id" = ?)",
           R"(INSERT INTO "developer_skill" ("developer_id", "skill_id", "proficiency", "note") VALUES (?, ?, ?, ?), (?, ?, ?, ?) ON CONFLICT DO NOTHING)"},
          true));
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "0"}, {ids({t.id(1)})[0], "0"}});

  // With pivot values; a pair already attached keeps its row and values.
  log.clear();
  CHECK(t.ann.related<&Developer::skills>().attach({{t.id(1), level(9)}, {t.id(2), level(4, "new")}}) == 1);
  CHECK(log.count() == 4 + test::createLocks());
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "0"}, {ids({t.id(1)})[0], "0"}, {ids({t.id(2)})[0], "4"}});
  CHECK(test::scalar(t.db, "SELECT note FROM developer_skill WHERE skill_id = " + std::to_string(t.id(2))) == "new");

  // A vector of keys; nothing to attach sends nothing.
  log.clear();
  CHECK(t.bob.related<&Developer::skills>().attach(std::vector<std::int64_t>{t.id(3)}) == 1);
  CHECK(t.bob.related<&Developer::skills>().attach(std::vector<std::int64_t>{}) == 0);
  CHECK(log.count() == 4 + test::createLocks());

  // Without the unique index on the pair, a pair attached again is still not duplicated.
  t.db.execute("DROP INDEX developer_skill_developer_id_skill_id_unique");
  CHECK(t.bob.related<&Developer::skills>().attach({t.id(3)}) == 0);
  CHECK(t.pivots(t.bob).size() == 1);

  // An unsaved parent has no key to attach with: nothing is written.
  Developer fresh = developer("new");
  CHECK_THROWS_WITH(fresh.related<&Developer::skills>(t.db).attach({t.id(0)}),
                    test::Contains(R"(cannot persist "skills", value of "Developer.id" is undefined)"));
  CHECK(test::rows(t.db, "developer_skill") == 4);
}

TEST_CASE("detach deletes only this parent's pivot rows for the keys given, and an empty list detaches nothing",
          "[many-to-many][detach][portable]") {
  Team t;
  t.ann.related<&Developer::skills>().attach({t.id(0), t.id(1), t.id(2)});
  t.bob.related<&Developer::skills>().attach({t.id(0), t.id(1)});
  test::StatementLog log(t.db);
  CHECK(t.ann.related<&Developer::skills>().detach(std::vector<std::int64_t>{}) == 0);  // Lucid's detach([]) wipes everything
  CHECK(log.count() == 0);
  CHECK(t.ann.related<&Developer::skills>().detach({t.id(0), t.id(3)}) == 1);
  CHECK(log.sql() ==
        transaction({R"(DELETE FROM "developer_skill" WHERE "developer_id" = ? AND )" + test::keysIn(R"("skill_id")", 2)}, true));
  CHECK(t.pivots(t.ann).size() == 2);
  CHECK(t.pivots(t.bob).size() == 2);      // bob's c++ stays
  CHECK(test::rows(t.db, "skills") == 4);  // no skill is deleted
  CHECK(t.ann.related<&Developer::skills>().detachAll() == 2);
  CHECK(t.pivots(t.ann).empty());
  CHECK(t.pivots(t.bob).size() == 2);
}

TEST_CASE("sync attaches what is missing, updates pivot values that differ, detaches the rest, and says which",
          "[many-to-many][sync][portable]") {
  Team t;
  auto skills = t.ann.related<&Developer::skills>();
  skills.attach({{t.id(0), level(1)}, {t.id(1), level(2)}, {t.id(2), level(3)}});
  t.bob.related<&Developer::skills>().attach({t.id(0)});
  test::StatementLog log(t.db);

  // Ids only: missing ones attached with default values, others kept as they are.
  auto r = skills.sync({t.id(1), t.id(3)});
  CHECK(r.attached == std::vector<std::int64_t>{t.id(3)});
  std::sort(r.detached.begin(), r.detached.end());  // in the order the pivot rows were read
  CHECK(r.detached == std::vector<std::int64_t>{t.id(0), t.id(2)});
  CHECK(r.updated.empty());
  CHECK(
      log.sql() ==
      transaction(
          {R"(SELECT "skill_id", "proficiency", "note" FROM "developer_skill" WHERE "developer_id" = ?)",
           R"(INSERT INTO "developer_skill" ("developer_id", "skill_id", "proficiency", "note") VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING)",
           R"(DELETE FROM "developer_skill" WHERE "developer_id" = ? AND )" + test::keysIn(R"("skill_id")", 2)},
          true));
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(1)})[0], "2"}, {ids({t.id(3)})[0], "0"}});
  CHECK(t.pivots(t.bob).size() == 1);

  // With values: compared in their C++ type; only rows whose values differ are updated, in one statement.
  log.clear();
  r = skills.sync({{t.id(1), level(2)}, {t.id(3), level(7, "rust")}, {t.id(0), level(5)}});
  CHECK(r.attached == std::vector<std::int64_t>{t.id(0)});
  CHECK(r.updated == std::vector<std::int64_t>{t.id(3)});
  CHECK(r.detached.empty());
  REQUIRE(log.count() == 5 + test::createLocks());
  const std::string cast = test::onPostgres() ? "CAST(? AS BIGINT)" : "?";
  const std::string castText = test::onPostgres() ? "CAST(? AS TEXT)" : "?";
  CHECK(log.entries[3 + test::createLocks()].sql == R"(UPDATE "developer_skill" SET "proficiency" = CASE "skill_id" WHEN ? THEN )" + cast +
                                                        R"( END, "note" = CASE "skill_id" WHEN ? THEN )" + castText +
                                                        R"( END WHERE "developer_id" = ? AND "skill_id" IN (?))");
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "5"}, {ids({t.id(1)})[0], "2"}, {ids({t.id(3)})[0], "7"}});
  CHECK(test::scalar(t.db, "SELECT note FROM developer_skill WHERE skill_id = " + std::to_string(t.id(3))) == "rust");

  // The same call again: one SELECT, nothing written.
  log.clear();
  r = skills.sync({{t.id(1), level(2)}, {t.id(3), level(7, "rust")}, {t.id(0), level(5)}});
  CHECK((r.attached.empty() && r.updated.empty() && r.detached.empty()));
  CHECK(log.count() == 3 + test::createLocks());

  // syncWithoutDetaching keeps what is not listed; sync({}) detaches everything.
  r = skills.syncWithoutDetaching({t.id(2)});
  CHECK(r.attached == std::vector<std::int64_t>{t.id(2)});
  CHECK(t.pivots(t.ann).size() == 4);
  r = skills.sync(std::vector<std::int64_t>{});
  CHECK(r.detached.size() == 4);
  CHECK(t.pivots(t.ann).empty());
  CHECK(t.pivots(t.bob).size() == 1);
}

TEST_CASE("PostgreSQL: sync sends its inserts, pivot updates and delete in one pipeline, after reading the pivot rows",
          "[many-to-many][sync][pipeline][.postgres]") {
  REQUIRE(test::onPostgres());
  Team t;
  auto skills = t.ann.related<&Developer::skills>();
  skills.attach({{t.id(0), level(1)}, {t.id(1), level(2)}, {t.id(2), level(3)}});
  std::vector<std::pair<std::string, bool>> seen;  // SQL, pipelined
  t.db.onQuery([&](const kith::QueryEvent& e) { seen.emplace_back(std::string(e.sql), e.pipelined); });
  const auto r = skills.sync({{t.id(1), level(5)}, {t.id(3), level(4, "new")}});
  CHECK(r.attached == std::vector<std::int64_t>{t.id(3)});
  CHECK(r.updated == std::vector<std::int64_t>{t.id(1)});
  CHECK(r.detached.size() == 2);
  // BEGIN, the lock, the SELECT of the pivot rows (its answer decides the rest), then the INSERT,
  // the UPDATE and the DELETE without waiting for each answer, COMMIT.
  REQUIRE(seen.size() == 7);
  CHECK(seen[2].first.starts_with(R"(SELECT "skill_id")"));
  CHECK_FALSE(seen[2].second);
  CHECK((seen[3].first.starts_with("INSERT") && seen[3].second));
  CHECK((seen[4].first.starts_with("UPDATE") && seen[4].second));
  CHECK((seen[5].first.starts_with("DELETE") && seen[5].second));
  CHECK(seen[6] == std::pair<std::string, bool>{"COMMIT", false});
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(1)})[0], "5"}, {ids({t.id(3)})[0], "4"}});
  CHECK(test::scalar(t.db, "SELECT note FROM developer_skill WHERE skill_id = " + std::to_string(t.id(3))) == "new");
  // One write: no pipeline.
  seen.clear();
  skills.sync({{t.id(1), level(5)}, {t.id(3), level(4, "new")}, {t.id(0), level(1)}});
  REQUIRE(seen.size() == 5);
  CHECK_FALSE(seen[3].second);
  CHECK(t.pivots(t.ann).size() == 3);
}

TEST_CASE("toggle detaches what is attached and attaches the rest, and updatePivot sets pivot columns of one row",
          "[many-to-many][toggle][portable]") {
  Team t;
  auto skills = t.ann.related<&Developer::skills>();
  skills.attach({t.id(0), t.id(1)});
  auto r = skills.toggle({{t.id(1), level(1)}, {t.id(2), level(8)}});
  CHECK(r.attached == std::vector<std::int64_t>{t.id(2)});
  CHECK(r.detached == std::vector<std::int64_t>{t.id(1)});
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "0"}, {ids({t.id(2)})[0], "8"}});

  test::StatementLog log(t.db);
  CHECK(skills.updatePivot(t.id(0), kith::set<&DeveloperSkill::proficiency>(6), kith::set<&DeveloperSkill::note>("lead")) == 1);
  CHECK(log.sql() ==
        transaction({R"(UPDATE "developer_skill" SET "proficiency" = ?, "note" = ? WHERE "developer_id" = ? AND "skill_id" = ?)"}, true));
  CHECK(skills.updatePivot(t.id(3), kith::set<&DeveloperSkill::proficiency>(6)) == 0);  // not attached
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "6"}, {ids({t.id(2)})[0], "8"}});
}

TEST_CASE("preloading a ManyToMany is one statement for every parent, with each row's typed pivot values",
          "[many-to-many][preload][portable]") {
  Team t;
  t.ann.related<&Developer::skills>().attach({{t.id(0), level(5)}, {t.id(1), level(2, "some")}});
  t.bob.related<&Developer::skills>().attach({{t.id(0), level(3)}});
  test::StatementLog log(t.db);
  auto devs =
      Developer::query(t.db).orderBy<&Developer::id>().preload<&Developer::skills>([](auto& q) { q.template orderBy<&Skill::id>(); }).all();
  REQUIRE(log.count() == 2);
  CHECK(
      log.entries[1].sql ==
      std::string("SELECT ") + skillColumns +
          R"(, "developer_skill"."developer_id" AS "pivot_developer_id", "developer_skill"."proficiency" AS "pivot_proficiency", "developer_skill"."note" AS "pivot_note")" +
          joinPivot + " WHERE " + test::keysIn(R"("developer_skill"."developer_id")", 4) + R"( ORDER BY "skills"."id" ASC)");
  REQUIRE(devs.size() == 3);
  CHECK(names(devs[0].skills) == std::vector<std::string>{"c++", "sql"});
  CHECK(devs[0].skills.pivot(0).proficiency == 5);
  CHECK_FALSE(devs[0].skills.pivot(0).note);
  CHECK(devs[0].skills.pivot(1).note == "some");
  // c++ is attached to both: two instances, each with its own pivot values.
  CHECK(devs[1].skills[0].name == "c++");
  CHECK(devs[1].skills.pivot(0).proficiency == 3);
  CHECK(devs[2].skills.isLoaded());
  CHECK(devs[2].skills.empty());
  CHECK(devs[0].skills[0].extras().empty());  // the pivot values are typed, not extras

  // A condition on a pivot column in the callback; groupLimit per developer; load on one instance.
  log.clear();
  devs = Developer::query(t.db)
             .orderBy<&Developer::id>()
             .preload<&Developer::skills>([](auto& q) { q.template where<&DeveloperSkill::proficiency>(">", 2).groupLimit(1); })
             .all();
  CHECK_THAT(log.entries[1].sql, test::Contains(R"(PARTITION BY "developer_skill"."developer_id")"));
  CHECK(names(devs[0].skills) == std::vector<std::string>{"c++"});
  CHECK(names(devs[1].skills) == std::vector<std::string>{"c++"});
  Developer ann = Developer::findOrFail(t.db, t.ann.id);
  ann.load<&Developer::skills>([](auto& q) { q.template orderBy<&DeveloperSkill::proficiency>(kith::desc); });
  CHECK(names(ann.skills) == std::vector<std::string>{"c++", "sql"});
  CHECK(ann.skills.pivot(1).proficiency == 2);

  // Nested: each skill's developers, one more statement.
  log.clear();
  devs = Developer::query(t.db)
             .where<&Developer::id>(t.ann.id)
             .preload<&Developer::skills>([](auto& q) {
               q.template orderBy<&Skill::id>().template preload<&Skill::developers>([](auto& d) { d.template orderBy<&Developer::id>(); });
             })
             .all();
  CHECK(log.count() == 3);
  CHECK(names(devs[0].skills[0].developers) == std::vector<std::string>{"ann", "bob"});
  CHECK(devs[0].skills[0].developers.pivot(1).proficiency == 3);
}

TEST_CASE("has, whereHas and withCount on a ManyToMany, with pivot conditions in the callback",
          "[many-to-many][relationship-queries][portable]") {
  Team t;
  t.ann.related<&Developer::skills>().attach({{t.id(0), level(5)}, {t.id(1), level(2)}});
  t.bob.related<&Developer::skills>().attach({{t.id(0), level(1)}});
  CHECK(names(Developer::query(t.db).has<&Developer::skills>().orderBy<&Developer::id>().all()) == std::vector<std::string>{"ann", "bob"});
  CHECK(names(Developer::query(t.db).doesntHave<&Developer::skills>().all()) == std::vector<std::string>{"cy"});
  auto experts =
      Developer::query(t.db).whereHas<&Developer::skills>([](auto& q) { q.template where<&DeveloperSkill::proficiency>(">=", 4); });
  CHECK_THAT(
      experts.toSql(),
      test::Contains(
          R"(EXISTS (SELECT 1 FROM "skills" INNER JOIN "developer_skill" ON "developer_skill"."skill_id" = "skills"."id" WHERE ("developer_skill"."proficiency" >= ?) AND ("developer_skill"."developer_id" = "developers"."id")))"));
  CHECK(names(experts.all()) == std::vector<std::string>{"ann"});
  CHECK(names(Developer::query(t.db).has<&Developer::skills>(">", 1).all()) == std::vector<std::string>{"ann"});
  auto counted =
      Developer::query(t.db)
          .orderBy<&Developer::id>()
          .withCount<&Developer::skills, &Developer::skillCount>([](auto& q) { q.template where<&DeveloperSkill::proficiency>(">", 1); })
          .all();
  CHECK(counted[0].skillCount == 2);
  CHECK(counted[1].skillCount == 0);
  // An aggregate over the related rows, with a pivot condition.
  auto top = Developer::query(t.db).orderBy<&Developer::id>().withAggregate<&Developer::skills>(
      kith::max<&Skill::id>(), "strongest", [](auto& q) { q.template where<&DeveloperSkill::proficiency>(">=", 2); });
  CHECK(top.all()[0].extra<std::int64_t>("strongest") == t.id(1));
  CHECK_THAT(top.toSql(), test::Contains(R"((SELECT max("skills"."id") FROM "skills" INNER JOIN "developer_skill")"));
  // From the other side: c++'s developers.
  CHECK(Skill::query(t.db).whereHas<&Skill::developers>([](auto& q) { q.template where<&Developer::name>("bob"); }).count() == 1);
  Developer ann = Developer::findOrFail(t.db, t.ann.id);
  ann.loadCount<&Developer::skills>([](auto& q) { q.template where<&DeveloperSkill::proficiency>(5); });
  CHECK(ann.extra<std::int64_t>("skills_count") == 1);
}

TEST_CASE("create, createMany, save and saveMany through a ManyToMany save the parent, the models and the pivot rows in one transaction",
          "[many-to-many][write][portable]") {
  Team t;
  Developer dee = developer("dee");  // not saved yet: saved first
  test::StatementLog log(t.db);
  auto made = dee.related<&Developer::skills>(t.db).createMany({skill("zig"), skill("ocaml")}, {level(1), level(2)});
  CHECK(dee.isPersisted());
  CHECK(made[1].isPersisted());
  CHECK(log.entries.front().sql == test::beginSql());
  CHECK(log.entries.back().sql == "COMMIT");
  CHECK(t.pivots(dee) == std::vector<test::RawRow>{{ids({made[0].id})[0], "1"}, {ids({made[1].id})[0], "2"}});
  CHECK_THAT(log.entries[log.count() - 2].sql, test::Contains(R"(INSERT INTO "developer_skill")"));  // one INSERT for the pivot rows

  // save: a persisted skill attached (values given), saving it again changes the values, not the rows.
  dee.load<&Developer::skills>();
  Skill cpp = t.skills[0];
  cpp.name = "C++";
  dee.related<&Developer::skills>().save(cpp, level(4));
  CHECK(Skill::findOrFail(t.db, cpp.id).name == "C++");
  CHECK(dee.related<&Developer::skills>().query().count() == 3);
  dee.related<&Developer::skills>().save(cpp, level(6));
  dee.related<&Developer::skills>().save(cpp);  // no values: the stored ones stay
  CHECK(t.pivots(dee).front() == test::RawRow{ids({cpp.id})[0], "6"});
  // The loaded relation follows, with the pivot values.
  REQUIRE(dee.skills.size() == 3);
  CHECK(dee.skills[2].name == "C++");
  CHECK(dee.skills.pivot(2).proficiency == 6);

  std::vector<Skill> more{skill("elm"), t.skills[1]};
  dee.related<&Developer::skills>().saveMany(more);
  CHECK(more[0].isPersisted());
  CHECK(t.pivots(dee).size() == 5);
  auto one = dee.related<&Developer::skills>().create(skill("nim"), level(3, "new"));
  CHECK(dee.related<&Developer::skills>().query().where<&DeveloperSkill::note>("new").firstOrFail().id == one.id);
  CHECK_THROWS_WITH(dee.related<&Developer::skills>().createMany({skill("a")}, {level(1), level(2)}),
                    test::Contains("createMany() got 1 rows and 2 pivot values"));
}

TEST_CASE("a ManyToMany write that fails leaves no parent, model or pivot row behind", "[many-to-many][write][atomic][portable]") {
  Team t;
  t.db.execute("CREATE UNIQUE INDEX skills_name ON skills (name)");
  Developer eve = developer("eve");
  std::vector<Skill> rows{skill("new one"), skill("sql")};  // "sql" exists: the second insert fails
  CHECK_THROWS_AS(eve.related<&Developer::skills>(t.db).createMany(rows), kith::UniqueViolation);
  CHECK_FALSE(eve.isPersisted());
  CHECK(test::rows(t.db, "developers") == 3);
  CHECK(test::rows(t.db, "skills") == 4);
  CHECK(test::rows(t.db, "developer_skill") == 0);

  // The pivot insert fails (a value the column refuses): the skill saved before it is rolled back too.
  t.db.execute(
      "CREATE TABLE bad_pivot (developer_id BIGINT NOT NULL, skill_id BIGINT NOT NULL, proficiency BIGINT NOT NULL CHECK (proficiency < "
      "10), note TEXT)");
  t.db.execute("DROP TABLE developer_skill");
  t.db.execute("ALTER TABLE bad_pivot RENAME TO developer_skill");
  Skill kotlin = skill("kotlin");
  CHECK_THROWS_AS(t.ann.related<&Developer::skills>().save(kotlin, level(99)), kith::ConstraintError);
  CHECK_FALSE(kotlin.isPersisted());
  CHECK(kotlin.id == 0);
  CHECK(test::rows(t.db, "skills") == 4);
  CHECK(test::rows(t.db, "developer_skill") == 0);
}

TEST_CASE("a ManyToMany's related key defaults to the related model's primary key, not the parent's name for its own",
          "[many-to-many][keys][portable]") {
  Team t;
  kith::Connection& db = t.db;
  Tag cpp;
  cpp.code = "cpp";
  cpp.label = "C++";
  cpp.save(db);
  auto made = t.ann.related<&Developer::tags>().createMany({[] {
    Tag g;
    g.code = "go";
    g.label = "Go";
    return g;
  }()});
  t.ann.related<&Developer::tags>().attach({std::string("cpp")});
  CHECK(test::select(db, "SELECT developer_id, tag_code FROM developer_tag ORDER BY tag_code") ==
        std::vector<test::RawRow>{{ids({t.ann.id})[0], "cpp"}, {ids({t.ann.id})[0], "go"}});
  auto devs = Developer::query(db)
                  .where<&Developer::id>(t.ann.id)
                  .preload<&Developer::tags>([](auto& q) { q.template orderBy<&Tag::code>(); })
                  .all();
  REQUIRE(devs[0].tags.size() == 2);
  CHECK(devs[0].tags[1].label == "Go");
  auto r = t.ann.related<&Developer::tags>().sync({std::string("go")});
  CHECK(r.detached == std::vector<std::string>{"cpp"});
}

TEST_CASE("a self ManyToMany: followers and following through one pivot table, in reads, preloads and subqueries",
          "[many-to-many][self][portable]") {
  Team t;
  t.ann.related<&Developer::following>().attach({t.bob.id, t.cy.id});
  t.bob.related<&Developer::following>().attach({t.cy.id});
  CHECK(names(t.ann.related<&Developer::following>().query().orderBy<&Developer::id>().all()) == std::vector<std::string>{"bob", "cy"});
  CHECK(names(t.cy.related<&Developer::followers>().query().orderBy<&Developer::id>().all()) == std::vector<std::string>{"ann", "bob"});
  auto devs = Developer::query(t.db).orderBy<&Developer::id>().preload<&Developer::followers>().withCount<&Developer::following>().all();
  CHECK(devs[0].followers.empty());
  CHECK(names(devs[2].followers) == std::vector<std::string>{"ann", "bob"});
  CHECK(devs[0].extra<std::int64_t>("following_count") == 2);
  CHECK(devs[2].extra<std::int64_t>("following_count") == 0);
  // Developers followed by someone who follows cy... and by no one.
  auto q = Developer::query(t.db).whereHas<&Developer::followers>([](auto& f) { f.template where<&Developer::name>("ann"); });
  CHECK_THAT(q.toSql(),
             test::Contains(R"(FROM "developers" AS "kith_t1" INNER JOIN "follows" ON "follows"."follower_id" = "kith_t1"."id")"));
  CHECK(names(q.orderBy<&Developer::id>().all()) == std::vector<std::string>{"bob", "cy"});
  CHECK(names(Developer::query(t.db).doesntHave<&Developer::followers>().all()) == std::vector<std::string>{"ann"});
}

TEST_CASE("attach and sync of 10,000 ids are a few statements, not one per id", "[many-to-many][bulk][portable]") {
  Team t;
  std::vector<Skill> many;
  for (int i = 0; i < 10000; ++i) many.push_back(skill("s" + std::to_string(i)));
  many = Skill::createMany(t.db, std::move(many));
  std::vector<std::int64_t> keys;
  for (const auto& s : many) keys.push_back(s.id);
  test::StatementLog log(t.db);
  CHECK(t.ann.related<&Developer::skills>().attach(keys) == 10000);
  CHECK(log.count() <= 4 + 40);  // BEGIN, the lock (PostgreSQL), SELECT, 40 INSERTs of 256 rows and fewer, COMMIT
  CHECK(test::rows(t.db, "developer_skill") == 10000);

  // Keep the first half with new values, drop the rest, add 4 old ones.
  std::vector<std::pair<std::int64_t, DeveloperSkill>> wanted;
  for (std::size_t i = 0; i < 5000; ++i) wanted.emplace_back(keys[i], level(static_cast<std::int64_t>(i % 7)));
  for (std::size_t i = 0; i < 4; ++i) wanted.emplace_back(t.id(i), level(1));
  log.clear();
  auto r = t.ann.related<&Developer::skills>().sync(wanted);
  CHECK(r.attached.size() == 4);
  CHECK(r.detached.size() == 5000);
  CHECK(r.updated.size() == 5000 - 5000 / 7 - 1);
  CHECK(log.count() <= 3 + 40);
  CHECK(test::scalar(t.db, "SELECT sum(proficiency) FROM developer_skill") == std::to_string([&] {
          std::int64_t sum = 4;
          for (std::size_t i = 0; i < 5000; ++i) sum += static_cast<std::int64_t>(i % 7);
          return sum;
        }()));
}

TEST_CASE("update and remove on a ManyToMany's query write the pivot rows it selects, never the related rows",
          "[many-to-many][write][portable]") {
  Team t;
  t.ann.related<&Developer::skills>().attach({{t.id(0), level(5)}, {t.id(1), level(2)}, {t.id(2), level(1)}});
  t.bob.related<&Developer::skills>().attach({{t.id(1), level(2)}});
  test::StatementLog log(t.db);
  CHECK(t.ann.related<&Developer::skills>().query().where<&DeveloperSkill::proficiency>("<", 3).remove() == 2);
  REQUIRE(log.count() == 1);
  CHECK(
      log.entries[0].sql ==
      R"(DELETE FROM "developer_skill" WHERE ("developer_skill"."developer_id", "developer_skill"."skill_id") IN (SELECT "developer_skill"."developer_id", "developer_skill"."skill_id")" +
          std::string(joinPivot) + R"( WHERE ("developer_skill"."proficiency" < ?) AND ("developer_skill"."developer_id" = ?)))");
  CHECK(test::rows(t.db, "skills") == 4);
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "5"}});
  CHECK(t.pivots(t.bob).size() == 1);  // bob's sql, at proficiency 2, stays

  CHECK(t.ann.related<&Developer::skills>().query().where<&Skill::name>("c++").update(kith::set<&DeveloperSkill::proficiency>(7)) == 1);
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "7"}});
  CHECK(t.pivots(t.bob) == std::vector<test::RawRow>{{ids({t.id(1)})[0], "2"}});
  // A column of the related model is not a pivot column: a clear error, nothing written.
  CHECK_THROWS_WITH(t.ann.related<&Developer::skills>().query().update(kith::set<&Skill::name>("x")),
                    test::Contains("update() on a ManyToMany's query sets columns of its pivot rows (developer_skill); name is a column of "
                                   "Skill: update those rows through Skill::query"));
  CHECK(test::scalar(t.db, "SELECT count(*) FROM skills WHERE name = 'x'") == "0");
  // A pivot column on a query that reads no pivot is refused the same way (another model's column
  // does not compile).
  CHECK_THROWS_WITH(
      Skill::query(t.db).update(kith::set<&DeveloperSkill::proficiency>(1)),
      test::Contains("update() sets columns of Skill, the table this query reads; proficiency is a column of DeveloperSkill"));
  // The detaching query of another parent touches only its rows.
  CHECK(t.bob.related<&Developer::skills>().query().remove() == 1);
  CHECK(t.pivots(t.ann).size() == 1);
}

TEST_CASE("pivot timestamps: kith stamps createdAt and updatedAt in UTC on insert, updatedAt on update",
          "[many-to-many][timestamps][portable]") {
  Team t;
  Tag cpp;
  cpp.code = "cpp";
  cpp.label = "C++";
  cpp.save(t.db);
  const auto before = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  auto tags = t.ann.related<&Developer::tags>();
  DeveloperTag given;
  given.level = 1;  // the times given are not the ones written
  tags.attach({{std::string("cpp"), given}});
  const auto stamps = [&] {
    Developer ann = Developer::findOrFail(t.db, t.ann.id);
    ann.load<&Developer::tags>();
    REQUIRE(ann.tags.size() == 1);
    return ann.tags.pivot(0);
  };
  const DeveloperTag first = stamps();
  const auto after = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  CHECK(first.level == 1);
  CHECK(first.createdAt >= before);
  CHECK(first.createdAt <= after);
  CHECK(first.updatedAt == first.createdAt);

  // A sync that changes nothing compares the level only, and stamps nothing.
  test::StatementLog log(t.db);
  CHECK(tags.sync({{std::string("cpp"), given}}).updated.empty());
  CHECK(stamps().updatedAt == first.updatedAt);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  given.level = 2;
  CHECK(tags.sync({{std::string("cpp"), given}}).updated == std::vector<std::string>{"cpp"});
  const DeveloperTag second = stamps();
  CHECK(second.level == 2);
  CHECK(second.createdAt == first.createdAt);
  CHECK(second.updatedAt > first.updatedAt);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(tags.updatePivot(std::string("cpp"), kith::set<&DeveloperTag::level>(3)) == 1);
  const DeveloperTag third = stamps();
  CHECK(third.level == 3);
  CHECK(third.createdAt == first.createdAt);
  CHECK(third.updatedAt > second.updatedAt);
}

TEST_CASE("rows of a ManyToMany's query, and the models its create and save wrote, carry their pivot values as stored",
          "[many-to-many][pivot-of][portable]") {
  Team t;
  auto skills = t.ann.related<&Developer::skills>();
  skills.attach({{t.id(0), level(5, "main")}, {t.id(1), level(2)}});
  t.bob.related<&Developer::skills>().attach({{t.id(0), level(1)}});

  test::StatementLog log(t.db);
  auto rows = skills.query().orderBy<&Skill::id>().all();
  CHECK(log.count() == 1);
  REQUIRE(rows.size() == 2);
  CHECK(kith::pivotOf<&Developer::skills>(rows[0]).proficiency == 5);
  CHECK(kith::pivotOf<&Developer::skills>(rows[0]).note == "main");
  CHECK(kith::pivotOf<&Developer::skills>(rows[1]).proficiency == 2);
  CHECK(kith::pivotOf<&Developer::skills>(rows[1]).note == std::nullopt);
  CHECK(rows[0].extra<std::int64_t>("pivot_developer_id") == t.ann.id);  // the extras under Lucid's names
  CHECK(rows[0].extra<std::int64_t>("pivot_skill_id") == t.id(0));
  // The same skill read through bob carries bob's values; count and update are unchanged by them.
  CHECK(kith::pivotOf<&Developer::skills>(t.bob.related<&Developer::skills>().query().firstOrFail()).proficiency == 1);
  CHECK(skills.query().count() == 2);
  CHECK(skills.query().where<&Skill::name>("sql").update(kith::set<&DeveloperSkill::proficiency>(3)) == 1);
  CHECK(kith::pivotOf<&Developer::skills>(skills.query().where<&Skill::name>("sql").firstOrFail()).proficiency == 3);

  // create: the values given.
  auto zig = t.cy.related<&Developer::skills>().create(skill("zig"), level(3, "new"));
  CHECK(kith::pivotOf<&Developer::skills>(zig).proficiency == 3);
  CHECK(zig.extra<std::int64_t>("pivot_developer_id") == t.cy.id);
  CHECK(zig.extra<std::int64_t>("pivot_skill_id") == zig.id);
  // save of an attached model without values: the stored ones; with values: those.
  Skill cpp = t.skills[0];
  skills.save(cpp);
  CHECK(kith::pivotOf<&Developer::skills>(cpp).proficiency == 5);
  CHECK(kith::pivotOf<&Developer::skills>(cpp).note == "main");
  skills.save(cpp, level(7));
  CHECK(kith::pivotOf<&Developer::skills>(cpp).proficiency == 7);
  CHECK(kith::pivotOf<&Developer::skills>(cpp).note == std::nullopt);
  // One model given twice: both copies carry the values written, the last ones.
  std::vector<Skill> twice{t.skills[2], t.skills[2]};
  skills.saveMany(twice, {level(1), level(4)});
  CHECK(kith::pivotOf<&Developer::skills>(twice[0]).proficiency == 4);
  CHECK(kith::pivotOf<&Developer::skills>(twice[1]).proficiency == 4);
  CHECK(t.pivots(t.ann) == std::vector<test::RawRow>{{ids({t.id(0)})[0], "7"}, {ids({t.id(1)})[0], "3"}, {ids({t.id(2)})[0], "4"}});

  // A loaded list gets the stored values of a model attached before but not loaded (not defaults).
  Developer bob = Developer::findOrFail(t.db, t.bob.id);
  bob.load<&Developer::skills>([](auto& q) { q.template where<&Skill::name>("none"); });
  REQUIRE(bob.skills.isLoaded());
  Skill bobs = t.skills[0];
  bob.related<&Developer::skills>().save(bobs);
  REQUIRE(bob.skills.size() == 1);
  CHECK(bob.skills.pivot(0).proficiency == 1);

  // Rows read otherwise carry none: a clear error. A loaded list gives them as pivot(i).
  const auto carriesNone =
      test::Contains("this Skill carries no pivot values of Developer::skills; rows read through related<&Developer::skills>().query()");
  CHECK_THROWS_WITH(kith::pivotOf<&Developer::skills>(Skill::findOrFail(t.db, t.id(3))), carriesNone);
  Developer ann = Developer::findOrFail(t.db, t.ann.id);
  ann.load<&Developer::skills>();
  CHECK_THROWS_WITH(kith::pivotOf<&Developer::skills>(ann.skills[0]), carriesNone);
}

TEST_CASE("the pivot values create and save hand back hold the times kith stamped, as the next read gives them",
          "[many-to-many][pivot-of][timestamps][portable]") {
  Team t;
  Developer ann = Developer::findOrFail(t.db, t.ann.id);
  ann.load<&Developer::tags>();
  Tag cpp;
  cpp.code = "cpp";
  cpp.label = "C++";
  DeveloperTag given;
  given.level = 2;
  const Tag made = ann.related<&Developer::tags>().create(cpp, given);
  const DeveloperTag carried = kith::pivotOf<&Developer::tags>(made);
  CHECK(carried.level == 2);
  CHECK(carried.createdAt.time_since_epoch().count() != 0);
  CHECK(carried.updatedAt == carried.createdAt);
  REQUIRE(ann.tags.size() == 1);
  Developer again = Developer::findOrFail(t.db, t.ann.id);
  again.load<&Developer::tags>();
  REQUIRE(again.tags.size() == 1);
  const DeveloperTag read = again.tags.pivot(0);
  CHECK(read.createdAt == carried.createdAt);
  CHECK(read.updatedAt == carried.updatedAt);
  CHECK(ann.tags.pivot(0).createdAt == read.createdAt);  // the loaded list too

  // An update keeps createdAt and stamps updatedAt: the model and the loaded list say what the table holds.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  Tag saved = made;
  given.level = 3;
  ann.related<&Developer::tags>().save(saved, given);
  const DeveloperTag updated = kith::pivotOf<&Developer::tags>(saved);
  CHECK(updated.level == 3);
  CHECK(updated.createdAt == carried.createdAt);
  CHECK(updated.updatedAt > carried.updatedAt);
  again.load<&Developer::tags>();
  CHECK(again.tags.pivot(0).updatedAt == updated.updatedAt);
  CHECK(ann.tags.pivot(0).updatedAt == updated.updatedAt);
}
