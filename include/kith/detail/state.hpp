// What each model instance knows about its row, allocated per operation rather than per model:
// the states of the rows one query reads or one createMany writes share a few blocks.
#pragma once

#include <kith/connection.hpp>
#include <kith/types.hpp>

#include <array>
#include <atomic>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kith::detail {

/// A set of up to 64 column indices in the smallest unsigned integer that holds them.
template <std::size_t N>
class SmallColumnSet {
  using Word = std::conditional_t<N <= 8, std::uint8_t,
                                  std::conditional_t<N <= 16, std::uint16_t, std::conditional_t<N <= 32, std::uint32_t, std::uint64_t>>>;
  static constexpr Word all = N == 64 ? ~Word{0} : static_cast<Word>((std::uint64_t{1} << N) - 1);
  Word bits_ = 0;

 public:
  void set() noexcept { bits_ = all; }
  void set(std::size_t i) noexcept { bits_ |= static_cast<Word>(Word{1} << i); }
  void reset() noexcept { bits_ = 0; }
  void reset(std::size_t i) noexcept { bits_ &= static_cast<Word>(~(Word{1} << i)); }
  bool operator[](std::size_t i) const noexcept { return (bits_ >> i) & 1u; }
  SmallColumnSet& operator|=(const std::bitset<N>& other) noexcept {
    bits_ |= static_cast<Word>(other.to_ullong());
    return *this;
  }
};

template <std::size_t N>
using ColumnSet = std::conditional_t<N <= 64, SmallColumnSet<N>, std::bitset<N>>;

/// The per-column part of a model's state. Dirty tracking keeps a 64-bit hash of each column's
/// value as last read or written, rather than a copy of the value: 8 bytes per column instead of a
/// second copy of its strings. Trivially copyable, so that a state is copied without knowing N.
template <std::size_t N>
struct ColumnState {
  ColumnSet<N> loaded;  // columns whose values came from the database or were written to it
  ColumnSet<N> marked;  // columns markDirty<...>() asked the next save to write
  std::array<std::uint64_t, N> hashes{};
};

/// What few models need: a connection other than their block's, the transaction of their last
/// UPDATE, values a query computed beyond the columns. Allocated on first use.
struct RareState {
  // Few per model: a vector beats a map.
  using Extras = std::vector<std::pair<std::string, Value>>;
  std::optional<Connection> connection;  // when it differs from the block's
  std::shared_ptr<TxState> updatedIn;    // the transaction of its last UPDATE, if any
  Extras extras;                         // withCount, withAggregate, loadCount; by alias
};

struct ModelState;

/// One allocation holding the states of the models one operation created, and what they share:
/// the connection they came through and the transaction that inserted them. Freed when the last
/// of its models is gone (or copied into a state of its own).
struct StateBlock {
  std::atomic<std::uint32_t> refs{1};  // states handed out, plus one while the operation fills it
  std::uint32_t capacity = 0;
  std::uint32_t used = 0;
  std::uint32_t stride = 0;  // bytes per state: the header, then its ColumnState<N>
  Connection connection;
  std::shared_ptr<TxState> insertedIn;

  static StateBlock* make(std::uint32_t capacity, std::uint32_t stride, const Connection& connection, std::shared_ptr<TxState> tx) {
    void* memory = ::operator new (sizeof(StateBlock) + std::size_t{capacity} * stride);
    auto* block = new (memory) StateBlock();
    block->capacity = capacity;
    block->stride = stride;
    block->connection = connection;
    block->insertedIn = std::move(tx);
    return block;
  }
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      this->~StateBlock();
      ::operator delete(static_cast<void*>(this));
    }
  }
  /// A block holding one state, its storage already handed out (the caller constructs the state
  /// at slot(0)): a model's state of its own, which no operation fills further.
  static StateBlock* single(std::uint32_t stride, const Connection& connection, std::shared_ptr<TxState> tx) {
    StateBlock* block = make(1, stride, connection, std::move(tx));
    block->used = 1;  // its one reference is the state's
    return block;
  }
  /// Storage for the next state; the caller constructs it. Null when the block is full.
  void* take() noexcept {
    if (used == capacity) return nullptr;
    refs.fetch_add(1, std::memory_order_relaxed);
    return slot(used++);
  }
  void* slot(std::uint32_t i) noexcept { return reinterpret_cast<char*>(this + 1) + std::size_t{i} * stride; }
};

/// The state of one model instance, inside a StateBlock and followed by its ColumnState<N>.
struct ModelState {
  StateBlock* block;
  std::unique_ptr<RareState> rare;
  bool persisted = false;
  bool deleted = false;
  bool keyGenerated = false;  // the primary key came from the database
  bool untracked = false;     // read by an untracked query: which columns changed is unknown, writes are refused
  bool light = false;         // untracked, and no ColumnState follows (every column was read)

  explicit ModelState(StateBlock* b) noexcept : block(b) {}
  ModelState(const ModelState&) = delete;
  ModelState& operator=(const ModelState&) = delete;

  /// The ColumnState<N> that follows this header.
  template <std::size_t N>
  ColumnState<N>& columns() noexcept {
    return *std::launder(reinterpret_cast<ColumnState<N>*>(reinterpret_cast<char*>(this) + sizeof(ModelState)));
  }
  template <std::size_t N>
  const ColumnState<N>& columns() const noexcept {
    return *std::launder(reinterpret_cast<const ColumnState<N>*>(reinterpret_cast<const char*>(this) + sizeof(ModelState)));
  }

  const Connection& connection() const noexcept { return rare && rare->connection ? *rare->connection : block->connection; }
  void setConnection(const Connection& c) {
    if (c.sameHandle(block->connection)) {
      if (rare) rare->connection.reset();
    } else {
      rareState().connection = c;
    }
  }
  void setUpdatedIn(std::shared_ptr<TxState> tx) {
    if (tx || rare) rareState().updatedIn = std::move(tx);
  }
  RareState& rareState() {
    if (!rare) rare = std::make_unique<RareState>();
    return *rare;
  }

  /// Persisted, and not by an insert that was later rolled back; or destroyed by a DELETE that
  /// was rolled back.
  bool exists() const noexcept { return (persisted || undoneDelete()) && !(block->insertedIn && block->insertedIn->undone()); }
  /// The last UPDATE or DELETE was rolled back: the row may hold older values than the last save
  /// wrote, or be there again.
  bool stale() const noexcept { return rare && rare->updatedIn && rare->updatedIn->undone(); }
  /// Destroyed, by a DELETE that stands.
  bool isDeleted() const noexcept { return deleted && !stale(); }
  /// A DELETE of its row was rolled back (in a transaction the caller rolled back, or an attempt
  /// that transaction(fn, {.retries}) runs again): the row is there, and the model claims it.
  bool undoneDelete() const noexcept { return deleted && stale(); }
  /// Makes an undone DELETE's model persisted again, before a write decides between INSERT and UPDATE.
  void settle() noexcept {
    if (undoneDelete()) {
      deleted = false;
      persisted = true;
    }
  }

  void setExtra(std::string_view name, Value value) {
    auto& extras = rareState().extras;
    for (auto& [key, v] : extras)
      if (key == name) {
        v = std::move(value);
        return;
      }
    extras.emplace_back(std::string(name), std::move(value));
  }
  const Value* extra(std::string_view name) const noexcept {
    if (rare)
      for (const auto& [key, v] : rare->extras)
        if (key == name) return &v;
    return nullptr;
  }

  /// Ends this state; its block goes when its last state does.
  void release() noexcept {
    StateBlock* b = block;
    this->~ModelState();
    b->release();
  }

  /// A state of its own (a block of one) with the same contents: for a copied model, and for
  /// what a failed write restores.
  ModelState* clone() const {
    StateBlock* b = StateBlock::single(block->stride, connection(), block->insertedIn);
    auto* copy = new (b->slot(0)) ModelState(b);
    copy->persisted = persisted;
    copy->deleted = deleted;
    copy->keyGenerated = keyGenerated;
    copy->untracked = untracked;
    copy->light = light;
    if (rare) {
      copy->rare = std::make_unique<RareState>();
      copy->rare->updatedIn = rare->updatedIn;
      copy->rare->extras = rare->extras;
    }
    std::memcpy(reinterpret_cast<char*>(copy) + sizeof(ModelState), reinterpret_cast<const char*>(this) + sizeof(ModelState),
                block->stride - sizeof(ModelState));
    return copy;
  }
};

/// The bytes of the state of a model read untracked: the header alone, whatever its columns.
inline constexpr std::uint32_t untrackedStride = static_cast<std::uint32_t>(sizeof(ModelState));

/// The bytes of one state of a model with N columns.
template <std::size_t N>
inline constexpr std::uint32_t stateStride = static_cast<std::uint32_t>(sizeof(ModelState) + sizeof(ColumnState<N>));
static_assert(sizeof(ModelState) % alignof(std::uint64_t) == 0 && sizeof(StateBlock) % alignof(std::uint64_t) == 0);

/// The owning handle in each model: copying a model copies its state into a block of its own,
/// moving it moves the pointer.
class StateRef {
 public:
  StateRef() = default;
  StateRef(const StateRef& other) : state_(other.state_ ? other.state_->clone() : nullptr) {}
  StateRef(StateRef&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  StateRef& operator=(const StateRef& other) {
    if (this != &other) reset(other.state_ ? other.state_->clone() : nullptr);
    return *this;
  }
  StateRef& operator=(StateRef&& other) noexcept {
    if (this != &other) reset(std::exchange(other.state_, nullptr));
    return *this;
  }
  ~StateRef() {
    if (state_) state_->release();
  }

  ModelState* get() const noexcept { return state_; }
  ModelState* operator->() const noexcept { return state_; }
  explicit operator bool() const noexcept { return state_ != nullptr; }
  void reset(ModelState* state = nullptr) noexcept {
    if (state_) state_->release();
    state_ = state;
  }

 private:
  ModelState* state_ = nullptr;
};

/// Hands out the states of the models one operation creates, a block at a time: one state for
/// the first row (a find), then blocks growing to 16 KiB (250 states of a 4-column model), so that
/// reading 10,000 rows makes about 45 allocations instead of 10,000. Blocks stay under glibc's
/// 64 KiB "large free", whose fastbin consolidation would cost more than the allocations saved.
class StateArena {
 public:
  StateArena(const Connection& connection, std::uint32_t stride, std::shared_ptr<TxState> tx = nullptr, std::uint32_t first = 1)
      : connection_(connection), tx_(std::move(tx)), stride_(stride), max_(maxStates(stride)), next_(first < max_ ? first : max_) {}
  StateArena(const StateArena&) = delete;
  StateArena& operator=(const StateArena&) = delete;
  ~StateArena() {
    if (block_) block_->release();
  }

  /// Storage for one more state, in the current block or a new one.
  void* take() {
    if (block_)
      if (void* at = block_->take()) return at;
    StateBlock* fresh = StateBlock::make(next_, stride_, connection_, tx_);
    if (block_) block_->release();
    block_ = fresh;
    next_ = next_ < 8 ? 8 : (next_ >= max_ / 4 ? max_ : next_ * 4);
    return block_->take();
  }
  StateBlock* block() const noexcept { return block_; }

  /// The most states one block of `stride`-byte states holds.
  static constexpr std::uint32_t maxStates(std::uint32_t stride) noexcept {
    const std::uint32_t n = (maxBlockBytes - static_cast<std::uint32_t>(sizeof(StateBlock))) / stride;
    return n > 0 ? n : 1;
  }
  static constexpr std::uint32_t maxBlockBytes = 16 * 1024;

 private:
  Connection connection_;
  std::shared_ptr<TxState> tx_;
  StateBlock* block_ = nullptr;
  std::uint32_t stride_;
  std::uint32_t max_;
  std::uint32_t next_;
};

}  // namespace kith::detail
