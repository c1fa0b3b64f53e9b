// A listening TCP socket on 127.0.0.1 for the in-process fake servers of the tests
// (hermetic: loopback only, a port the kernel chose), and a port where nothing listens.
#ifndef INTERLOCK_TESTS_SUPPORT_LOOPBACK_H_
#define INTERLOCK_TESTS_SUPPORT_LOOPBACK_H_

namespace interlock::testing {

// The listening socket's fd (the caller closes it) with *port set to the port the kernel
// gave it, or -1 (and *port 0) when it cannot be made.
int ListenOnLoopback(int* port, int backlog = 16);

// A loopback port nothing listens on (bound, then closed): a peer that is down.
int ClosedPort();

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_LOOPBACK_H_
