// URL constraints: allowed schemes, hosts (with `*.` suffix wildcards), ports and path
// prefixes, checked after normalisation (userinfo refused, percent-encoding and dot
// segments resolved, IP literals in decimal/octal/hex forms canonicalised, hosts
// IDNA-mapped to ASCII). An unparseable URL is a violation. Syntax: docs/urls.md.
// Thread-safety: a compiled UrlMatcher is immutable and shared between threads.
#ifndef INTERLOCK_POLICY_URL_CONSTRAINT_H_
#define INTERLOCK_POLICY_URL_CONSTRAINT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace interlock::policy {

// One allowed shape. An empty list means "any" except `schemes` (empty: https only) and
// `ports` (empty: the scheme's default port only). A URL passes an entry when every
// non-empty part matches.
struct UrlRule {
  std::vector<std::string> schemes;        // lower-case, e.g. "https"
  std::vector<std::string> hosts;          // "docs.python.org", "*.mozilla.org"
  std::vector<uint16_t> ports;             // e.g. 443, 8443
  std::vector<std::string> path_prefixes;  // "/3/" (segment-aware: "/3" does not cover "/30")
};

// A URL passes when it matches at least one entry.
struct UrlRules {
  std::vector<UrlRule> allow;
};

// Parses a URL prefix written in a policy ("https://*.mozilla.org/en-US/") into one rule
// (scheme, host pattern, port if written, path prefix if not "/"). nullopt and *why on error.
std::optional<UrlRule> ParseUrlPrefix(std::string_view prefix, std::string* why);
// Validates a host pattern ("example.com", "*.example.com", an IP literal); nullopt if valid.
std::optional<std::string> ValidateHostPattern(std::string_view host);

// Validates every part of a rule (schemes, host patterns, ports, path prefixes) the way
// CompileUrlRules reads them; nullopt if valid, else a sentence. The loader should call it:
// CompileUrlRules cannot report errors, so it compiles an invalid rule into one that never
// matches (fail closed).
std::optional<std::string> ValidateUrlRule(const UrlRule& rule);

// The normalised form of `url` (scheme://host[:port]/path[?query], fragment dropped), or
// nullopt and *why when it cannot be parsed. For diagnostics and tests.
std::optional<std::string> NormaliseUrl(std::string_view url, std::string* why);

class UrlMatcher;  // compiled rules; defined in url_constraint.cc
std::shared_ptr<const UrlMatcher> CompileUrlRules(const UrlRules& rules);

// True when `url` passes; otherwise fills *why with a sentence (what the URL normalised to
// and which part is not allowed, or why it cannot be parsed).
bool CheckUrl(const UrlMatcher& matcher, std::string_view url, std::string* why);

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_URL_CONSTRAINT_H_
