// The web origin (RFC 6454) of the daemon's public URL: what a browser sends as the Origin
// header of a request made from the daemon's own pages, so the console's sign-in can refuse
// a cross-site request that carries a session cookie (identity::CsrfAllows).
// Thread-safety: a pure function.
#ifndef INTERLOCK_CORE_APP_WEB_ORIGIN_H_
#define INTERLOCK_CORE_APP_WEB_ORIGIN_H_

#include <string>
#include <string_view>

namespace interlock::core {

// "scheme://host[:port]" of an http(s) URL: an IPv6 literal in brackets, the port left out
// when it is the scheme's default. "" when `url` is not an http(s) URL with a host (no
// request then matches it).
std::string WebOrigin(std::string_view url);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_WEB_ORIGIN_H_
