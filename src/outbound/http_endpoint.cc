#include "outbound/http_endpoint.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace interlock::outbound {

Result<HttpEndpoint> ParseHttpEndpoint(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return Error::Invalid("not an absolute URL");
  const boost::urls::url_view u = *parsed;
  HttpEndpoint e;
  e.tls = u.scheme() == "https";
  if (!e.tls && u.scheme() != "http") return Error::Invalid("not http:// or https://");
  e.host = std::string(u.encoded_host());
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') {
    e.host = e.host.substr(1, e.host.size() - 2);
  }
  if (e.host.empty()) return Error::Invalid("no host");
  e.port = u.has_port() ? std::string(u.port()) : std::string();
  if (e.port.empty()) e.port = e.tls ? "443" : "80";
  e.path = std::string(u.encoded_path());
  e.has_query = u.has_query();
  if (e.has_query) e.query = std::string(u.encoded_query());
  e.has_userinfo = u.has_userinfo();
  e.has_fragment = u.has_fragment();
  return e;
}

std::string HostHeader(std::string_view host, std::string_view port,
                       std::string_view default_port) {
  std::string out;
  if (host.find(':') != std::string_view::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  if (port != default_port) out.append(":").append(port);
  return out;
}

}  // namespace interlock::outbound
