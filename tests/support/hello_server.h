// HelloServer: a plain HTTP/1.1 server on 127.0.0.1, port 0, for egress tests (a
// destination a proxy or sandbox may or may not let through). Every connection's request
// head is read and answered "200 OK" with the body "GREETING PORT", then closed; it counts
// connections and keeps the last request head. Its one thread stops on destruction.
#ifndef INTERLOCK_TESTS_SUPPORT_HELLO_SERVER_H_
#define INTERLOCK_TESTS_SUPPORT_HELLO_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

namespace interlock::testing {

class HelloServer {
 public:
  explicit HelloServer(std::string greeting = "hello");
  ~HelloServer();
  HelloServer(const HelloServer&) = delete;
  HelloServer& operator=(const HelloServer&) = delete;

  uint16_t port() const;
  int connections() const;
  std::string last_head() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_HELLO_SERVER_H_
