// SetThreadName: names the calling thread for `top -H`, `ps -L`, perf and gdb.
//
// Linux keeps 15 bytes of a thread's name; longer names are cut. Best effort: a name
// that cannot be set changes nothing else.
#ifndef INTERLOCK_COMMON_THREAD_NAME_H_
#define INTERLOCK_COMMON_THREAD_NAME_H_

#include <pthread.h>

#include <string>
#include <string_view>

namespace interlock {

inline void SetThreadName(std::string_view name) {
  std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_THREAD_NAME_H_
