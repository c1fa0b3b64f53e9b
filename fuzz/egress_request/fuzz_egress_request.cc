// Fuzzes the egress proxy's request parser (src/doors/egress/request.h): arbitrary bytes, cut at
// the first blank line as the proxy's read does, and also as given. A parsed request must
// name a normalised host (one NormalizeHostName leaves unchanged), a port in 1-65535, and
// for the absolute form an origin-form path; the upstream head must be one request with
// exactly one Host line and no CR or LF inside a line. Aborts when an invariant breaks.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "doors/egress/request.h"
#include "policy/egress.h"

namespace interlock::egress {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckHead(std::string_view head) {
  auto r = ParseProxyRequest(head);
  if (!r.ok()) return;
  Check(r->port != 0, "port 0");
  auto again = policy::NormalizeHostName(
      r->host.find(':') != std::string::npos ? "[" + r->host + "]" : r->host);
  Check(again.has_value() && *again == r->host, "host not normalised");
  if (r->connect) return;
  Check(!r->path.empty() && r->path.front() == '/', "path not origin-form");
  const std::string up = UpstreamHead(*r);
  const size_t end = up.find("\r\n\r\n");
  Check(end != std::string::npos && end + 4 == up.size(), "upstream head not one request");
  size_t hosts = 0;
  for (size_t pos = 0; pos < end + 2;) {
    const size_t eol = up.find("\r\n", pos);
    const std::string_view line(up.data() + pos, eol - pos);
    Check(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos,
          "CR or LF inside a line");
    if (line.size() >= 5 && (line.substr(0, 5) == "Host:" || line.substr(0, 5) == "host:")) {
      ++hosts;
    }
    pos = eol + 2;
  }
  Check(hosts == 1, "not exactly one Host line");
}

}  // namespace
}  // namespace interlock::egress

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  interlock::egress::CheckHead(in);
  const size_t end = in.find("\r\n\r\n");
  if (end != std::string_view::npos) interlock::egress::CheckHead(in.substr(0, end + 4));
  return 0;
}
