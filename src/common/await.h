// AwaitCallback: the one way a synchronous caller waits for an asynchronous operation that
// answers through a callback (Guard::DecideAsync, RunStore::DecideAsync): the operation is
// started with a `done` that fulfils a promise, and the caller blocks on its future.
//
//   GuardResponse r = AwaitCallback<GuardResponse>(
//       [&](auto done) { guard.DecideAsync(agent, principal, run, std::move(call), done); });
//
// `start` must arrange for `done` to be called exactly once, on any thread (a second call
// throws std::future_error; none blocks the caller for ever: every DecideAsync answers, its
// errors included). Do not call it on the thread that must run `done` (a store's writer).
#ifndef INTERLOCK_COMMON_AWAIT_H_
#define INTERLOCK_COMMON_AWAIT_H_

#include <future>
#include <utility>

namespace interlock {

template <typename T, typename Start>
T AwaitCallback(Start&& start) {
  std::promise<T> promise;
  std::future<T> future = promise.get_future();
  std::forward<Start>(start)([&promise](T value) { promise.set_value(std::move(value)); });
  return future.get();
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_AWAIT_H_
