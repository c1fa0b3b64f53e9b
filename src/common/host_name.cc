#include "common/host_name.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/text.h"

namespace interlock {
namespace {

bool IsLdh(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; }

}  // namespace

bool ValidDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (s[i - 1] == '-' || s[i - label] == '-') return false;
      label = 0;
    } else if (!IsLdh(s[i])) {
      return false;
    } else {
      ++label;
    }
  }
  return true;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

std::optional<IpAddress> ParseIpLiteral(std::string_view s) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, s.data(), s.size());
  IpAddress a;
  if (s.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  a.v6 = true;
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

std::optional<std::string> NormalizeHostName(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto ip = ParseIpLiteral(host.substr(1, host.size() - 2));
    if (!ip || !ip->v6) return std::nullopt;
    return ip->ToString();
  }
  if (auto ip = ParseIpLiteral(host)) return ip->ToString();
  std::string h = AsciiLower(host);
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (!ValidDnsName(h)) return std::nullopt;
  // A name whose last label is a number ("1.2.3", "0x7f.1", "2130706433") is refused:
  // resolvers and URL parsers read such names as IPv4 addresses (inet_aton forms).
  const std::string_view last = std::string_view(h).substr(h.rfind('.') + 1);
  bool digits = true, hex = last.size() > 2 && last.substr(0, 2) == "0x";
  for (size_t i = 0; i < last.size(); ++i) {
    const char c = last[i];
    digits &= c >= '0' && c <= '9';
    if (i >= 2) hex &= (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (digits || hex || last == "0x") return std::nullopt;
  return h;
}

bool IsLoopbackLiteral(std::string_view s) {
  const std::optional<IpAddress> ip = ParseIpLiteral(s);
  if (!ip) return false;
  const std::array<uint8_t, 16>& b = ip->bytes;
  if (!ip->v6) return b[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoopback6 = {0, 0, 0, 0, 0, 0, 0, 0,
                                                         0, 0, 0, 0, 0, 0, 0, 1};
  if (b == kLoopback6) return true;
  // ::ffff:a.b.c.d, the IPv4 address a.b.c.d.
  for (size_t i = 0; i < 10; ++i) {
    if (b[i] != 0) return false;
  }
  return b[10] == 0xff && b[11] == 0xff && b[12] == 127;
}

Result<ListenAddress> ParseListenAddress(std::string_view listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return Error::Invalid("listen address '" + std::string(listen) + "' must be HOST:PORT");
  }
  std::string_view host = listen.substr(0, colon);
  const std::string_view port = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535) {
    return Error::Invalid("listen port '" + std::string(port) + "' must be 0..65535");
  }
  ListenAddress out;
  out.host = host.empty() || host == "localhost" ? "127.0.0.1" : std::string(host);
  out.port = static_cast<uint16_t>(p);
  return out;
}

}  // namespace interlock
