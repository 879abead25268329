// kith's compiled mode (the CMake option KITH_COMPILED_LIB): the model-independent code, compiled
// once here rather than in every translation unit that includes kith. The headers declare it; the
// *-inl.hpp headers hold its definitions (kith/detail/config.hpp).
#ifndef KITH_COMPILED_LIB
#error "src/kith.cpp is kith's compiled mode: configure with -DKITH_COMPILED_LIB=ON"
#endif

#include <kith/connection-inl.hpp>
#include <kith/detail/query_core-inl.hpp>
#include <kith/sqlite-inl.hpp>
