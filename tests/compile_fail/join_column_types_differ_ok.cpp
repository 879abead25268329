// Twin of join_column_types_differ.cpp: the foreign key against the key compiles, and so does an
// optional column against a plain one of its value type.
#include "join_models.hpp"
void f(const kith::Connection& db) {
  Article::query(db).join<&Article::writerId, &Writer::id>().all();
  Writer::query(db).join<&Writer::id, &Article::writerId>().leftJoin<&Writer::mentorId, &Article::id>();
}
