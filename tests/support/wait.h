// WaitUntil: the tests' one way to wait for something another thread or process does
// (a daemon's reload, a metric, an approval's withdrawal): poll a condition until it holds or
// a deadline passes, instead of sleeping a guessed time. A test that waits this way is as
// fast as the machine allows and fails (rather than hangs) when the thing never happens.
#ifndef INTERLOCK_TESTS_SUPPORT_WAIT_H_
#define INTERLOCK_TESTS_SUPPORT_WAIT_H_

#include <chrono>
#include <thread>

namespace interlock::testing {

// Calls `done()` until it returns true (then returns true) or `deadline` has passed (then
// returns false, after one last call), sleeping `every` between calls. `done` may fill the
// caller's variables so that an assertion after the wait can print what was last seen.
template <typename Condition>
bool WaitUntil(Condition&& done, std::chrono::milliseconds deadline = std::chrono::seconds(10),
               std::chrono::milliseconds every = std::chrono::milliseconds(20)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(every);
  }
  return done();
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_WAIT_H_
