// kith's messages, formatted by fmt at run time.
#pragma once

#include <fmt/core.h>

#include <string>
#include <string_view>

namespace kith::detail {

/// fmt::format without the compile-time check of the format string: that check costs about 0.2 s
/// of compile time per call site, in every translation unit, and kith's tests pin every message.
template <class... Args>
std::string format(std::string_view text, const Args&... args) {
  return fmt::vformat(text, fmt::make_format_args(args...));
}

}  // namespace kith::detail
