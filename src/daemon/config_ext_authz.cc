// The daemon config's ext_authz: section (docs/gateways.md#configuration), read into the
// door's plain value (doors/ext_authz/config.h). Every error of the section is recorded
// (daemon/config_reader.h); the rules across its fields are the door's
// (doors::ext_authz::CheckExtAuthzConfig), reported at the section.
#include <algorithm>
#include <cctype>

#include "common/host_name.h"
#include "daemon/config_reader.h"

namespace interlock::server::config_internal {
namespace {

using doors::ext_authz::ExtAuthzConfig;
using doors::ext_authz::RouteRule;

// listen: HOST:PORT as the HTTP listener's (common/host_name.h, ParseListenAddress).
Status ReadExtAuthzListen(ConfigReader& r, const YamlNode& v, ExtAuthzConfig* c) {
  if (!v.IsScalar()) return r.Fail(v, "ext_authz.listen must be HOST:PORT");
  Result<ListenAddress> at = ParseListenAddress(v.Scalar());
  if (!at.ok()) return r.Fail(v, "ext_authz." + at.error().message);
  c->host = std::move(at->host);
  c->port = at->port;
  return Status::Ok();
}

// Reads one route into `route`, recording each of its errors; false when there was one.
bool ReadExtAuthzRoute(ConfigReader& r, const YamlNode& item, RouteRule* route) {
  if (!item.IsMap()) {
    r.Report(item, "ext_authz.routes: each route must be a mapping");
    return false;
  }
  const size_t before = r.error_count();
  Recorded(ReadSection(
      r, item, "ext_authz.routes",
      {{"host",
        [&r, route](const YamlNode& v) {
          return r.String(v, "ext_authz.routes.host", &route->host);
        }},
       {"path_prefix",
        [&r, route](const YamlNode& v) {
          if (Status st = r.String(v, "ext_authz.routes.path_prefix", &route->path_prefix);
              !st.ok()) {
            return st;
          }
          if (!route->path_prefix.starts_with("/")) {
            return r.Fail(v, "ext_authz.routes.path_prefix must start with '/'");
          }
          return Status::Ok();
        }},
       {"method",
        [&r, route](const YamlNode& v) {
          return r.String(v, "ext_authz.routes.method", &route->method);
        }},
       {"mcp",
        [&r, route](const YamlNode& v) { return r.Bool(v, "ext_authz.routes.mcp", &route->mcp); }},
       {"tool", [&r, route](const YamlNode& v) {
          return r.String(v, "ext_authz.routes.tool", &route->tool);
        }}}));
  // Across the route's keys only when each read: a typo is reported once.
  if (r.error_count() == before && route->mcp == !route->tool.empty()) {
    r.Report(item, "ext_authz.routes: a route is either `mcp: true` or names a `tool`");
  }
  return r.error_count() == before;
}

// The keys of the section, each read into `c` (`listen` records that it was given).
std::vector<SectionKey> ExtAuthzKeys(ConfigReader& r, ExtAuthzConfig* c, bool* listen) {
  return {
      {"listen",
       [&r, c, listen](const YamlNode& v) {
         *listen = true;
         return ReadExtAuthzListen(r, v, c);
       }},
      {"tls_cert",
       [&r, c](const YamlNode& v) { return r.Path(v, "ext_authz.tls_cert", &c->tls_cert); }},
      {"tls_key",
       [&r, c](const YamlNode& v) { return r.Path(v, "ext_authz.tls_key", &c->tls_key); }},
      {"max_body_bytes",
       [&r, c](const YamlNode& v) {
         return r.Integer(v, "ext_authz.max_body_bytes", 1024, 64 << 20, &c->max_body_bytes);
       }},
      {"run_header",
       [&r, c](const YamlNode& v) {
         if (Status st = r.String(v, "ext_authz.run_header", &c->run_header); !st.ok()) return st;
         std::transform(c->run_header.begin(), c->run_header.end(), c->run_header.begin(),
                        [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
         if (c->run_header.empty()) return r.Fail(v, "ext_authz.run_header must be a header name");
         return Status::Ok();
       }},
      {"routes",
       [&r, c](const YamlNode& v) {
         if (!v.IsSequence()) return r.Fail(v, "ext_authz.routes must be a list");
         const size_t before = r.error_count();
         for (const YamlNode& item : v.items()) {
           RouteRule route;
           if (ReadExtAuthzRoute(r, item, &route)) c->routes.push_back(std::move(route));
         }
         return SectionStatus(r, before);
       }},
  };
}

}  // namespace

Status ReadExtAuthz(ConfigReader& r, const YamlNode& node, ExtAuthzConfig* out) {
  const size_t before = r.error_count();
  ExtAuthzConfig c;
  c.enabled = true;
  bool listen = false;
  Recorded(ReadSection(r, node, "ext_authz", ExtAuthzKeys(r, &c, &listen)));
  // Across the section's keys only when each read: a typo is reported once.
  if (r.error_count() == before) {
    if (!listen) {
      r.Report(node, "ext_authz.listen is required (HOST:PORT)");
    } else if (Status st = doors::ext_authz::CheckExtAuthzConfig(c); !st.ok()) {
      r.Report(node, st.error().message);
    }
  }
  if (r.error_count() == before) *out = std::move(c);
  return SectionStatus(r, before);
}

Status ReadExtAuthzConfig(const YamlNode& node, std::string_view file, std::string_view base_dir,
                          ExtAuthzConfig* out, std::vector<std::string>* all_errors) {
  ConfigReader r{std::string(file), std::filesystem::path(base_dir)};
  Recorded(ReadExtAuthz(r, node, out));
  const std::vector<std::string>& errors = r.errors();
  if (all_errors != nullptr) all_errors->insert(all_errors->end(), errors.begin(), errors.end());
  return errors.empty() ? Status::Ok() : Status(Error::Invalid(errors.front()));
}

}  // namespace interlock::server::config_internal
