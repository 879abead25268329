// Header-only (the default) or compiled mode. With KITH_COMPILED_LIB defined (the CMake option of
// the same name defines it for every target that links kith::kith), the model-independent code —
// the SQLite adapter, the query core — is declared in the headers and compiled once, in the kith
// library (src/kith.cpp), instead of in every translation unit: spdlog's SPDLOG_COMPILED_LIB.
// Its definitions live in the *-inl.hpp headers, which the headers include in header-only mode.
#pragma once

#ifdef KITH_COMPILED_LIB
#define KITH_INLINE
#else
#define KITH_INLINE inline
#endif
