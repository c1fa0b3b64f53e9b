#include "doors/egress/request.h"

#include "common/host_name.h"

namespace interlock::egress {
namespace {

bool IsTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5 || s.front() == '0') return false;
  uint32_t p = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    p = p * 10 + static_cast<uint32_t>(c - '0');
  }
  if (p == 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

// "host", "host:port", "[v6]", "[v6]:port". default_port 0: the port is required.
Status ParseAuthority(std::string_view a, uint16_t default_port, ProxyRequest* r) {
  std::string_view host, port;
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    if (close == std::string_view::npos) return Error::Invalid("unterminated IPv6 address");
    host = a.substr(0, close + 1);
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Error::Invalid("junk after the IPv6 address");
      port = rest.substr(1);
      if (port.empty()) return Error::Invalid("empty port");
    }
  } else {
    const size_t colon = a.find(':');
    host = a.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = a.substr(colon + 1);
      if (port.empty()) return Error::Invalid("empty port");
    }
  }
  if (port.empty()) {
    if (default_port == 0) return Error::Invalid("CONNECT needs host:port");
    r->port = default_port;
  } else if (!ParsePort(port, &r->port)) {
    return Error::Invalid("the port must be 1-65535");
  }
  auto h = NormalizeHostName(host);
  if (!h) return Error::Invalid("not a host name or IP address: the request is refused");
  r->host = std::move(*h);
  return Status::Ok();
}

bool IsHopByHop(std::string_view name) {
  for (std::string_view h : {"connection", "proxy-connection", "keep-alive", "proxy-authorization",
                             "proxy-authenticate", "te", "trailer", "upgrade"}) {
    if (IEquals(name, h)) return true;
  }
  return false;
}

}  // namespace

Result<ProxyRequest> ParseProxyRequest(std::string_view head) {
  if (head.size() > kMaxHeadBytes) return Error::Invalid("request head too large");
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    return Error::Invalid("the request head does not end with an empty line");
  }
  head.remove_suffix(2);  // keep one CRLF ending the last line
  ProxyRequest r;
  size_t pos = 0;
  auto next_line = [&](std::string_view* line) {
    const size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) return false;
    *line = head.substr(pos, end - pos);
    pos = end + 2;
    return true;
  };
  std::string_view line;
  if (!next_line(&line) || line.empty()) return Error::Invalid("empty request line");
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return Error::Invalid("control or non-ASCII byte in the request line");
    }
  }
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Error::Invalid("the request line is not METHOD TARGET VERSION");
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || method.size() > 32 || target.empty()) {
    return Error::Invalid("the request line is not METHOD TARGET VERSION");
  }
  for (char c : method) {
    if (c < 'A' || c > 'Z') return Error::Invalid("the method must be upper-case letters");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return Error::Invalid("only HTTP/1.0 and HTTP/1.1 are spoken");
  }
  r.method = std::string(method);
  r.version = std::string(version);
  if (method == "CONNECT") {
    r.connect = true;
    if (Status s = ParseAuthority(target, 0, &r); !s.ok()) return s.error();
  } else {
    constexpr std::string_view kHttp = "http://";
    if (target.size() >= 8 && IEquals(target.substr(0, 8), "https://")) {
      return Error::Invalid("https:// URLs go through CONNECT (the proxy does not speak TLS)");
    }
    if (target.size() < kHttp.size() || !IEquals(target.substr(0, kHttp.size()), kHttp)) {
      return Error::Invalid("a proxy request needs an absolute http:// URL or CONNECT");
    }
    std::string_view rest = target.substr(kHttp.size());
    const size_t end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    if (authority.find('@') != std::string_view::npos) {
      return Error::Invalid("credentials in the URL are refused");
    }
    if (Status s = ParseAuthority(authority, 80, &r); !s.ok()) return s.error();
    std::string_view path = end == std::string_view::npos ? "" : rest.substr(end);
    if (path.find('#') != std::string_view::npos) {
      return Error::Invalid("a fragment is not part of a request target");
    }
    r.path = path.empty() || path.front() != '/' ? "/" + std::string(path) : std::string(path);
  }
  bool content_length = false, transfer_encoding = false;
  while (next_line(&line)) {
    if (r.headers.size() >= kMaxHeaders) return Error::Invalid("too many headers");
    const size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) {
      return Error::Invalid("a header line without a name (obsolete line folding is refused)");
    }
    const std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!IsTchar(c)) return Error::Invalid("invalid header name");
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Error::Invalid("control byte in a header");
    }
    if (IEquals(name, "content-length")) {
      if (content_length) return Error::Invalid("more than one Content-Length");
      content_length = true;
      if (value.empty() || value.size() > 15 ||
          value.find_first_not_of("0123456789") != std::string_view::npos) {
        return Error::Invalid("Content-Length is not a decimal number of at most 15 digits");
      }
      r.body_length = std::stoull(std::string(value));
    }
    if (IEquals(name, "transfer-encoding")) transfer_encoding = true;
    r.headers.emplace_back(std::string(name), std::string(value));
  }
  if (pos != head.size()) return Error::Invalid("bare CR or LF in the request head");
  if (content_length && transfer_encoding) {
    return Error::Invalid("both Content-Length and Transfer-Encoding (request smuggling)");
  }
  if (transfer_encoding && !r.connect) {
    // The proxy forwards exactly one request per connection, so it must know where the
    // body ends; it does not decode chunked bodies.
    return Error::Invalid(
        "a request body with Transfer-Encoding is refused by the egress proxy; send "
        "Content-Length");
  }
  return r;
}

std::string UpstreamHead(const ProxyRequest& r) {
  std::string out = r.method + " " + r.path + " " + r.version + "\r\n";
  // Host is always the URL's authority, the one decided on: a different Host header
  // would reach another virtual host behind the same address (domain fronting).
  const bool v6 = r.host.find(':') != std::string::npos;
  out += "Host: " + (v6 ? "[" + r.host + "]" : r.host) +
         (r.port == 80 ? std::string() : ":" + std::to_string(r.port)) + "\r\n";
  for (const auto& [name, value] : r.headers) {
    if (IsHopByHop(name) || IEquals(name, "host")) continue;
    out += name + ": " + value + "\r\n";
  }
  out += "Connection: close\r\n\r\n";
  return out;
}

}  // namespace interlock::egress
