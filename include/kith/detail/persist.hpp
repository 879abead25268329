// How a model's rows are read, inserted, updated and deleted, and how their states are kept.
#pragma once

#include <kith/connection.hpp>
#include <kith/detail/format.hpp>
#include <kith/detail/function_ref.hpp>
#include <kith/detail/lifecycle.hpp>
#include <kith/detail/meta.hpp>
#include <kith/detail/query_core.hpp>
#include <kith/detail/state.hpp>
#include <kith/detail/std.hpp>
#include <kith/error.hpp>
#include <kith/types.hpp>

#include <array>
#include <bit>
#include <bitset>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kith::detail {

inline std::string describe(const Value& v) {
  switch (v.index()) {
    case 0:
      return "NULL";
    case 1:
      return format("{}", std::get<1>(v));
    case 2:
      return format("{}", std::get<2>(v));
    case 3:
      return format("\"{}\"", std::get<3>(v));
    default:
      return format("<blob of {} bytes>", std::get<4>(v).size());
  }
}

/// The value of a result column as it is stored, for extras.
inline Value readValue(Statement& st, int column) {
  switch (st.kind(column)) {
    case Statement::Kind::Integer:
      return st.integer(column);
    case Statement::Kind::Real:
      return st.real(column);
    case Statement::Kind::Text:
      return std::string(st.text(column));
    case Statement::Kind::Blob: {
      const auto b = st.blob(column);
      return Blob(b.begin(), b.end());
    }
    default:
      return nullptr;
  }
}

/// A one-column row holding one Value, so that an extra is read into any column type through the
/// same Codec that reads columns (converting as SQLite would: a count reads into a double, say).
class ValueRow final : public Statement {
 public:
  explicit ValueRow(const Value& v) : Statement(std::string()), value_(v) {}
  void bindNull(int) override {}
  void bindInteger(int, std::int64_t) override {}
  void bindReal(int, double) override {}
  void bindText(int, std::string_view) override {}
  void bindBlob(int, std::span<const std::byte>) override {}
  bool step() override { return false; }
  Kind kind(int) override { return static_cast<Kind>(value_.index()); }
  bool isNull(int) override { return value_.index() == 0; }
  std::int64_t integer(int) override {
    if (const auto* d = std::get_if<double>(&value_)) return static_cast<std::int64_t>(*d);
    if (const auto* s = std::get_if<std::string>(&value_)) return std::strtoll(s->c_str(), nullptr, 10);
    return value_.index() == 1 ? std::get<1>(value_) : 0;
  }
  double real(int) override {
    if (const auto* i = std::get_if<std::int64_t>(&value_)) return static_cast<double>(*i);
    if (const auto* s = std::get_if<std::string>(&value_)) return std::strtod(s->c_str(), nullptr);
    return value_.index() == 2 ? std::get<2>(value_) : 0.0;
  }
  std::string_view text(int) override {
    if (value_.index() == 1 || value_.index() == 2) return keep(describe(value_));
    if (const auto* s = std::get_if<std::string>(&value_)) return *s;
    if (const auto* b = std::get_if<Blob>(&value_)) return {reinterpret_cast<const char*>(b->data()), b->size()};
    return {};
  }
  std::span<const std::byte> blob(int) override {
    if (const auto* b = std::get_if<Blob>(&value_)) return *b;
    const auto t = text(0);
    return {reinterpret_cast<const std::byte*>(t.data()), t.size()};
  }

 protected:
  void resetStatement() noexcept override {}

 private:
  const Value& value_;
};

/// An extra read as T, through T's Codec.
template <class T>
T readExtra(const Value& v, std::string_view name) {
  using C = Codec<T>;
  if constexpr (!C::nullable) {
    if (v.index() == 0) throw UsageError(format("kith: the extra \"{}\" is NULL (no related rows); read it as a std::optional", name));
  }
  ValueRow row(v);
  T out{};
  C::read(row, 0, out);
  return out;
}

inline std::shared_ptr<TxState> currentTransaction(const Backend& backend) {
  return backend.transactions.empty() ? nullptr : backend.transactions.back();
}

/// The largest power of two not above n (n > 0).
constexpr std::size_t floorPow2(std::size_t n) { return std::bit_floor(n); }

/// Multi-row INSERTs hold at most this many rows; chunks are powers of two, so a model has at most
/// nine INSERT statements per key mode in the cache.
inline constexpr std::size_t maxRowsPerInsert = 256;

/// The rows per INSERT for `rows` rows: at most maxRowsPerInsert, and at most an eighth of them, so
/// that on a connection that has not prepared these statements yet (SQLite parses a 256-row INSERT
/// for longer than it takes to run it) the statements parsed, the chunk and the remainder's powers
/// of two, are small against the rows inserted; never under 8 rows, where a statement's run costs
/// more than its parse.
constexpr std::size_t rowsPerInsert(std::size_t rows) noexcept {
  const std::size_t eighth = rows / 8;
  return floorPow2(eighth < 8 ? 8 : (eighth > maxRowsPerInsert ? maxRowsPerInsert : eighth));
}

/// A model's INSERT statements, built on its first insert: for 1, 2, 4 ... maxRowsPerInsert rows,
/// with and without the key column (the second leaves a generated key out).
struct InsertStatements {
  InsertStatements(const TableInfo& t, bool generatedKey) {
    for (int key = 0; key < 2; ++key) {
      std::string head = "INSERT INTO " + t.table + " (", tuple = "(";
      bool first = true;
      for (std::size_t k = 0; k < t.columns.size(); ++k) {
        if (!key && k == t.primaryKey && generatedKey) continue;
        head += (first ? "" : ", ") + t.columns[k];
        tuple += first ? "?" : ", ?";
        first = false;
      }
      head += ") VALUES ";
      tuple += ")";
      for (std::size_t p = 0; p < byRows[key].size(); ++p) {
        std::string sql = head;
        for (std::size_t r = 0; r < (std::size_t{1} << p); ++r) sql += (r ? ", " : "") + tuple;
        byRows[key][p] = std::move(sql);
      }
    }
    returningKey = byRows[0][0] + " RETURNING " + t.columns[t.primaryKey];
  }

  const std::string& get(bool withKey, std::size_t rows) const {
    return byRows[withKey ? 1 : 0][static_cast<std::size_t>(std::countr_zero(rows))];
  }

  std::array<std::array<std::string, std::bit_width(maxRowsPerInsert)>, 2> byRows;
  std::string returningKey;
};

/// Inserts the rows `group` lists (indices into the caller's rows) with multi-row INSERTs of a
/// power of two rows each, `bindRows(run, rows)` binding the values of each chunk's rows (one call
/// per chunk: the typed loop stays inlined); with their keys when `withKey`, else writing the keys
/// the database generated into `keys`. `lastWrite`: nothing else runs in the transaction before
/// its COMMIT, which may then join the pipeline.
inline void insertChunks(Backend& b, const TableInfo& table, const InsertStatements& statements, bool generatedKey,
                         std::span<const std::size_t> group, bool withKey, std::vector<std::int64_t>& keys,
                         FunctionRef<void(Run&, std::span<const std::size_t>)> bindRows, bool lastWrite = false) {
  if (group.empty()) return;
  const std::size_t limit = static_cast<std::size_t>(std::max(1, b.variableLimit()));
  const std::size_t n = table.columns.size();
  const std::size_t columns = (withKey || !generatedKey) ? n : n - 1;
  if (limit < columns)
    throw UsageError("kith: " + std::string(table.model) + " has more columns than the database allows parameters in one statement");
  std::size_t maxRows = floorPow2(std::min(rowsPerInsert(group.size()), limit / columns));
  // A multi-row INSERT's keys follow from lastInsertId() only when the database hands them out
  // one after the other; otherwise each row goes alone, and its key is read after it.
  if (!withKey && group.size() > 1 && !b.consecutiveKeys(table.rawTable, table.rawColumns[table.primaryKey], group.size())) maxRows = 1;
  std::int64_t expected = 0;  // the key the next chunk's first row must get, once known
  // Rows with their keys need no answer from the database: their chunks go in one pipeline where
  // the adapter has them (PostgreSQL), one round trip instead of one per chunk.
  Pipeline pipeline(b, withKey && group.size() > maxRows);
  for (std::size_t at = 0; at < group.size();) {
    const std::size_t remaining = group.size() - at;
    const std::size_t chunk = remaining >= maxRows ? maxRows : floorPow2(remaining);
    {
      Run run(b, statements.get(withKey, chunk));
      bindRows(run, group.subspan(at, chunk));
      run.send();
    }
    if (!withKey) {
      const std::int64_t last = b.lastInsertId();
      const std::int64_t first = last - static_cast<std::int64_t>(chunk - 1);
      // Chunks must follow each other too: anything else (a trigger inserting into this table)
      // would make the keys computed here wrong, and the write is refused instead.
      if (maxRows > 1 && at > 0 && first != expected)
        throw Error(
            format("kith: the keys SQLite gave the rows inserted into {} are not consecutive (expected {}, got {}); nothing "
                   "was written: insert these rows one by one, or give them their keys",
                   table.rawTable, expected, first));
      for (std::size_t r = 0; r < chunk; ++r) keys[group[at + r]] = first + static_cast<std::int64_t>(r);
      expected = last < std::numeric_limits<std::int64_t>::max() ? last + 1 : last;
    }
    at += chunk;
  }
  if (lastWrite)
    pipeline.finishWithCommit();
  else
    pipeline.finish();
}

/// SQL text built once per model.
template <class M>
struct Sql {
  using Meta = detail::Meta<M>;

  static const TableInfo& info() {
    static const TableInfo t(typeName<M>, Meta::table, Meta::columns, Meta::primaryKey, SoftDeletes<M>::index);
    return t;
  }
  static const std::string& table() { return info().table; }
  static const std::string& column(std::size_t i) { return info().columns[i]; }
  static const std::string& selectList() { return info().selectList; }
  static const std::string& find() { return info().find; }
  static const std::string& findAny() { return info().findAny; }
  static const std::string& remove() { return info().remove; }
  /// INSERT of `rows` rows (a power of two up to maxRowsPerInsert), with or without the key column.
  static const std::string& insert(bool withKey, std::size_t rows) { return inserts().get(withKey, rows); }
  /// A one-row INSERT without the key column that returns the key the database generated.
  static const std::string& insertReturningKey() { return inserts().returningKey; }
  static const InsertStatements& inserts() {
    static const InsertStatements s(info(), generatedKey<M>);
    return s;
  }
};

template <class M>
struct Persist {
  using Meta = detail::Meta<M>;
  static constexpr std::size_t N = Meta::count;
  using Columns = ColumnState<N>;
  static constexpr std::uint32_t stride = stateStride<N>;
  static constexpr auto key = primaryKeyMember<M>;
  using Key = PrimaryKeyType<M>;

  /// A fresh state for M in the storage a block handed out.
  static ModelState* construct(void* at, StateBlock* block) noexcept {
    auto* s = new (at) ModelState(block);
    new (reinterpret_cast<char*>(s) + sizeof(ModelState)) Columns();
    return s;
  }
  /// The next state of an operation's arena.
  static ModelState* fromArena(StateArena& arena) {
    void* at = arena.take();
    return construct(at, arena.block());
  }
  /// A state in a block of its own.
  static ModelState* single(const Connection& connection, std::shared_ptr<TxState> tx = nullptr) {
    StateBlock* block = StateBlock::single(stride, connection, std::move(tx));
    return construct(block->slot(0), block);
  }

  static ModelState& state(M& m) {
    if (!m.state_) m.state_.reset(single(Connection()));
    return *m.state_.get();
  }
  static const ModelState* stateIf(const M& m) noexcept { return m.state_.get(); }
  static Columns& columns(ModelState& s) noexcept { return s.template columns<N>(); }
  static const Columns& columns(const ModelState& s) noexcept { return s.template columns<N>(); }
  /// The model's column states, when its state has them.
  static const Columns* columnsIf(const M& m) noexcept { return m.state_ && !m.state_->light ? &columns(*m.state_.get()) : nullptr; }

  static bool untracked(const M& m) noexcept { return m.state_ && m.state_->untracked; }
  /// What a write of a model read untracked meets, and how to get one that can be written.
  static std::string untrackedMessage(std::string_view action) {
    return format(
        "kith: cannot {} this {}: it was read by an untracked query (untracked()), which keeps no record of the values read, so "
        "kith cannot tell which columns changed; read it without untracked(), or call refresh() to read it again tracked (your "
        "changes to it are then replaced by the row's values)",
        action, typeName<M>);
  }

  static void useConnection(M& m, const Connection& connection) {
    if (m.state_)
      m.state_->setConnection(connection);
    else
      m.state_.reset(single(connection));
  }

  /// Gives `m` the state `s`, keeping the extras of the one it replaces.
  static void replaceState(M& m, ModelState* s) noexcept {
    if (ModelState* old = m.state_.get(); old && old->rare && !old->rare->extras.empty()) {
      s->rare = std::move(old->rare);
      s->rare->connection.reset();
      s->rare->updatedIn.reset();
    }
    m.state_.reset(s);
  }

  static void hashAll(const M& m, Columns& c) {
    Meta::forEach([&]<std::size_t I, auto Member>() { c.hashes[I] = Codec<ColumnType<Member>>::hash(m.*Member); });
  }

  static std::bitset<N> dirtyColumns(const M& m) {
    [[maybe_unused]] CheckModel<M> modelChecked;
    const ModelState* s = stateIf(m);
    std::bitset<N> dirty;
    if (!s || !s->exists() || s->untracked) return dirty.set();  // untracked: every column may have changed
    const Columns& c = columns(*s);
    if (s->stale()) {  // an UPDATE was rolled back: rewrite every column the model knows, never one it did not load
      for (std::size_t i = 0; i < N; ++i) dirty[i] = (c.loaded[i] || c.marked[i]) && i != Meta::primaryKey;
      return dirty;
    }
    Meta::forEach([&]<std::size_t I, auto Member>() {
      dirty[I] = c.marked[I] || c.hashes[I] != Codec<ColumnType<Member>>::hash(m.*Member);
    });
    return dirty;
  }

  /// Columns a save cannot decide about: left out by select<>(), not marked, and still holding
  /// the value they had when the row was read without them — kith cannot tell that value from
  /// one assigned since (`score = 0` on an int that was never loaded).
  static std::bitset<N> undecidedColumns(const ModelState& s, const std::bitset<N>& dirty) {
    std::bitset<N> out;
    for (std::size_t i = 0; i < N; ++i) out[i] = !columns(s).loaded[i] && !dirty[i];
    return out;
  }

  static std::string undecidedMessage(const std::bitset<N>& undecided) {
    std::string names, marks;
    for (std::size_t i = 0; i < N; ++i)
      if (undecided[i]) {
        names += format("{}{}", names.empty() ? "" : ", ", Meta::properties[i]);
        marks += format("{}&{}::{}", marks.empty() ? "" : ", ", typeName<M>, Meta::properties[i]);
      }
    return format(
        "kith: cannot save this {}: it was read with select<>() without {}, which still hold{} the value{} the model had before "
        "the read, and kith cannot tell that from a value you assigned; to write {}, call markDirty<{}>() before save(); to "
        "keep what the database holds, select {} too",
        typeName<M>, names, undecided.count() == 1 ? "s" : "", undecided.count() == 1 ? "" : "s", undecided.count() == 1 ? "it" : "them",
        marks, undecided.count() == 1 ? "it" : "them");
  }

  /// markDirty<...>(): the next save writes these columns, whatever they hold.
  template <auto... Members>
  static void markDirty(M& m) {
    if (untracked(m)) throw UsageError(untrackedMessage("mark columns of"));
    Columns& c = columns(state(m));
    (c.marked.set(Meta::template indexOf<Members>()), ...);
  }

  static std::string nullColumn(std::size_t i) {
    return format("kith: column {}.{} is NULL, but {}::{} is not a std::optional", Meta::table, Meta::columns[i], typeName<M>,
                  Meta::properties[i]);
  }

  /// Reads column I of `m` from result column `column`. `decoding` holds I while the column's
  /// codec runs, so that readInto's one handler names the column a codec failed on (a handler per
  /// column kept these calls from being inlined).
  template <std::size_t I, auto Member>
  static void readColumn(Statement& st, int column, M& m, std::size_t& decoding) {
    using C = Codec<ColumnType<Member>>;
    // A NULL reads as 0 or "" in the basic codecs: ask the database only when the value read is
    // one of those. Other codecs would fail on NULL with a less helpful message: ask first.
    constexpr bool checkAfter = requires(const ColumnType<Member>& v) { C::readsAsNull(v); };
    if constexpr (!C::nullable && !checkAfter) {
      if (st.isNull(column)) throw Error(nullColumn(I));
    }
    decoding = I;
    C::read(st, column, m.*Member);
    decoding = N;
    if constexpr (!C::nullable && checkAfter) {
      if (C::readsAsNull(m.*Member) && st.isNull(column)) throw Error(nullColumn(I));
    }
  }

  /// Fills `m` from the current row, with a new state from `arena`. `selected` lists the model's
  /// column indices in result order; empty means every column in declaration order.
  static void read(Statement& st, std::span<const std::size_t> selected, M& m, StateArena& arena) {
    ModelState* s = fromArena(arena);
    m.state_.reset(s);
    readInto(st, selected, m, *s);
  }

  /// Fills `m` from the current row, into its state `s`.
  static void readInto(Statement& st, std::span<const std::size_t> selected, M& m, ModelState& s) {
    Columns& c = columns(s);
    readValues(st, selected, m, &c);
    hashAll(m, c);
    c.marked.reset();
    s.persisted = true;
    s.deleted = false;
  }

  /// Fills `m` from the current row with an untracked state from `arena`. Every column read: the
  /// header alone (the arena's stride is untrackedStride). Some (select<>()): a whole state, whose
  /// `loaded` says which, so that a key left out is an error rather than a default value.
  static void readUntracked(Statement& st, std::span<const std::size_t> selected, M& m, StateArena& arena) {
    if (!selected.empty()) {
      read(st, selected, m, arena);
      m.state_->untracked = true;
      return;
    }
    void* at = arena.take();  // before block(): taking may start a new block
    readLight(st, m, at, arena.block());
  }

  /// The stride of the states a read makes (its arena's): the header alone where readUntracked
  /// makes light states, an untracked read of every column.
  static std::uint32_t readStride(bool tracked, std::span<const std::size_t> selected) noexcept {
    return tracked || !selected.empty() ? stride : untrackedStride;
  }

  /// Fills `m` from every column of the current row, with a light untracked state built at `at`,
  /// storage of `block`.
  static void readLight(Statement& st, M& m, void* at, StateBlock* block) {
    auto* s = new (at) ModelState(block);
    s->untracked = s->light = true;
    m.state_.reset(s);
    readValues(st, {}, m, nullptr);
    s->persisted = true;
  }

  /// Decodes the current row's columns into `m`; notes which were read in `c` when there is one.
  static void readValues(Statement& st, std::span<const std::size_t> selected, M& m, Columns* c) {
    std::size_t decoding = N;
    try {
      if (selected.empty()) {
        Meta::forEach([&]<std::size_t I, auto Member>() { readColumn<I, Member>(st, static_cast<int>(I), m, decoding); });
        if (c) c->loaded.set();
      } else {
        if (c) c->loaded.reset();
        for (std::size_t column = 0; column < selected.size(); ++column) {
          Meta::visit(
              selected[column], [&]<std::size_t I, auto Member>() { readColumn<I, Member>(st, static_cast<int>(column), m, decoding); });
          if (c) c->loaded.set(selected[column]);
        }
      }
    } catch (const Error& e) {
      if (decoding == N) throw;  // a NULL in a column that cannot hold one: its message says so
      throw Error(format("kith: reading {}.{}: {}", Meta::table, Meta::columns[decoding], e.what()));
    }
  }

  static bool generatesKey(const M& m) {
    if constexpr (generatedKey<M>)
      return m.*key == 0;
    else
      return false;
  }

  /// The connection a model uses when none is passed; a clear error when it has none.
  static Connection connectionOf(const M& m, const char* action) {
    const ModelState* s = stateIf(m);
    if (!s || !s->connection().hasBackend())
      throw UsageError(format("kith: cannot {} this {}: it has no connection; pass one (save(db)), or load the model through a query",
                              action, typeName<M>));
    return s->connection().live();
  }

  /// Marks `m` inserted, with state `s` (a new one: the insert's connection and transaction are its block's).
  static void markInserted(M& m, ModelState* s, bool keyGenerated) {
    replaceState(m, s);
    Columns& c = columns(*s);
    hashAll(m, c);
    c.loaded.set();
    s->persisted = true;
    s->keyGenerated = keyGenerated;
  }

  /// A key the database generated for an insert that was then rolled back is not the row's: forget it.
  static void forgetUndoneKey(M& m) {
    if constexpr (generatedKey<M>) {
      if (const ModelState* s = stateIf(m); s && s->keyGenerated && !s->exists()) m.*key = 0;
    }
  }

  /// Binds a row's columns, the key among them when `withKey`: the model's own, or `reservedKey`.
  template <class R>
  static void bindRow(R& run, int& index, const M& m, bool withKey, const std::int64_t* reservedKey = nullptr) {
    Meta::forEach([&]<std::size_t I, auto Member>() {
      if (I == Meta::primaryKey && !withKey) return;
      if (I == Meta::primaryKey && reservedKey)
        run.bind(++index, *reservedKey);
      else
        run.bind(++index, m.*Member);
    });
  }

  using Life = Lifecycle<M>;

  /// INSERT of a new model, with its hooks and stamps: beforeCreate, beforeSave, the stamps, the
  /// INSERT, afterCreate, afterSave — the INSERT and the after hooks in one transaction (a
  /// savepoint inside one), so that a throwing hook leaves no row.
  template <bool Hooks = true>
  static void insert(M& m, const Connection& connection) {
    if constexpr (Life::any) {
      if constexpr (Hooks) Life::beforeInsert(m, connection);
      Life::stampInsert(m, stampNow());
      if constexpr (Hooks && Life::hooksAfterInsert) {
        connection.transaction([&](Transaction& trx) {
          insertRow(m, trx);
          Life::afterInsert(m, trx);
        });
        return;
      }
    }
    insertRow(m, connection);
  }

  /// UPDATE of what changed, with its hooks and stamps: beforeUpdate, beforeSave, then — when
  /// anything is dirty — the stamp, the UPDATE, afterUpdate, afterSave (a no-op save stamps
  /// nothing and runs no after hook).
  template <bool Hooks = true>
  static void update(M& m, const Connection& connection) {
    if constexpr (Life::any) {
      if constexpr (Hooks) Life::beforeUpdate(m, connection);
      if (dirtyColumns(m).none()) return updateRow(m, connection);  // its checks, and no statement
      Life::stampUpdate(m, stampNow());
      if constexpr (Hooks && Life::hooksAfterUpdate) {
        connection.transaction([&](Transaction& trx) {
          updateRow(m, trx);
          Life::afterUpdate(m, trx);
        });
        return;
      }
    }
    updateRow(m, connection);
  }

  static void insertRow(M& m, const Connection& connection) {
    forgetUndoneKey(m);
    auto& b = connection.backend();
    const bool generated = generatesKey(m);
    if constexpr (generatedKey<M>) {
      if (generated && b.insertReturnsKey()) {
        Run run(b, Sql<M>::insertReturningKey());
        int index = 0;
        bindRow(run, index, m, false);
        if (!run.step()) throw Error("kith: the database returned no key for the row inserted into " + Sql<M>::table());
        const auto returned = static_cast<Key>(run.statement().integer(0));
        run.finish();
        m.*key = returned;
        markInserted(m, single(connection, currentTransaction(b)), true);
        return;
      }
    }
    {
      Run run(b, Sql<M>::insert(!generated, 1));
      int index = 0;
      bindRow(run, index, m, !generated);
      run.finish();
    }
    if constexpr (generatedKey<M>) {
      if (generated) m.*key = static_cast<Key>(b.lastInsertId());
    }
    markInserted(m, single(connection, currentTransaction(b)), generated);
  }

  /// The columns an UPDATE of m writes, after the checks; none: no statement to send.
  static std::bitset<N> updatable(const M& m) {
    const auto dirty = dirtyColumns(m);
    if (const auto undecided = undecidedColumns(*stateIf(m), dirty); undecided.any()) throw UsageError(undecidedMessage(undecided));
    if (dirty.any() && dirty[Meta::primaryKey])
      throw UsageError("kith: the primary key of a saved " + std::string(typeName<M>) +
                       " cannot change; create a new row instead, or update it with a query");
    return dirty;
  }

  /// Sends the UPDATE of m's `dirty` columns: inside a pipeline without waiting for its answer.
  static void sendUpdate(const M& m, Backend& b, const std::bitset<N>& dirty) {
    std::string sql = "UPDATE " + Sql<M>::table() + " SET ";
    bool first = true;
    for (std::size_t i = 0; i < N; ++i)
      if (dirty[i]) {
        sql += (first ? "" : ", ") + Sql<M>::column(i) + " = ?";
        first = false;
      }
    sql += " WHERE " + Sql<M>::column(Meta::primaryKey) + " = ?";
    Run run(b, sql);
    int index = 0;
    Meta::forEach([&]<std::size_t I, auto Member>() {
      if (dirty[I]) run.bind(++index, m.*Member);
    });
    run.bind(++index, m.*key);
    run.send();
  }

  /// An UPDATE that changed no row: the row is gone. `action` names the call for the message.
  static void requireUpdated(const M& m, std::int64_t changed, std::string_view action = "save") {
    if (changed == 0)
      throw NotFound(format("kith: cannot {} {} with {} = {}: its row no longer exists", action, typeName<M>,
                            Meta::properties[Meta::primaryKey], describe(Codec<Key>::toValue(m.*key))));
  }

  /// Records a written UPDATE in m's state: its columns are clean again.
  static void markUpdated(M& m, const std::bitset<N>& dirty, const Connection& connection) {
    ModelState& s = state(m);
    Columns& c = columns(s);
    Meta::forEach([&]<std::size_t I, auto Member>() {
      if (dirty[I]) c.hashes[I] = Codec<ColumnType<Member>>::hash(m.*Member);
    });
    if (s.stale()) hashAll(m, c);
    c.loaded |= dirty;
    c.marked.reset();
    s.setConnection(connection);
    s.setUpdatedIn(currentTransaction(connection.backend()));
  }

  static void updateRow(M& m, const Connection& connection) {
    const auto dirty = updatable(m);
    if (dirty.none()) return;
    auto& b = connection.backend();
    sendUpdate(m, b, dirty);
    requireUpdated(m, b.changes());
    markUpdated(m, dirty, connection);
  }

  /// save() of persisted models, in order. For a model without update hooks, where the adapter has
  /// pipelines (PostgreSQL) and more than one row changed, the UPDATEs go in one pipeline: one
  /// round trip instead of one per row. A row found gone fails the whole as save() does; the
  /// caller, which runs this in a transaction, puts the models back when it throws.
  static void updateMany(std::span<M* const> rows, const Connection& connection) {
    auto& b = connection.backend();
    bool batch = !Life::hooksOnUpdate && rows.size() > 1 && b.pipelines();
    for (std::size_t i = 0; batch && i < rows.size(); ++i) {
      rejectUnwritable(*rows[i]);
      ModelState* s = rows[i]->state_.get();
      if (s) s->settle();
      batch = s && s->exists();
    }
    if (!batch) {
      for (M* row : rows) save(*row, connection);
      return;
    }
    Life::check();
    std::vector<std::bitset<N>> dirty(rows.size());
    std::size_t changing = 0;
    [[maybe_unused]] std::chrono::sys_time<std::chrono::microseconds> now{};
    if constexpr (Life::stamps) now = stampNow();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if constexpr (Life::stamps) {
        if (dirtyColumns(*rows[i]).any()) Life::stampUpdate(*rows[i], now);
      }
      dirty[i] = updatable(*rows[i]);
      changing += dirty[i].any();
    }
    Pipeline pipeline(b, changing > 1);
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (dirty[i].any()) {
        sendUpdate(*rows[i], b, dirty[i]);
        pipeline.counted(b);
      }
    pipeline.finish();
    const auto& changes = pipeline.changes();
    for (std::size_t i = 0, k = 0; i < rows.size(); ++i)
      if (dirty[i].any()) requireUpdated(*rows[i], changes[k++]);
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (dirty[i].any()) markUpdated(*rows[i], dirty[i], connection);
  }

  static void rejectUnwritable(const M& m) {
    if (const ModelState* s = stateIf(m); s && s->isDeleted())
      throw UsageError("kith: cannot save a " + std::string(typeName<M>) + " that was destroyed; create a new one");
    if (untracked(m)) throw UsageError(untrackedMessage("save"));
  }

  /// save(); `Hooks` false: saveQuietly(), the stamps without the hooks.
  template <bool Hooks = true>
  static void save(M& m, const Connection& connection) {
    [[maybe_unused]] CheckModel<M> modelChecked;  // the message when the model's declaration is wrong
    Life::check();                                // the messages for its hooks and timestamps
    rejectUnwritable(m);
    ModelState* s = m.state_.get();
    if (s) s->settle();
    const bool exists = s && s->exists();
    if constexpr (Life::any) {
      // A hook or a stamp changed the model: a failed save puts it back as it was.
      Snapshot before = take(m);
      try {
        exists ? update<Hooks>(m, connection) : insert<Hooks>(m, connection);
      } catch (...) {
        restore(m, std::move(before));
        throw;
      }
    } else {
      exists ? update(m, connection) : insert(m, connection);
    }
  }

  /// Inserts every row with multi-row INSERTs: rows that bring their own key in chunks of their
  /// own, then rows whose key the database generates (their keys follow from last_insert_rowid, or
  /// are reserved before the insert where the adapter does that). Writes no key or
  /// state into the models: the caller does that once the surrounding transaction has committed.
  /// Returns the generated key of each row (unused for the others).
  /// Runs the models' hooks (before the INSERTs: beforeCreate and beforeSave of each row; after:
  /// afterCreate and afterSave of each, which need the rows marked inserted, so insertMany marks
  /// them then) and stamps them, with one time for all.
  static std::vector<std::int64_t> insertMany(std::span<M* const> rows, const Connection& connection) {
    [[maybe_unused]] CheckModel<M> modelChecked;
    Life::check();  // the messages for its hooks and timestamps
    for (const M* row : rows) rejectUnwritable(*row);
    if constexpr (Life::any) {
      const auto now = stampNow();
      for (M* row : rows) {
        Life::beforeInsert(*row, connection);
        Life::stampInsert(*row, now);
      }
    }
    auto& b = connection.backend();
    std::vector<std::int64_t> keys(rows.size(), 0);
    std::vector<std::size_t> generated, explicitKey;
    for (std::size_t i = 0; i < rows.size(); ++i) (generatesKey(*rows[i]) ? generated : explicitKey).push_back(i);
    // Where the database hands out keys before the insert, the generated rows are inserted with them.
    std::vector<std::int64_t> reserved;
    if (generatedKey<M> && !generated.empty()) reserved = b.reserveKeys(Meta::table, Meta::columns[Meta::primaryKey], generated.size());
    for (std::size_t r = 0; r < reserved.size(); ++r) keys[generated[r]] = reserved[r];
    // Without after hooks, nothing follows the last INSERT but the caller's COMMIT.
    auto insertGroup = [&](const std::vector<std::size_t>& group, bool withKey, bool last) {
      const bool useReserved = withKey && &group == &generated;
      insertChunks(
          b, Sql<M>::info(), Sql<M>::inserts(), generatedKey<M>, group, withKey, keys,
          [&](Run& run, std::span<const std::size_t> chunk) {
            int index = 0;
            for (const std::size_t row : chunk) bindRow(run, index, *rows[row], withKey, useReserved ? &keys[row] : nullptr);
          },
          last && !Life::hooksAfterInsert);
    };
    // Explicit keys first, so generated ones follow them as they would row by row.
    insertGroup(explicitKey, true, generated.empty());
    insertGroup(generated, !reserved.empty(), true);
    if constexpr (Life::hooksAfterInsert) {
      markManyInserted(rows, keys, connection, currentTransaction(b));
      for (M* row : rows) Life::afterInsert(*row, connection);
    }
    return keys;
  }

  /// Applies what insertMany returned, once the rows are committed (or inside the caller's transaction).
  static void markManyInserted(std::span<M* const> rows, const std::vector<std::int64_t>& keys, const Connection& connection,
                               const std::shared_ptr<TxState>& tx) {
    // One block for the rows' states (a few for many rows), rather than an allocation per row.
    StateArena arena(connection, stride, tx, static_cast<std::uint32_t>(std::min<std::size_t>(rows.size(), StateArena::maxStates(stride))));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if constexpr (Life::hooksAfterInsert) {
        if (const ModelState* s = stateIf(*rows[i]); s && s->exists()) continue;  // insertMany marked it for its after hooks
      }
      const bool generated = generatesKey(*rows[i]);
      if constexpr (generatedKey<M>) {
        if (generated) rows[i]->*key = static_cast<Key>(keys[i]);
      }
      markInserted(*rows[i], fromArena(arena), generated);
    }
  }

  /// What a failed write must put back: the model's state, its key, and the columns its hooks or
  /// stamps may have changed.
  struct Snapshot {
    StateRef state;
    Key key;
    typename Life::Values values;
  };
  static Snapshot take(const M& m) { return {m.state_, m.*key, Life::Values::take(m)}; }
  static void restore(M& m, Snapshot&& snapshot) {
    m.state_ = std::move(snapshot.state);
    std::move(snapshot.values).put(m);
    m.*key = std::move(snapshot.key);
  }

  /// The row keyed `id`; `Tracked` false: read as Query::untracked() reads; `Trashed`: a row of
  /// a model with soft deletes is found though it is trashed.
  template <bool Tracked = true, bool Trashed = false>
  static std::optional<M> find(const Connection& connection, const Key& id) {
    [[maybe_unused]] CheckModel<M> modelChecked;
    Life::check();
    auto& b = connection.backend();
    Run run(b, Trashed ? Sql<M>::findAny() : Sql<M>::find());
    run.bind(1, id);
    std::optional<M> m;  // every path returns m: the model is built in the caller's storage
    if (!run.step()) return m;
    m.emplace();
    if constexpr (Tracked) {
      m->state_.reset(single(connection));
      readInto(run.statement(), {}, *m, *m->state_.get());
    } else {
      StateBlock* block = StateBlock::single(untrackedStride, connection, nullptr);
      readLight(run.statement(), *m, block->slot(0), block);
    }
    if constexpr (Hook_afterFind<M>::present) {
      run.finish();
      Life::afterFind(*m, connection);
    }
    return m;
  }

  static std::string notFound(const Key& id) {
    return format("kith: no {} with {} = {} in table {}", typeName<M>, Meta::properties[Meta::primaryKey],
                  describe(Codec<Key>::toValue(id)), Meta::table);
  }

  static void refresh(M& m) {
    requireSaved(m, "refresh");
    const Connection connection = connectionOf(m, "refresh");
    auto& b = connection.backend();
    Run run(b, Sql<M>::findAny());  // a trashed row too: refresh() reads what the row holds
    run.bind(1, m.*key);
    if (!run.step()) throw NotFound(notFound(m.*key) + "; it was deleted");
    if (untracked(m)) replaceState(m, single(connection));  // read again, tracked: it can be saved from now on
    ModelState& st = state(m);
    readInto(run.statement(), {}, m, st);
    st.setConnection(connection);
    st.setUpdatedIn(nullptr);
  }

  /// DELETE of the model's row, with its hooks: beforeDelete, the DELETE, afterDelete (the DELETE
  /// and afterDelete in one transaction: a throwing hook leaves the row, and the model persisted).
  /// A model with soft deletes is trashed instead (trash()); `Force`: forceDelete(), the DELETE
  /// whatever the model, with beforeForceDelete and afterForceDelete around the delete hooks.
  template <bool Hooks = true, bool Force = false>
  static void destroy(M& m) {
    Life::check();  // the messages for its hooks and timestamps
    if constexpr (SoftDeletes<M>::enabled && !Force) return trash<Hooks>(m);
    requireSaved(m, Force ? "forceDelete" : "destroy");
    const Connection connection = connectionOf(m, Force ? "forceDelete" : "destroy");
    constexpr bool forceHooks = Force && (Hook_beforeForceDelete<M>::present || Hook_afterForceDelete<M>::present);
    if constexpr (Hooks && (Life::writeHooks || forceHooks)) {
      // A hook that throws leaves the row, and the model as it was: persisted, its columns back.
      Snapshot before = take(m);
      try {
        if constexpr (Force) Hook_beforeForceDelete<M>::call(m, connection);
        Life::beforeDelete(m, connection);
        if constexpr (Life::hooksAfterDelete || (Force && Hook_afterForceDelete<M>::present)) {
          connection.transaction([&](Transaction& trx) {
            deleteRow(m, trx);
            Life::afterDelete(m, trx);
            if constexpr (Force) Hook_afterForceDelete<M>::call(m, trx);
          });
        } else {
          deleteRow(m, connection);
        }
      } catch (...) {
        restore(m, std::move(before));
        ModelState& st = state(m);
        st.persisted = true;
        st.deleted = false;
        throw;
      }
      return;
    }
    deleteRow(m, connection);
  }

  using SoftDelete = SoftDeletes<M>;

  /// destroy() of a model with soft deletes: beforeDelete, an UPDATE that sets its soft-delete
  /// column (and its updatedAt timestamp) to now, afterDelete — the UPDATE and afterDelete in one
  /// transaction. Only those columns are written; others the model changed stay dirty. A failure
  /// puts the model back as it was.
  template <bool Hooks = true>
  static void trash(M& m) {
    if constexpr (SoftDelete::enabled) {
      requireSaved(m, "destroy");
      if (m.*SoftDelete::column)
        throw UsageError(format("kith: this {} is trashed already; forceDelete() deletes its row, restore() brings it back", typeName<M>));
      writeSoftDelete<Hooks && Life::hooksAfterDelete>(
          m, "destroy", [](M& row, auto now) { row.*SoftDelete::column = stampAs<ColumnType<SoftDelete::column>>(now); },
          [](M& row, const Connection& c) {
            if constexpr (Hooks) Life::beforeDelete(row, c);
          },
          [](M& row, const Connection& c) {
            if constexpr (Hooks) Life::afterDelete(row, c);
          });
    }
  }

  /// restore() of a trashed model: beforeRestore, an UPDATE that sets its soft-delete column to
  /// NULL (and stamps updatedAt), afterRestore; as trash() does otherwise.
  static void restoreTrashed(M& m) {
    if constexpr (SoftDelete::enabled) {
      requireSaved(m, "restore");
      if (!(m.*SoftDelete::column))
        throw UsageError(format("kith: this {} is not trashed; restore() brings back a row that destroy() trashed", typeName<M>));
      writeSoftDelete<Hook_afterRestore<M>::present>(
          m, "restore", [](M& row, auto) { row.*SoftDelete::column = std::nullopt; },
          [](M& row, const Connection& c) { Hook_beforeRestore<M>::call(row, c); },
          [](M& row, const Connection& c) { Hook_afterRestore<M>::call(row, c); });
    }
  }

  /// The UsageError of refresh, destroy, forceDelete and restore on a model with no row.
  static void requireSaved(const M& m, const char* action) {
    const ModelState* s = stateIf(m);
    if (!s || !s->exists()) throw UsageError(format("kith: cannot {} a {} that was never saved", action, typeName<M>));
  }

  /// The write of trash() and restoreTrashed(): `before`, `set` (the soft-delete column, given now), the
  /// stamp, the UPDATE of those columns and `after` (in one transaction when `AfterHook`: a
  /// throwing hook leaves the row as it was); on failure every column and the state as they were.
  template <bool AfterHook, class Set, class Before, class After>
  static void writeSoftDelete(M& m, const char* action, Set set, Before before, After after) {
    const Connection connection = connectionOf(m, action);
    Snapshot snapshot = take(m);
    auto values = ColumnValues<M>::take(m);
    try {
      before(m, connection);
      const auto now = stampNow();  // one time for both columns
      set(m, now);
      if constexpr (Life::hasUpdated) Life::stampUpdate(m, now);
      std::bitset<N> written;
      written.set(SoftDelete::index);
      if constexpr (Life::hasUpdated) written.set(Meta::template indexOf<Life::updated>());
      const auto write = [&](const Connection& c) {
        auto& b = c.backend();
        sendUpdate(m, b, written);
        requireUpdated(m, b.changes(), action);
        markWritten(m, written, c);
        after(m, c);
      };
      if constexpr (AfterHook)
        connection.transaction([&](Transaction& trx) { write(trx); });
      else
        write(connection);
    } catch (...) {
      restore(m, std::move(snapshot));
      std::move(values).put(m);
      throw;
    }
  }

  /// Records that `written` columns hold what the row holds, leaving the other columns as they
  /// were (dirty or not); after a rolled-back UPDATE (a stale state) every column stays dirty.
  /// An untracked model keeps no record of its columns: only its connection is set.
  static void markWritten(M& m, const std::bitset<N>& written, const Connection& connection) {
    ModelState& s = state(m);
    s.setConnection(connection);
    if (s.untracked) return;
    Columns& c = columns(s);
    Meta::forEach([&]<std::size_t I, auto Member>() {
      if (written[I]) {
        c.hashes[I] = Codec<ColumnType<Member>>::hash(m.*Member);
        c.marked.reset(I);
      }
    });
    c.loaded |= written;
    if (!s.stale()) s.setUpdatedIn(currentTransaction(connection.backend()));
  }

  static void deleteRow(M& m, const Connection& connection) {
    {
      Run run(connection.backend(), Sql<M>::remove());
      run.bind(1, m.*key);
      run.finish();
    }
    ModelState& st = state(m);
    st.persisted = false;
    st.deleted = true;
    st.setUpdatedIn(currentTransaction(connection.backend()));  // rolled back: the row, and the model's claim to it, are back
  }
};

}  // namespace kith::detail
