// What a column of a C++ type holds in the database (its ColumnKind): what createTables declares
// and what a typed parameter is cast to.
#pragma once

#include <kith/connection.hpp>
#include <kith/types.hpp>

#include <chrono>
#include <optional>
#include <type_traits>

namespace kith::detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsTimePoint : std::false_type {};
template <class Duration>
struct IsTimePoint<std::chrono::sys_time<Duration>> : std::true_type {};

/// What a column of C++ type T (std::optional unwrapped, custom types by their storage) holds.
template <class T>
constexpr ColumnKind columnKind() {
  if constexpr (IsOptional<T>::value)
    return columnKind<typename T::value_type>();
  else if constexpr (UserColumnType<T>)
    return columnKind<typename column_traits<T>::storage>();
  else if constexpr (std::is_same_v<T, bool>)
    return ColumnKind::Boolean;
  else if constexpr (IsTimePoint<T>::value)
    return ColumnKind::Timestamp;
  else
    switch (Codec<T>::type) {
      case SqlType::Integer:
        return ColumnKind::Integer;
      case SqlType::Real:
        return ColumnKind::Real;
      case SqlType::Text:
        return ColumnKind::Text;
      case SqlType::Blob:
        return ColumnKind::Blob;
    }
  return ColumnKind::Blob;
}

}  // namespace kith::detail
