#include "doors/ext_authz/config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <vector>

#include "common/spelling.h"

namespace interlock::doors::ext_authz {

namespace {

Status Fail(std::string_view file, const YamlNode& n, const std::string& what) {
  return Error::Invalid(std::string(file) + ":" + std::to_string(n.line()) + ":" +
                        std::to_string(n.column()) + ": " + what);
}

// "unknown key 'PREFIX.KEY'; did you mean 'PREFIX.NEAREST'?", else the known keys.
Status ExtAuthzUnknownKey(std::string_view file, const YamlNode& k, const std::string& prefix,
                          const std::vector<std::string_view>& known) {
  const std::string near = NearestName(k.Scalar(), known);
  std::string list;
  for (std::string_view x : known) list += (list.empty() ? "" : ", ") + std::string(x);
  return Fail(file, k,
              "unknown key '" + prefix + k.Scalar() + "'" +
                  (near.empty() ? " (" + list + ")" : "; did you mean '" + prefix + near + "'?"));
}

bool Loopback(std::string_view host) {
  return host == "127.0.0.1" || host == "::1" || host == "[::1]" || host == "localhost" ||
         host.starts_with("127.");
}

Status ReadListen(std::string_view file, const YamlNode& v, ExtAuthzConfig* c) {
  const std::string& s = v.Scalar();
  const size_t colon = s.rfind(':');
  unsigned port = 0;
  if (!v.IsScalar() || colon == std::string::npos || colon == 0) {
    return Fail(file, v, "ext_authz.listen must be HOST:PORT");
  }
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data() + colon + 1, end, port);
  if (ec != std::errc() || p != end || port > 65535) {
    return Fail(file, v, "ext_authz.listen: the port must be 0..65535");
  }
  c->host = s.substr(0, colon);
  if (c->host.size() > 2 && c->host.front() == '[' && c->host.back() == ']') {
    c->host = c->host.substr(1, c->host.size() - 2);
  }
  c->port = static_cast<uint16_t>(port);
  return Status::Ok();
}

// Reads one route, recording each of its errors in `errors`; false when there was one.
bool ReadRoute(std::string_view file, const YamlNode& item, RouteRule* r,
               std::vector<std::string>* errors) {
  const size_t before = errors->size();
  const auto fail = [&](const YamlNode& n, const std::string& what) {
    errors->push_back(Fail(file, n, what).error().message);
  };
  if (!item.IsMap()) {
    fail(item, "ext_authz.routes: each route must be a mapping");
    return false;
  }
  for (const auto& [k, v] : item.entries()) {
    const std::string& key = k.Scalar();
    if (key != "host" && key != "path_prefix" && key != "method" && key != "mcp" && key != "tool") {
      errors->push_back(ExtAuthzUnknownKey(file, k, "ext_authz.routes.",
                                           {"host", "path_prefix", "method", "mcp", "tool"})
                            .error()
                            .message);
    } else if (!v.IsScalar()) {
      fail(v, "ext_authz.routes." + key + " must be a scalar");
    } else if (key == "host") {
      r->host = v.Scalar();
    } else if (key == "path_prefix") {
      r->path_prefix = v.Scalar();
      if (!r->path_prefix.starts_with("/")) {
        fail(v, "ext_authz.routes.path_prefix must start with '/'");
      }
    } else if (key == "method") {
      r->method = v.Scalar();
    } else if (key == "mcp") {
      if (v.Scalar() != "true" && v.Scalar() != "false") {
        fail(v, "ext_authz.routes.mcp must be true or false");
      }
      r->mcp = v.Scalar() == "true";
    } else {
      r->tool = v.Scalar();
    }
  }
  // Across the route's keys only when each read: a typo is reported once.
  if (errors->size() == before && r->mcp == !r->tool.empty()) {
    fail(item, "ext_authz.routes: a route is either `mcp: true` or names a `tool`");
  }
  return errors->size() == before;
}

}  // namespace

Status ReadExtAuthzConfig(const YamlNode& node, std::string_view file, std::string_view base_dir,
                          ExtAuthzConfig* out, std::vector<std::string>* all_errors) {
  std::vector<std::string> errors;
  const auto done = [&]() -> Status {
    if (all_errors != nullptr) all_errors->insert(all_errors->end(), errors.begin(), errors.end());
    return errors.empty() ? Status::Ok() : Status(Error::Invalid(errors.front()));
  };
  const auto note = [&](const Status& st) {
    if (!st.ok()) errors.push_back(st.error().message);
  };
  if (!node.IsMap()) {
    note(Fail(file, node, "ext_authz must be a mapping"));
    return done();
  }
  ExtAuthzConfig c;
  c.enabled = true;
  bool listen = false;
  const auto path = [&](const YamlNode& v) {
    return (std::filesystem::path(base_dir) / v.Scalar()).lexically_normal().string();
  };
  for (const auto& [k, v] : node.entries()) {
    const std::string& key = k.Scalar();
    if (key == "listen") {
      note(ReadListen(file, v, &c));
      listen = true;
    } else if (key == "tls_cert" || key == "tls_key") {
      if (!v.IsScalar() || v.Scalar().empty()) {
        note(Fail(file, v, "ext_authz." + key + " must be a file name"));
      } else {
        (key == "tls_cert" ? c.tls_cert : c.tls_key) = path(v);
      }
    } else if (key == "max_body_bytes") {
      size_t n = 0;
      const std::string& s = v.Scalar();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (!v.IsScalar() || ec != std::errc() || p != s.data() + s.size() || n < 1024 ||
          n > (64u << 20)) {
        note(Fail(file, v, "ext_authz.max_body_bytes must be 1024..67108864"));
      }
      c.max_body_bytes = n;
    } else if (key == "run_header") {
      c.run_header = v.Scalar();
      std::transform(c.run_header.begin(), c.run_header.end(), c.run_header.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (!v.IsScalar() || c.run_header.empty()) {
        note(Fail(file, v, "ext_authz.run_header must be a header name"));
      }
    } else if (key == "routes") {
      if (!v.IsSequence()) {
        note(Fail(file, v, "ext_authz.routes must be a list"));
      } else {
        for (const YamlNode& item : v.items()) {
          RouteRule r;
          if (ReadRoute(file, item, &r, &errors)) c.routes.push_back(std::move(r));
        }
      }
    } else {
      note(ExtAuthzUnknownKey(
          file, k, "ext_authz.",
          {"listen", "tls_cert", "tls_key", "max_body_bytes", "run_header", "routes"}));
    }
  }
  // Across the section's keys only when each read: a typo is reported once.
  if (!errors.empty()) return done();
  if (!listen) {
    note(Fail(file, node, "ext_authz.listen is required (HOST:PORT)"));
  } else if (c.tls_cert.empty() != c.tls_key.empty()) {
    note(Fail(file, node, "ext_authz: tls_cert and tls_key go together"));
  } else if (c.tls_cert.empty() && !Loopback(c.host)) {
    note(Fail(file, node,
              "ext_authz: plain gRPC listens on loopback only; give tls_cert and tls_key to "
              "listen on " +
                  c.host));
  }
  if (errors.empty()) *out = std::move(c);
  return done();
}

}  // namespace interlock::doors::ext_authz
