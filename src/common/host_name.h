// Host names and IP literals as a client writes them (a proxy's request line, an egress
// decision's body, a policy's egress entry), read into one canonical text: the parsing
// every reader of a destination shares, so a door and the policy that judges the
// destination never disagree about what a host is. Matching a destination against a policy
// is the policy's (policy/egress.h); this says only what the destination is.
// Pure: no I/O, no name resolution. Thread-safety: plain value types; functions are
// reentrant.
#ifndef INTERLOCK_COMMON_HOST_NAME_H_
#define INTERLOCK_COMMON_HOST_NAME_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "interlock/result.h"

namespace interlock {

// An IPv4 or IPv6 address in network byte order. IPv4 uses the first 4 bytes.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  // The canonical text: dotted quad, or RFC 5952 IPv6 (no brackets).
  std::string ToString() const;
  bool operator==(const IpAddress&) const = default;
};

// Parses an IP literal: "1.2.3.4" (exactly four decimal parts, no leading zeros beyond a
// lone "0") or an IPv6 literal without brackets (no zone id). nullopt otherwise.
std::optional<IpAddress> ParseIpLiteral(std::string_view s);

// Whether `s`, already lower case, is a DNS name: letters, digits, '-' and '.', labels of
// 1..63 bytes neither starting nor ending with '-', at most 253 bytes in all.
bool ValidDnsName(std::string_view s);

// Normalises a host name as asked for by a client: lower case, one trailing dot removed.
// nullopt when it is not a DNS name of letters, digits, '-' and '.' (labels of 1..63
// bytes, at most 253 bytes in all) and not an IP literal either.
std::optional<std::string> NormalizeHostName(std::string_view host);

// Whether `s` is a loopback address literal: 127.0.0.0/8, ::1, or an IPv4-mapped
// ::ffff:127.x.y.z. A name (even "localhost") or anything not a literal is not.
bool IsLoopbackLiteral(std::string_view s);

// Where a listener binds, HOST:PORT as an operator writes it (a config's `listen:`, a
// --listen flag): an IPv6 host in brackets, port 0..65535 in decimal and nothing after it;
// an empty host or "localhost" is 127.0.0.1. The host is not checked further (binding it
// does). An error names what is wrong ("... must be HOST:PORT", "... must be 0..65535").
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
Result<ListenAddress> ParseListenAddress(std::string_view listen);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_HOST_NAME_H_
