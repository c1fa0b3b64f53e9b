#include "common/host_name.h"

#include <arpa/inet.h>

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

}  // namespace interlock
