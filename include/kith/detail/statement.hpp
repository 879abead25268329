// The interface an adapter's prepared statement implements; the core talks to databases only
// through it and through detail::Backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kith::detail {

/// One prepared statement. Parameters are 1-based, result columns 0-based. Text and blob
/// arguments must stay alive until reset(): adapters bind them without copying.
class Statement {
 public:
  explicit Statement(std::string sql) : sql_(std::move(sql)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  virtual ~Statement() = default;

  virtual void bindNull(int index) = 0;
  virtual void bindInteger(int index, std::int64_t value) = 0;
  virtual void bindReal(int index, double value) = 0;
  virtual void bindText(int index, std::string_view value) = 0;
  virtual void bindBlob(int index, std::span<const std::byte> value) = 0;

  /// Runs to the next row: true when a row is available, false when done. Throws DatabaseError.
  virtual bool step() = 0;
  /// Runs a statement whose answer is not read: inside a pipeline (Backend::beginPipeline) the
  /// adapter may send it without waiting and return true; otherwise it runs it through.
  virtual bool send() {
    while (step()) {
    }
    return false;
  }
  /// Sends a statement whose rows step() reads later: inside a pipeline the adapter may send it
  /// now and return true, its answer read in the order the pipeline's statements were sent;
  /// otherwise it returns false, and step() runs it.
  virtual bool sendAhead() { return false; }
  /// Makes the statement ready to run again, clears its bindings and what they kept alive.
  void reset() noexcept {
    resetStatement();
    if (!texts_.empty()) texts_.clear();  // clear() costs even when empty, on every run
    if (!blobs_.empty()) blobs_.clear();
  }

  /// Keeps a converted argument alive until reset(), for binding without a copy.
  std::string_view keep(std::string text) { return texts_.emplace_back(std::move(text)); }
  std::span<const std::byte> keep(std::vector<std::byte> blob) { return blobs_.emplace_back(std::move(blob)); }

  /// The storage class of a result column in the current row.
  enum class Kind { Null, Integer, Real, Text, Blob };
  virtual Kind kind(int column) = 0;
  virtual bool isNull(int column) = 0;
  virtual std::int64_t integer(int column) = 0;
  virtual double real(int column) = 0;
  virtual std::string_view text(int column) = 0;
  virtual std::span<const std::byte> blob(int column) = 0;

  const std::string& sql() const noexcept { return sql_; }

  bool inUse = false;

 protected:
  virtual void resetStatement() noexcept = 0;

 private:
  std::string sql_;
  std::deque<std::string> texts_;
  std::deque<std::vector<std::byte>> blobs_;
};

}  // namespace kith::detail
