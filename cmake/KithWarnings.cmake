# Warnings as errors for kith's own tests, examples and benchmarks; never set for consumers.
add_library(kith_warnings INTERFACE)
target_compile_options(kith_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 warns about every member a designated initializer leaves out (User{.email = ...}),
  # including the BaseModel base; Clang and GCC 13+ do not.
  target_compile_options(kith_warnings INTERFACE -Wno-missing-field-initializers)
endif()
