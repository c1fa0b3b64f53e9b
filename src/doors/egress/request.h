// The egress proxy's request parser: the head of one HTTP/1.x request sent to a forward
// proxy, either a CONNECT tunnel ("CONNECT host:port HTTP/1.1") or an absolute-form
// request ("GET http://host:port/path HTTP/1.1").
//
// Pure and bounded: it reads only the bytes given (the head, up to and including the
// blank line), allocates in proportion to them, and never throws. Anything it does not
// understand is an error (the proxy answers 400), never a guess. https:// targets in
// absolute form are refused: a client speaks TLS through CONNECT; the proxy never
// originates TLS and never intercepts it. Thread-safety: reentrant.
#ifndef INTERLOCK_DOORS_EGRESS_REQUEST_H_
#define INTERLOCK_DOORS_EGRESS_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interlock/result.h"

namespace interlock::egress {

inline constexpr size_t kMaxHeadBytes = 16 * 1024;  // request line and headers
inline constexpr size_t kMaxHeaders = 100;

struct ProxyRequest {
  bool connect = false;  // CONNECT tunnel; else an absolute-form request
  std::string method;    // "CONNECT", "GET", ...
  std::string host;      // normalised (NormalizeHostName): lower-case name or IP
  uint16_t port = 0;
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  // Absolute form: the origin-form target to send upstream ("/path?query", at least "/").
  std::string path;
  // Headers in order, as received (names as written); CONNECT: ignored.
  std::vector<std::pair<std::string, std::string>> headers;
  // Absolute form: the body's length (Content-Length, else 0). Exactly this many bytes
  // after the head go upstream: whatever follows (a pipelined second request, perhaps for
  // another Host behind the same address) never does.
  uint64_t body_length = 0;
};

// Parses `head` (ending in "\r\n\r\n", at most kMaxHeadBytes). kInvalidArgument with a
// one-line reason for anything else.
Result<ProxyRequest> ParseProxyRequest(std::string_view head);

// The head to send upstream for an absolute-form request: the origin-form request line,
// Host set to the URL's authority (the client's Host header is dropped), the client's
// other headers without hop-by-hop and Proxy-* ones, and "Connection: close" (one request
// per connection).
std::string UpstreamHead(const ProxyRequest& r);

}  // namespace interlock::egress

#endif  // INTERLOCK_DOORS_EGRESS_REQUEST_H_
