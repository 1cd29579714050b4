// A callable passed down a call, not kept: what the pure classes take for
// the questions their caller answers (SenderCheck's start time and process
// walk, ConnectionBudget's still_open, NotifyOutbox's send), so that their
// bodies live in a .cpp file and not in every header that includes them.
//
// Contract: refers to the callable it was made from, owns nothing and never
// allocates. It is valid while that callable lives: take it as a parameter,
// call it within the call, never store it (a temporary lambda passed as an
// argument lives until the end of the full expression, so that is enough).
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace hbmon {

template <typename Signature> class FunctionRef;

template <typename R, typename... Args> class FunctionRef<R(Args...)> {
  // A callable object (not another FunctionRef: that one is copied).
  template <typename F>
  static constexpr bool callable = !std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
                                   std::is_object_v<std::remove_reference_t<F>> &&
                                   std::is_invocable_r_v<R, std::remove_reference_t<F> &, Args...>;

public:
  template <typename F, std::enable_if_t<callable<F>, int> = 0>
  FunctionRef(F &&f) noexcept // implicit, as std::function's
      : object_(const_cast<void *>(static_cast<const void *>(std::addressof(f)))),
        call_([](void *object, Args... args) -> R {
          return std::invoke(*static_cast<std::remove_reference_t<F> *>(object),
                             std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

private:
  void *object_;
  R (*call_)(void *, Args...);
};

} // namespace hbmon
