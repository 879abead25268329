// The client of the relations whose foreign key is on the related model (HasMany, HasOne):
// writes that save the parent first, force the foreign key and leave nothing behind on failure,
// and the find-or-create engine.
#pragma once

#include <kith/detail/std.hpp>
#include <kith/relations/core.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kith::detail {

/// `user.related<&User::posts>()`: reads and writes of one parent's related rows. Every write runs
/// in one transaction (a savepoint inside the parent's or the given transaction), saves the parent
/// first when it is new or dirty, forces the foreign key from the parent, and on failure leaves no
/// row behind and every object as it was. HasOne's client offers part of it.
template <class Parent, auto Relation>
class ChildrenClient : public ClientBase<Parent, Relation> {
  using Base = ClientBase<Parent, Relation>;
  using Base::connection_;
  using Base::connectionFor;
  using Base::parent_;
  using typename Base::Info;

 public:
  using Base::Base;
  using typename Base::Key;
  using typename Base::Related;
  static constexpr bool many = Info::cardinality == Cardinality::Many;

  /// A query on the related table constrained to this parent, in its own AND group.
  Query<Related> query() const {
    Connection connection = connectionFor("select");  // first: the more basic of the two errors
    return scoped(std::move(connection), Info::parentKey(parent_, "select"));
  }

  /// Inserts one related row and returns it persisted.
  Related create(Related values) {
    std::vector<Related> one;
    one.push_back(std::move(values));
    return std::move(createMany(std::move(one)).front());
  }

  /// Inserts the rows with multi-row INSERTs; returns them persisted, in input order, with ids.
  std::vector<Related> createMany(std::vector<Related> rows) {
    if (rows.empty()) return rows;
    std::vector<Related*> pointers;
    for (auto& row : rows) pointers.push_back(&row);
    insertAll(pointers, [&](Transaction&, const Key& key) {
      for (Related* row : pointers) Info::setForeignKey(*row, key);
    });
    appendLoaded(rows);
    return rows;
  }

  /// Inserts (new) or updates (persisted: moving it to this parent) one related model, in place.
  void save(Related& child) { saveMany(std::span<Related>(&child, 1)); }

  /// save() for each model of a range, in place: new ones with multi-row INSERTs, persisted ones
  /// with an UPDATE of what changed.
  template <ValueRange R>
  requires std::is_same_v<std::remove_cvref_t<decltype(*std::begin(std::declval<R&>()))>, Related>
  void saveMany(R&& children) {
    std::vector<Related*> all;
    for (auto& child : children) all.push_back(&child);
    if (all.empty()) return;
    std::vector<typename Persist<Related>::Snapshot> before;
    std::vector<typename Info::ForeignValues> foreignBefore;
    for (Related* child : all) {
      before.push_back(Persist<Related>::take(*child));
      foreignBefore.push_back(Info::takeForeign(*child));
    }
    std::vector<Related*> fresh;
    try {
      insertAll(fresh, [&](Transaction& trx, const Key& key) {
        std::vector<Related*> persisted;
        for (Related* child : all) {
          Info::setForeignKey(*child, key);
          if (child->isPersisted()) {
            Info::markForeignKey(*child);
            persisted.push_back(child);
          } else {
            fresh.push_back(child);
          }
        }
        Persist<Related>::updateMany(persisted, trx);
      });
    } catch (...) {
      for (std::size_t i = 0; i < all.size(); ++i) {
        Persist<Related>::restore(*all[i], std::move(before[i]));
        Info::putForeign(*all[i], std::move(foreignBefore[i]));
      }
      throw;
    }
    if (auto& relation = parent_.*Relation; relation.isLoaded()) {
      if constexpr (many)
        mergeLoaded(RelationAccess::value(relation), all);
      else
        RelationAccess::value(relation) = *all.back();
    }
  }

  /// The related row matching `payload` on the `Search` columns (and the foreign key), untouched;
  /// or `payload` inserted when there is none.
  template <auto... Search>
  Related firstOrCreate(Related payload) {
    return findOrWrite<false, Search...>(std::move(payload));
  }

  /// As firstOrCreate, but a match gets the payload's other columns and is saved (dirty columns only).
  template <auto... Search>
  Related updateOrCreate(Related payload) {
    return findOrWrite<true, Search...>(std::move(payload));
  }

  /// For each row, the related row matching it on the `Search` columns (and the foreign key), or the
  /// row inserted; one SELECT for all of them, then multi-row INSERTs. Results in payload order;
  /// rows repeated in the payload map to the same row.
  template <auto... Search>
  std::vector<Related> fetchOrCreateMany(std::vector<Related> rows) {
    return retryingRace([&](std::size_t& matched) { return manyOrCreate<false, Search...>(rows, matched, "fetchOrCreateMany"); });
  }

  /// As fetchOrCreateMany, but matches get the row's other columns and are saved.
  template <auto... Search>
  std::vector<Related> updateOrCreateMany(std::vector<Related> rows) {
    return retryingRace([&](std::size_t& matched) { return manyOrCreate<true, Search...>(rows, matched, "updateOrCreateMany"); });
  }

 private:
  static Query<Related> scoped(Connection connection, const Key& key) {
    Query<Related> q(std::move(connection));
    Info::scopeTo(q, key);
    return q;
  }

  /// Runs `body(trx, parentKey)` in one transaction after saving the parent; puts the parent back as
  /// it was when anything fails. Returns the connection the write went through.
  template <class Body>
  Connection write(Body&& body) {
    const Connection connection = connectionFor("persist");
    auto before = Persist<Parent>::take(parent_);
    try {
      connection.transaction([&](Transaction& trx) {
        if (!parent_.isPersisted() || parent_.isDirty()) Persist<Parent>::save(parent_, trx);
        body(trx, Info::parentKey(parent_, "persist"));
      });
    } catch (...) {
      Persist<Parent>::restore(parent_, std::move(before));
      throw;
    }
    return connection;
  }

  /// write() that runs `prepare(trx, parentKey)`, which sets the foreign key of the rows in `fresh`
  /// (and may add rows to it), then inserts `fresh` with multi-row INSERTs, marking the rows
  /// persisted only once the transaction has committed.
  template <class Prepare>
  void insertAll(std::vector<Related*>& fresh, Prepare&& prepare) {
    std::vector<std::int64_t> generated;
    std::shared_ptr<TxState> tx;
    const Connection connection = write([&](Transaction& trx, const Key& key) {
      prepare(trx, key);
      for (Related* row : fresh) Persist<Related>::forgetUndoneKey(*row);
      generated = Persist<Related>::insertMany(fresh, trx);
      tx = trx.transactionState();
    });
    Persist<Related>::markManyInserted(fresh, generated, connection, tx);
  }

  /// Puts saved children into an already loaded list: over the item with the same key, or at the
  /// end. Linear in the list and the children (a hash of the keys), not their product.
  static void mergeLoaded(std::vector<Related>& items, const std::vector<Related*>& children) {
    using RowKey = PrimaryKeyType<Related>;
    constexpr auto key = Persist<Related>::key;
    if constexpr (requires(const RowKey& k) { std::hash<RowKey>{}(k); }) {
      std::unordered_map<RowKey, std::size_t> at;
      at.reserve(items.size() + children.size());
      for (std::size_t i = 0; i < items.size(); ++i) at.try_emplace(items[i].*key, i);
      for (Related* child : children) {
        if (auto [it, added] = at.try_emplace((*child).*key, items.size()); added)
          items.push_back(*child);
        else
          items[it->second] = *child;
      }
    } else {
      for (Related* child : children) {
        const auto sameRow = [&](const Related& item) { return item.*key == (*child).*key; };
        if (auto it = std::find_if(items.begin(), items.end(), sameRow); it != items.end())
          *it = *child;
        else
          items.push_back(*child);
      }
    }
  }

  /// Keeps a loaded relation in step with rows just written: appended to a list, or the one row.
  void appendLoaded(const std::vector<Related>& rows) {
    if (auto& relation = parent_.*Relation; relation.isLoaded() && !rows.empty()) {
      auto& value = RelationAccess::value(relation);
      if constexpr (many)
        value.insert(value.end(), rows.begin(), rows.end());
      else
        value = rows.back();
    }
  }

  template <auto... Search>
  static constexpr bool checkSearch() {
    static_assert(!many || sizeof...(Search) > 0, "kith: name the columns that identify a row: firstOrCreate<&Post::title>(...)");
    return (requireColumn<Related, Search>() && ...);
  }

  template <auto... Search>
  static std::string signature(const Related& row) {
    std::string out;
    (appendSignature(out, Codec<ColumnType<Search>>::toValue(row.*Search)), ...);
    return out;
  }

  static void copyValues(Related& target, const Related& source) {
    Meta<Related>::forEach([&]<std::size_t I, auto Member>() {
      if constexpr (I != Meta<Related>::primaryKey && !Info::isKeyColumn(I)) target.*Member = source.*Member;
    });
  }

  /// Serializes this call with every other find-or-create on this parent's related rows, until the
  /// transaction ends (PostgreSQL; SQLite's write transaction already does).
  static void lockForCreate(Transaction& trx, const Key& key) {
    trx.backend().lockKey(createLockKey(Meta<Related>::table, Info::foreignColumn(), Codec<Key>::toValue(key)));
  }

  /// Runs a find-or-create, `attempt(matched)`, which sets `matched` to the number of rows its
  /// lookup found. When its INSERT meets a unique violation on a database whose writers do not
  /// exclude each other, a writer that does not take kith's lock (a plain create, another program)
  /// may have inserted a row after the lookup: the write was rolled back, and the next attempt
  /// finds that row. Attempts go on while each finds more rows than the one before; a violation
  /// that does not come from such a race reaches the caller after one more attempt.
  template <class Attempt>
  auto retryingRace(Attempt&& attempt) {
    std::size_t matched = 0, before = 0;
    for (bool retried = false;; retried = true) {
      try {
        return attempt(matched);
      } catch (const UniqueViolation&) {
        const auto* backend = connectionFor("persist").usableBackend();
        if (!backend || backend->writersExclusive() || (retried && matched <= before)) throw;
        before = matched;
      }
    }
  }

  template <bool Update, auto... Search>
  Related findOrWrite(Related payload) {
    return retryingRace([&](std::size_t& matched) { return findOrWriteOnce<Update, Search...>(payload, matched); });
  }

  template <bool Update, auto... Search>
  Related findOrWriteOnce(Related& payload, std::size_t& matched) {
    static_assert(checkSearch<Search...>());
    std::optional<Related> found;
    write([&](Transaction& trx, const Key& key) {
      lockForCreate(trx, key);
      auto q = scoped(trx, key);
      (q.template where<Search>(payload.*Search), ...);
      if constexpr (!many) q.template orderBy<primaryKeyMember<Related>>();  // HasOne: the row preload would pick
      found = q.first();
      matched = found ? 1 : 0;
      if (found) {
        if constexpr (Update) {
          copyValues(*found, payload);
          Persist<Related>::save(*found, trx);
        }
      } else {
        Info::setForeignKey(payload, key);
        Persist<Related>::forgetUndoneKey(payload);
        Persist<Related>::insert(payload, trx);
      }
    });
    if (found) {
      if constexpr (!many) appendLoaded(std::vector<Related>{*found});  // a loaded HasOne holds the row as it now is
      return std::move(*found);
    }
    std::vector<Related> created{payload};
    appendLoaded(created);
    return std::move(payload);
  }

  template <bool Update, auto... Search>
  std::vector<Related> manyOrCreate(std::vector<Related>& rows, std::size_t& matched, std::string_view method) {
    static_assert(checkSearch<Search...>());
    if (rows.empty()) return {};
    for (const auto& row : rows) {
      const auto missing = [&]<auto Member>() {
        if constexpr (Codec<ColumnType<Member>>::nullable) {
          if (!(row.*Member))
            throw UsageError(
                detail::format("kith: value for the \"{}\" is null or undefined inside \"{}\" payload", memberName<Member>, method));
        }
      };
      (missing.template operator()<Search>(), ...);
    }
    std::vector<Related> result(rows.size());
    std::vector<std::size_t> sourceOf(rows.size());  // for repeated payload rows: the first one
    std::vector<Related*> fresh;
    std::vector<std::size_t> freshIndex;
    insertAll(fresh, [&](Transaction& trx, const Key& key) {
      lockForCreate(trx, key);
      std::unordered_map<std::string, std::size_t> existing;
      std::vector<Related> found;
      // One SELECT for the whole payload, chunked only past the host-parameter limit.
      const auto limit = static_cast<std::size_t>(std::max(1, trx.backend().variableLimit()));
      const std::size_t perChunk = std::max<std::size_t>(1, (limit - 1) / sizeof...(Search));
      for (std::size_t at = 0; at < rows.size(); at += perChunk) {
        auto q = scoped(trx, key);
        const std::size_t end = std::min(rows.size(), at + perChunk);
        const auto addIn = [&]<auto Member>() {
          std::vector<ColumnType<Member>> values;
          for (std::size_t i = at; i < end; ++i) values.push_back(rows[i].*Member);
          q.template whereIn<Member>(values);
        };
        (addIn.template operator()<Search>(), ...);
        for (auto& row : q.all()) {
          auto sig = signature<Search...>(row);
          if (existing.try_emplace(std::move(sig), found.size()).second) found.push_back(std::move(row));
        }
      }
      matched = found.size();
      // Payload rows that repeat a key apply in order, the last one winning, whether the row
      // existed (one UPDATE with the final values) or is new (one INSERT with them): a second
      // identical call then changes nothing.
      std::unordered_map<std::string, std::size_t> firstInPayload;
      std::vector<std::pair<std::size_t, std::size_t>> pairs;  // (payload row, the found row it matches)
      std::vector<bool> touched(found.size(), false);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        auto sig = signature<Search...>(rows[i]);
        if (auto it = existing.find(sig); it != existing.end()) {
          if constexpr (Update) {
            copyValues(found[it->second], rows[i]);
            touched[it->second] = true;
          }
          pairs.emplace_back(i, it->second);
          sourceOf[i] = i;
        } else if (auto first = firstInPayload.find(sig); first != firstInPayload.end()) {
          sourceOf[i] = first->second;
          if constexpr (Update) copyValues(rows[first->second], rows[i]);
        } else {
          firstInPayload.emplace(std::move(sig), i);
          sourceOf[i] = i;
          Info::setForeignKey(rows[i], key);
          fresh.push_back(&rows[i]);
          freshIndex.push_back(i);
        }
      }
      if constexpr (Update) {
        for (std::size_t f = 0; f < found.size(); ++f)
          if (touched[f]) Persist<Related>::save(found[f], trx);
      }
      // Payload rows that repeat a match all get the row as saved.
      for (const auto& [row, match] : pairs) result[row] = found[match];
    });
    std::vector<Related> created;
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      result[freshIndex[k]] = std::move(*fresh[k]);
      created.push_back(result[freshIndex[k]]);
    }
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (sourceOf[i] != i) result[i] = result[sourceOf[i]];
    appendLoaded(created);
    return result;
  }
};

}  // namespace kith::detail
