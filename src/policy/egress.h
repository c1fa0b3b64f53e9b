// Egress allowlists (docs/policy.md, "egress") and the classification of the addresses a
// connection may reach.
//
// Pure: no I/O, no name resolution. The loader builds an EgressPolicy once per agent;
// the engine matches a connection (the host name asked for, the port, and the address
// the proxy actually connects to) against it. Thread-safety: plain value types;
// functions are reentrant.
#ifndef INTERLOCK_POLICY_EGRESS_H_
#define INTERLOCK_POLICY_EGRESS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/host_name.h"

namespace interlock::policy {

// The destination's vocabulary (common/host_name.h), named here as the policy has always
// named it.
using interlock::IpAddress;
using interlock::NormalizeHostName;
using interlock::ParseIpLiteral;

// What kind of destination an address is. Everything but kPublic is refused unless an
// allow entry names that address literally.
enum class AddressClass {
  kPublic,
  kLoopback,      // 127.0.0.0/8, ::1
  kPrivate,       // 10/8, 172.16/12, 192.168/16, fc00::/7 (ULA), fec0::/10 (site-local)
  kLinkLocal,     // 169.254/16, fe80::/10
  kMetadata,      // 169.254.169.254, fd00:ec2::254 (cloud instance metadata)
  kSharedCgnat,   // 100.64/10 (RFC 6598)
  kUnspecified,   // 0.0.0.0/8, ::
  kMulticast,     // 224/4, ff00::/8
  kReserved,      // 240/4 and broadcast, 192.0.0/24, documentation, benchmarking,
                  // 2001:db8::/32, ::/96 (IPv4-compatible)
  kIpv4Mapped,    // ::ffff:0:0/96
  kIpv4Embedded,  // 64:ff9b::/96 (NAT64), 2002::/16 (6to4), 2001::/32 (Teredo)
};
const char* AddressClassName(AddressClass c);  // "public", "loopback", "private", ...

AddressClass ClassifyAddress(const IpAddress& a);

// The only port a CONNECT tunnel may reach through an entry that does not say otherwise:
// CONNECT is for TLS (https), and a tunnel to a plain-HTTP port would carry any Host and
// any number of pipelined requests past the proxy's absolute-form handling.
inline constexpr uint16_t kDefaultTunnelPort = 443;

// One entry of egress.allow: "api.github.com:443", "*.internal.myco.com:443",
// "127.0.0.1:8080", "[::1]:*", or the mapping form {to: "db.internal:8443", tunnel: true}.
struct EgressRule {
  enum class Kind { kName, kSuffix, kAddress };
  Kind kind = Kind::kName;
  std::string host;                  // kName: the lower-case name; kSuffix: ".myco.com"
  std::optional<IpAddress> address;  // kAddress
  std::optional<uint16_t> port;      // nullopt: any port (`*`)
  std::string text;                  // as written ("host:port"), for reasons and rule ids
  // CONNECT through this entry: unset (not written) only to kDefaultTunnelPort; true to
  // every port the entry allows; false to none (absolute-form http:// only).
  std::optional<bool> tunnel;
};

// Whether `rule` lets a CONNECT tunnel reach `port` (a port the rule already matched).
bool TunnelAllowed(const EgressRule& rule, uint16_t port);

// Parses one entry; on error returns nullopt and sets *why to one sentence.
std::optional<EgressRule> ParseEgressRule(std::string_view text, std::string* why);

// The agent's egress policy. `present` false: the policy has no `egress` key, and no
// connection is allowed.
struct EgressPolicy {
  bool present = false;
  std::vector<EgressRule> allow;
};

// The outcome of matching one connection.
struct EgressMatch {
  bool allowed = false;
  const EgressRule* rule = nullptr;  // the entry that allowed it; else nullptr
  AddressClass address_class = AddressClass::kPublic;
  std::string reason;  // one sentence, for allow and deny
};

// Matches a connection to `host` (as asked for: a normalised name or an IP literal's
// canonical text) on `port`, connecting to `address`; `tunnel`: asked for with CONNECT (a
// raw tunnel), allowed only by an entry that allows tunnels to that port (TunnelAllowed).
// Name and suffix entries match the host name and allow only a public address; an
// address entry matches the connected address whatever name was asked for, and is the
// only way to reach a non-public one.
EgressMatch MatchEgress(const EgressPolicy& policy, std::string_view host, uint16_t port,
                        const IpAddress& address, bool tunnel);

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_EGRESS_H_
