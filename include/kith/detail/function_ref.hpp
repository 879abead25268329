// A non-owning reference to a callable (the standard's std::function_ref comes in C++26).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace kith::detail {

/// A non-owning reference to a callable: typed code behind an untyped call, so that what calls it
/// (key batching, INSERT chunking) is compiled once, not once per model.
template <class Signature>
class FunctionRef;
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef>) FunctionRef(F&& f)
  noexcept
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, Args... args) -> R { return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...); }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace kith::detail
