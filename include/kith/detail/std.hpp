// The parts of <chrono>, <functional> and <algorithm> kith uses, without the rest of those headers.
// In C++20, libstdc++'s <chrono> brings in iostreams and the time-zone database, its <functional>
// the searchers with <unordered_map>, its <algorithm> every ranges:: algorithm: together about
// 25 MiB of compiler memory and a few tenths of a second in every translation unit that includes
// kith. Its internal headers hold exactly the clocks, durations, time points, std::function, hashes
// and classic algorithms used here; other standard libraries get the full headers. Calendar
// arithmetic (days to year-month-day and back) is kith's own (types.hpp).
#pragma once

#include <string_view>  // defines __GLIBCXX__ when the standard library is libstdc++

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>) && __has_include(<bits/std_function.h>) && \
    __has_include(<bits/stl_algo.h>) && __has_include(<bits/functional_hash.h>)
#include <bits/chrono.h>
#include <bits/functional_hash.h>
#include <bits/std_function.h>
#include <bits/stl_algo.h>
#include <bits/stl_algobase.h>
#else
#include <algorithm>
#include <chrono>
#include <functional>
#endif
