#include "common/url_text.h"

namespace interlock {
namespace {

constexpr std::string_view kMask = "****";

// Masks the values of `password` parameters in `query` (without its '?').
std::string MaskQuery(std::string_view query, bool* masked) {
  std::string out;
  while (true) {
    const size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    const size_t eq = param.find('=');
    if (eq != std::string_view::npos && param.substr(0, eq) == "password") {
      out.append(param.substr(0, eq + 1)).append(kMask);
      *masked = true;
    } else {
      out.append(param);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string Mask(std::string_view url, bool* masked) {
  *masked = false;
  std::string out;
  const size_t scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    const size_t authority = scheme_end + 3;
    size_t end = url.find_first_of("/?#", authority);
    if (end == std::string_view::npos) end = url.size();
    const size_t at = url.substr(authority, end - authority).rfind('@');
    out.append(url.substr(0, authority));
    if (at != std::string_view::npos) {
      out.append(kMask).append("@");
      *masked = true;
      out.append(url.substr(authority + at + 1, end - authority - at - 1));
    } else {
      out.append(url.substr(authority, end - authority));
    }
    url.remove_prefix(end);
  }
  const size_t q = url.find('?');
  if (q == std::string_view::npos) return out.append(url);
  out.append(url.substr(0, q + 1));
  url.remove_prefix(q + 1);
  const size_t hash = url.find('#');
  out.append(MaskQuery(url.substr(0, hash), masked));
  if (hash != std::string_view::npos) out.append(url.substr(hash));
  return out;
}

}  // namespace

std::string UrlForLog(std::string_view url) {
  bool masked = false;
  return Mask(url, &masked);
}

bool UrlHasCredentials(std::string_view url) {
  bool masked = false;
  Mask(url, &masked);
  return masked;
}

}  // namespace interlock
