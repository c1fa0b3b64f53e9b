#include "policy/egress.h"

#include "common/text.h"

namespace interlock::policy {
namespace {

bool InV4(const IpAddress& a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3, int prefix) {
  const uint32_t net = (uint32_t{b0} << 24) | (uint32_t{b1} << 16) | (uint32_t{b2} << 8) | b3;
  const uint32_t v = (uint32_t{a.bytes[0]} << 24) | (uint32_t{a.bytes[1]} << 16) |
                     (uint32_t{a.bytes[2]} << 8) | a.bytes[3];
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (v & mask) == (net & mask);
}

// Whether the first `prefix` bits of a equal those of `net` (16 bytes).
bool InV6(const IpAddress& a, std::initializer_list<uint8_t> net_bytes, int prefix) {
  std::array<uint8_t, 16> net{};
  size_t i = 0;
  for (uint8_t b : net_bytes) net[i++] = b;
  for (int bit = 0; bit < prefix; ++bit) {
    const int byte = bit / 8, shift = 7 - bit % 8;
    if (((a.bytes[byte] >> shift) & 1) != ((net[byte] >> shift) & 1)) return false;
  }
  return true;
}

AddressClass ClassifyV4(const IpAddress& a) {
  if (InV4(a, 169, 254, 169, 254, 32)) return AddressClass::kMetadata;
  if (InV4(a, 0, 0, 0, 0, 8)) return AddressClass::kUnspecified;
  if (InV4(a, 127, 0, 0, 0, 8)) return AddressClass::kLoopback;
  if (InV4(a, 10, 0, 0, 0, 8) || InV4(a, 172, 16, 0, 0, 12) || InV4(a, 192, 168, 0, 0, 16)) {
    return AddressClass::kPrivate;
  }
  if (InV4(a, 169, 254, 0, 0, 16)) return AddressClass::kLinkLocal;
  if (InV4(a, 100, 64, 0, 0, 10)) return AddressClass::kSharedCgnat;
  if (InV4(a, 224, 0, 0, 0, 4)) return AddressClass::kMulticast;
  if (InV4(a, 240, 0, 0, 0, 4) || InV4(a, 192, 0, 0, 0, 24) || InV4(a, 192, 0, 2, 0, 24) ||
      InV4(a, 198, 51, 100, 0, 24) || InV4(a, 203, 0, 113, 0, 24) || InV4(a, 198, 18, 0, 0, 15)) {
    return AddressClass::kReserved;
  }
  return AddressClass::kPublic;
}

AddressClass ClassifyV6(const IpAddress& a) {
  if (InV6(a, {0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128)) {
    return AddressClass::kMetadata;
  }
  if (InV6(a, {}, 128)) return AddressClass::kUnspecified;
  if (InV6(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128)) {
    return AddressClass::kLoopback;
  }
  if (InV6(a, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96)) return AddressClass::kIpv4Mapped;
  if (InV6(a, {}, 96)) return AddressClass::kReserved;  // IPv4-compatible (deprecated)
  if (InV6(a, {0x00, 0x64, 0xff, 0x9b}, 96) || InV6(a, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48) ||
      InV6(a, {0x20, 0x02}, 16) || InV6(a, {0x20, 0x01, 0x00, 0x00}, 32)) {
    return AddressClass::kIpv4Embedded;
  }
  if (InV6(a, {0xfe, 0x80}, 10)) return AddressClass::kLinkLocal;
  if (InV6(a, {0xfc}, 7) || InV6(a, {0xfe, 0xc0}, 10)) return AddressClass::kPrivate;
  if (InV6(a, {0xff}, 8)) return AddressClass::kMulticast;
  if (InV6(a, {0x20, 0x01, 0x0d, 0xb8}, 32)) return AddressClass::kReserved;
  return AddressClass::kPublic;
}

}  // namespace

const char* AddressClassName(AddressClass c) {
  switch (c) {
    case AddressClass::kPublic:
      return "public";
    case AddressClass::kLoopback:
      return "loopback";
    case AddressClass::kPrivate:
      return "private";
    case AddressClass::kLinkLocal:
      return "link-local";
    case AddressClass::kMetadata:
      return "cloud metadata";
    case AddressClass::kSharedCgnat:
      return "shared (CGNAT)";
    case AddressClass::kUnspecified:
      return "unspecified";
    case AddressClass::kMulticast:
      return "multicast";
    case AddressClass::kReserved:
      return "reserved";
    case AddressClass::kIpv4Mapped:
      return "IPv4-mapped IPv6";
    case AddressClass::kIpv4Embedded:
      return "IPv4-embedding IPv6 (NAT64, 6to4, Teredo)";
  }
  return "unknown";
}

AddressClass ClassifyAddress(const IpAddress& a) { return a.v6 ? ClassifyV6(a) : ClassifyV4(a); }

std::optional<EgressRule> ParseEgressRule(std::string_view text, std::string* why) {
  EgressRule r;
  r.text = std::string(text);
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *why = "an IPv6 entry is written [address]:port, e.g. \"[2001:db8::1]:443\"";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    auto ip = ParseIpLiteral(host);
    if (!ip || !ip->v6) {
      *why = "'" + std::string(host) + "' is not an IPv6 address";
      return std::nullopt;
    }
    r.kind = EgressRule::Kind::kAddress;
    r.address = ip;
    r.host = ip->ToString();
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *why = "an entry needs a port or '*': host:port, e.g. \"api.github.com:443\"";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *why = "write an IPv6 address in brackets: [address]:port";
      return std::nullopt;
    }
    if (auto ip = ParseIpLiteral(host)) {
      r.kind = EgressRule::Kind::kAddress;
      r.address = ip;
      r.host = ip->ToString();
    } else {
      std::string_view name = host;
      if (name.substr(0, 2) == "*.") {
        r.kind = EgressRule::Kind::kSuffix;
        name.remove_prefix(2);
      }
      const std::string lower = AsciiLower(name);
      if (lower.find('*') != std::string::npos) {
        *why =
            "'*' is allowed only as a whole first label ('*.example.com'); a bare '*' would "
            "allow every host and is refused";
        return std::nullopt;
      }
      if (!ValidDnsName(lower)) {
        *why = "'" + std::string(host) +
               "' is neither a host name (letters, digits, '-', '.'; IDN in its xn-- form) nor "
               "an IP address";
        return std::nullopt;
      }
      if (r.kind == EgressRule::Kind::kSuffix && lower.find('.') == std::string::npos) {
        *why = "'" + std::string(host) +
               "' would match a whole top-level domain; name at least "
               "two labels after '*.'";
        return std::nullopt;
      }
      r.host = r.kind == EgressRule::Kind::kSuffix ? "." + lower : lower;
    }
  }
  if (port == "*") return r;
  uint32_t p = 0;
  if (port.empty() || port.size() > 5) {
    *why = "the port must be 1-65535 or '*', got '" + std::string(port) + "'";
    return std::nullopt;
  }
  for (char c : port) {
    if (c < '0' || c > '9') {
      *why = "the port must be 1-65535 or '*', got '" + std::string(port) + "'";
      return std::nullopt;
    }
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p == 0 || p > 65535 || port.front() == '0') {
    *why = "the port must be 1-65535 or '*', got '" + std::string(port) + "'";
    return std::nullopt;
  }
  r.port = static_cast<uint16_t>(p);
  return r;
}

bool TunnelAllowed(const EgressRule& rule, uint16_t port) {
  if (rule.tunnel) return *rule.tunnel;
  return port == kDefaultTunnelPort;
}

EgressMatch MatchEgress(const EgressPolicy& policy, std::string_view host, uint16_t port,
                        const IpAddress& address, bool tunnel) {
  EgressMatch m;
  m.address_class = ClassifyAddress(address);
  const std::string addr = address.ToString();
  const std::string dest = std::string(host) + ":" + std::to_string(port) +
                           (host == addr ? std::string() : " (" + addr + ")");
  if (!policy.present) {
    m.reason = "egress to " + dest + " refused: the policy has no egress key, so no egress";
    return m;
  }
  const bool is_public = m.address_class == AddressClass::kPublic;
  bool name_matched = false;
  const EgressRule* no_tunnel = nullptr;  // matched, but allows no tunnel to this port
  for (const EgressRule& r : policy.allow) {
    if (r.port && *r.port != port) continue;
    bool match = false;
    switch (r.kind) {
      case EgressRule::Kind::kAddress:
        match = r.address == address;
        break;
      case EgressRule::Kind::kName:
        match = host == r.host;
        break;
      case EgressRule::Kind::kSuffix:
        match = host.size() > r.host.size() && host.ends_with(r.host);
        break;
    }
    if (!match) continue;
    if (r.kind != EgressRule::Kind::kAddress && !is_public) {
      name_matched = true;
      continue;
    }
    if (tunnel && !TunnelAllowed(r, port)) {
      if (no_tunnel == nullptr) no_tunnel = &r;
      continue;
    }
    m.allowed = true;
    m.rule = &r;
    m.reason = "egress to " + dest + " allowed by egress.allow entry \"" + r.text + "\"";
    return m;
  }
  if (no_tunnel != nullptr) {
    m.reason =
        "CONNECT to " + dest + " refused: a CONNECT tunnel is for TLS and reaches only port " +
        std::to_string(kDefaultTunnelPort) +
        " unless the entry allows it; egress.allow "
        "entry \"" +
        no_tunnel->text + "\" " +
        (no_tunnel->tunnel
             ? std::string("says tunnel: false")
             : "allows plain http:// requests to port " + std::to_string(port) + " (write {to: \"" +
                   no_tunnel->text + "\", tunnel: true} to allow tunnels there)");
  } else if (name_matched) {
    m.reason = "egress to " + dest + " refused: the name is allowed but it resolves to a " +
               AddressClassName(m.address_class) + " address " + addr +
               ", reachable only through an allow entry naming " + addr + " literally";
  } else if (!is_public) {
    m.reason =
        "egress to " + dest + " refused: " + addr + " is a " + AddressClassName(m.address_class) +
        " address and no egress.allow entry names it literally with port " + std::to_string(port);
  } else {
    m.reason = "egress to " + dest + " refused: no egress.allow entry matches this host and port";
  }
  return m;
}

}  // namespace interlock::policy
