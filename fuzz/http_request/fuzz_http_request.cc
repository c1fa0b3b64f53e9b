// Fuzzes what the daemon does with request bytes before any handler runs: Beast's request
// parser under the server's limits (8 KiB of headers, 1 MiB of body), fed in two pieces as
// a socket would, then RequestFramingError (Transfer-Encoding smuggling) and the API's
// routing and query parsing (DescribeRoute) on each complete request; the raw bytes are
// also routed as a target directly, and each query-less target once more through
// Boost.URL (the router's plain path against the parser). Aborts when an invariant breaks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "doors/http_api/api.h"
#include "doors/http_api/http_server.h"

namespace interlock::server {
namespace {

namespace http = boost::beast::http;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckRoute(std::string_view target) {
  const RouteInfo a = DescribeRoute(target);
  const RouteInfo b = DescribeRoute(target);
  Check(a.route == b.route && a.id == b.id && a.bad_id == b.bad_id && a.bad_query == b.bad_query,
        "routing is deterministic");
  Check(a.id.size() <= target.size(), "an id is part of the target");
  // Differential: a target without a query may be routed without the URL parser (plain
  // segments); the same path with an empty query always goes through Boost.URL. Both must
  // give the same route, id and id check.
  if (target.find_first_of("?#") == std::string_view::npos) {
    const RouteInfo parsed = DescribeRoute(std::string(target) + "?");
    Check(a.route == parsed.route && a.id == parsed.id && a.bad_id == parsed.bad_id,
          "the plain router agrees with the URL parser");
  }
}

// Parses every request in `bytes` (pipelined), split at `split` like two socket reads.
void ParseRequests(std::string_view bytes, size_t split) {
  boost::beast::flat_buffer buffer;
  size_t fed = 0;
  auto feed = [&](size_t upto) {
    upto = std::min(upto, bytes.size());
    if (upto <= fed) return;
    auto dst = buffer.prepare(upto - fed);
    std::memcpy(dst.data(), bytes.data() + fed, upto - fed);
    buffer.commit(upto - fed);
    fed = upto;
  };
  feed(split);
  for (int requests = 0; requests < 16; ++requests) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(1 << 20);
    parser.eager(true);
    boost::beast::error_code ec;
    for (;;) {
      const size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        if (fed == bytes.size()) {
          if (!parser.got_some()) return;  // the connection closed between requests
          parser.put_eof(ec);
          break;
        }
        feed(bytes.size());
        ec = {};
        continue;
      }
      if (ec || parser.is_done()) break;
      if (used == 0) {
        if (fed == bytes.size()) break;
        feed(bytes.size());
      }
    }
    if (ec || !parser.is_done()) return;
    const HttpRequest& req = parser.get();
    Check(req.body().size() <= (1u << 20), "the body limit holds");
    const auto framing = RequestFramingError(req);
    if (framing) {
      Check(req.find(http::field::transfer_encoding) != req.end(),
            "only Transfer-Encoding makes framing bad");
      return;  // the server answers 400 and closes: nothing after this is a request
    }
    CheckRoute(std::string_view(req.target().data(), req.target().size()));
    if (!req.keep_alive()) return;
  }
}

}  // namespace
}  // namespace interlock::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  interlock::server::CheckRoute(bytes.substr(0, 4096));
  const size_t split = size == 0 ? 0 : data[0] % (size + 1);
  interlock::server::ParseRequests(bytes, split);
  return 0;
}
