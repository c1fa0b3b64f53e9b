// URL constraints: a strict URL parser and normaliser (WHATWG URL Standard host parsing:
// IPv4 number forms, IPv6 serialisation, UTS #46 IDNA via ICU) and the matcher. Anything
// the parser does not understand is refused with a reason; see docs/urls.md.
#include "policy/url_constraint.h"

#include <unicode/uidna.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/escape.h"
#include "common/text.h"

namespace interlock::policy {
namespace {

constexpr size_t kMaxUrlBytes = 8192;
constexpr size_t kMaxHostBytes = 253;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// A short, printable ASCII rendering of untrusted input for a reason sentence (bytes outside
// printable ASCII as \xNN, so a reason is always valid UTF-8).
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 200;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      out += "\\x";
      AppendUpperHex(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += "\"";
  return out;
}

// Default port of the WHATWG special schemes (file has none; it has no host here anyway).
std::optional<uint16_t> DefaultPort(std::string_view scheme) {
  if (scheme == "https" || scheme == "wss") return 443;
  if (scheme == "http" || scheme == "ws") return 80;
  if (scheme == "ftp") return 21;
  return std::nullopt;
}

struct ParsedUrl {
  std::string scheme;
  std::string host;  // lower-case ASCII name, dotted-decimal IPv4 or "[v6]"
  bool host_is_ip = false;
  std::optional<uint16_t> port;  // nullopt: absent or the scheme's default
  std::string path;              // normalised, starts with '/'
  std::string query;             // without '?', verbatim (validated)
  bool has_query = false;

  std::optional<uint16_t> EffectivePort() const { return port ? port : DefaultPort(scheme); }
  std::string Serialise() const {
    std::string out = scheme + "://" + host;
    if (port) out += ":" + std::to_string(*port);
    out += path;
    if (has_query) {
      out += '?';
      for (char ch : query) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x80) {
          out += ch;
        } else {
          AppendPercentEncoded(out, c);
        }
      }
    }
    return out;
  }
};

// ---- IPv4 (WHATWG "IPv4 parser", "ends in a number checker") ----

// Parses one IPv4 part: 0x/0X hex, leading 0 octal, else decimal. nullopt on failure or
// on a value above 2^32 (every valid part is at most 2^32 - 1).
std::optional<uint64_t> ParseIpv4Number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int radix = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    radix = 16;
    s.remove_prefix(2);
  } else if (s.size() >= 2 && s[0] == '0') {
    radix = 8;
    s.remove_prefix(1);
  }
  if (s.empty()) return 0;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (radix == 16 && IsHex(c)) {
      d = HexValue(c);
    } else if (radix == 10 && IsDigit(c)) {
      d = c - '0';
    } else if (radix == 8 && c >= '0' && c <= '7') {
      d = c - '0';
    } else {
      return std::nullopt;
    }
    v = v * static_cast<uint64_t>(radix) + static_cast<uint64_t>(d);
    if (v > 0xFFFFFFFFull) return std::nullopt;
  }
  return v;
}

bool EndsInANumber(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  if (std::all_of(last.begin(), last.end(), IsDigit)) return true;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
    return std::all_of(last.begin() + 2, last.end(), IsHex);
  }
  return false;
}

std::optional<std::string> ParseIpv4(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::array<uint64_t, 4> parts{};
  size_t n = 0;
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view part =
        host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (n == 4) return std::nullopt;
    auto v = ParseIpv4Number(part);
    if (!v) return std::nullopt;
    parts[n++] = *v;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (size_t i = 0; i + 1 < n; ++i) {
    if (parts[i] > 255) return std::nullopt;
  }
  uint64_t limit = 1ull << (8 * (5 - n));
  if (parts[n - 1] >= limit) return std::nullopt;
  uint64_t addr = parts[n - 1];
  for (size_t i = 0; i + 1 < n; ++i) addr += parts[i] << (8 * (3 - i));
  return std::to_string((addr >> 24) & 255) + "." + std::to_string((addr >> 16) & 255) + "." +
         std::to_string((addr >> 8) & 255) + "." + std::to_string(addr & 255);
}

// ---- IPv6 (WHATWG "IPv6 parser" and serialiser) ----

std::optional<std::string> ParseIpv6(std::string_view in) {
  std::array<uint16_t, 8> a{};
  size_t piece = 0;
  std::optional<size_t> compress;
  size_t p = 0;
  auto at = [&](size_t i) { return i < in.size() ? in[i] : '\0'; };
  if (at(p) == ':') {
    if (at(p + 1) != ':') return std::nullopt;
    p += 2;
    compress = ++piece;
  }
  while (p < in.size()) {
    if (piece == 8) return std::nullopt;
    if (at(p) == ':') {
      if (compress) return std::nullopt;
      ++p;
      compress = ++piece;
      continue;
    }
    unsigned value = 0;
    size_t length = 0;
    while (length < 4 && IsHex(at(p))) {
      value = value * 16 + static_cast<unsigned>(HexValue(at(p)));
      ++p;
      ++length;
    }
    if (at(p) == '.') {
      if (length == 0) return std::nullopt;
      p -= length;
      if (piece > 6) return std::nullopt;
      int seen = 0;
      while (p < in.size()) {
        int v4 = -1;
        if (seen > 0) {
          if (at(p) == '.' && seen < 4) {
            ++p;
          } else {
            return std::nullopt;
          }
        }
        if (!IsDigit(at(p))) return std::nullopt;
        while (IsDigit(at(p))) {
          int d = at(p) - '0';
          if (v4 == -1) {
            v4 = d;
          } else if (v4 == 0) {
            return std::nullopt;
          } else {
            v4 = v4 * 10 + d;
          }
          if (v4 > 255) return std::nullopt;
          ++p;
        }
        a[piece] = static_cast<uint16_t>(a[piece] * 0x100 + v4);
        ++seen;
        if (seen == 2 || seen == 4) ++piece;
      }
      if (seen != 4) return std::nullopt;
      break;
    }
    if (at(p) == ':') {
      ++p;
      if (p >= in.size()) return std::nullopt;
    } else if (p < in.size()) {
      return std::nullopt;
    }
    a[piece++] = static_cast<uint16_t>(value);
  }
  if (compress) {
    size_t swaps = piece - *compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      std::swap(a[piece], a[*compress + swaps - 1]);
      --piece;
      --swaps;
    }
  } else if (piece != 8) {
    return std::nullopt;
  }
  // Serialise: the first longest run of two or more zero pieces becomes "::".
  size_t best = 8, best_len = 1;
  for (size_t i = 0; i < 8;) {
    if (a[i] != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < 8 && a[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "[";
  bool ignore0 = false;
  for (size_t i = 0; i < 8; ++i) {
    if (ignore0 && a[i] == 0) continue;
    ignore0 = false;
    if (i == best) {
      out += i == 0 ? "::" : ":";
      ignore0 = true;
      continue;
    }
    std::string h;
    unsigned v = a[i];
    do {
      h.insert(h.begin(), kHex[v & 15]);
      v >>= 4;
    } while (v != 0);
    out += h;
    if (i != 7) out += ":";
  }
  out += "]";
  return out;
}

// ---- Domains (UTS #46 via ICU, WHATWG "domain to ASCII" with stricter checks) ----

const UIDNA* Idna() {
  static const UIDNA* idna = [] {
    UErrorCode status = U_ZERO_ERROR;
    // WHATWG: CheckBidi, CheckJoiners, nontransitional; CheckHyphens and STD3 off (our own
    // character check below is stricter than STD3 except that it allows '_').
    UIDNA* u = uidna_openUTS46(
        UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ | UIDNA_NONTRANSITIONAL_TO_ASCII, &status);
    return U_SUCCESS(status) ? u : nullptr;
  }();
  return idna;
}

bool NeedsIdna(std::string_view host) {
  for (char c : host) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  // Punycode labels are validated (and lower-cased) by ICU.
  for (size_t i = 0; i + 4 <= host.size(); ++i) {
    if ((i == 0 || host[i - 1] == '.') && Lower(host[i]) == 'x' && Lower(host[i + 1]) == 'n' &&
        host[i + 2] == '-' && host[i + 3] == '-') {
      return true;
    }
  }
  return false;
}

// UTS #39 "highly restrictive" in one label: one script, or Latin with Han and Japanese
// kana, Han and Bopomofo, or Han and Hangul. Common and Inherited characters do not count.
bool ScriptsAllowed(const std::vector<UScriptCode>& scripts) {
  if (scripts.size() <= 1) return true;
  static const std::vector<std::vector<UScriptCode>> kSets = {
      {USCRIPT_LATIN, USCRIPT_HAN, USCRIPT_HIRAGANA, USCRIPT_KATAKANA},
      {USCRIPT_LATIN, USCRIPT_HAN, USCRIPT_BOPOMOFO},
      {USCRIPT_LATIN, USCRIPT_HAN, USCRIPT_HANGUL},
  };
  for (const auto& set : kSets) {
    if (std::all_of(scripts.begin(), scripts.end(), [&](UScriptCode sc) {
          return std::find(set.begin(), set.end(), sc) != set.end();
        })) {
      return true;
    }
  }
  return false;
}

// For an IDNA host (already ASCII): the Unicode label that mixes scripts and its scripts
// ("d\u043Ecs: Latin, Cyrillic"), or nullopt. A host that cannot be mapped back mixes.
std::optional<std::string> MixedScriptLabel(const UIDNA* idna, std::string_view ascii) {
  UErrorCode status = U_ZERO_ERROR;
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  char buf[1024];
  int32_t n = uidna_nameToUnicodeUTF8(idna, ascii.data(), static_cast<int32_t>(ascii.size()), buf,
                                      sizeof buf, &info, &status);
  if (U_FAILURE(status) || n < 0 || n >= static_cast<int32_t>(sizeof buf)) {
    return std::string("cannot be mapped back to Unicode");
  }
  std::vector<UScriptCode> scripts;
  for (int32_t i = 0; i <= n;) {
    if (i == n || buf[i] == '.') {
      if (!ScriptsAllowed(scripts)) {
        std::string names;
        for (auto sc : scripts) {
          if (!names.empty()) names += ", ";
          names += uscript_getName(sc);
        }
        return names;
      }
      scripts.clear();
      ++i;
      continue;
    }
    UChar32 c;
    U8_NEXT(buf, i, n, c);
    if (c < 0) return std::string("invalid UTF-8");
    UErrorCode err = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(c, &err);
    if (U_FAILURE(err)) return std::string("unknown script");
    if (sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED) continue;
    if (std::find(scripts.begin(), scripts.end(), sc) == scripts.end()) scripts.push_back(sc);
  }
  return std::nullopt;
}

// Turns a percent-decoded host (no brackets) into its canonical form or fills *why.
std::optional<std::string> CanonicalDomain(std::string_view host, bool* is_ip, std::string* why) {
  *is_ip = false;
  if (host.empty()) {
    *why = "the host is empty";
    return std::nullopt;
  }
  std::string ascii;
  if (NeedsIdna(host)) {
    const UIDNA* idna = Idna();
    if (idna == nullptr) {
      *why = "IDNA is unavailable in this build";
      return std::nullopt;
    }
    UErrorCode status = U_ZERO_ERROR;
    UIDNAInfo info = UIDNA_INFO_INITIALIZER;
    char buf[1024];
    int32_t n = uidna_nameToASCII_UTF8(idna, host.data(), static_cast<int32_t>(host.size()), buf,
                                       sizeof buf, &info, &status);
    uint32_t errors =
        info.errors & ~static_cast<uint32_t>(UIDNA_ERROR_LEADING_HYPHEN |
                                             UIDNA_ERROR_TRAILING_HYPHEN | UIDNA_ERROR_HYPHEN_3_4);
    if (U_FAILURE(status) || errors != 0 || n <= 0 || n >= static_cast<int32_t>(sizeof buf)) {
      *why = "the host " + Quote(host) + " is not a valid internationalised domain name (UTS #46)";
      return std::nullopt;
    }
    ascii.assign(buf, static_cast<size_t>(n));
    if (auto mixed = MixedScriptLabel(idna, ascii)) {
      *why = "the host " + Quote(ascii) + " has a label that mixes scripts (" + *mixed +
             "), a look-alike of another name";
      return std::nullopt;
    }
  } else {
    ascii = AsciiLower(host);
  }
  if (!ascii.empty() && ascii.back() == '.') ascii.pop_back();
  if (ascii.empty()) {
    *why = "the host is empty";
    return std::nullopt;
  }
  if (EndsInANumber(ascii)) {
    auto v4 = ParseIpv4(ascii);
    if (!v4) {
      *why = "the host " + Quote(ascii) + " ends in a number but is not a valid IPv4 address";
      return std::nullopt;
    }
    *is_ip = true;
    return v4;
  }
  if (ascii.size() > kMaxHostBytes) {
    *why = "the host is longer than 253 bytes";
    return std::nullopt;
  }
  size_t label = 0;
  for (char c : ascii) {
    if (c == '.') {
      if (label == 0) {
        *why = "the host " + Quote(ascii) + " has an empty label";
        return std::nullopt;
      }
      label = 0;
      continue;
    }
    if (!(IsAlpha(c) || IsDigit(c) || c == '-' || c == '_')) {
      *why = "the host " + Quote(ascii) + " contains a character not allowed in a host name";
      return std::nullopt;
    }
    if (++label > 63) {
      *why = "the host " + Quote(ascii) + " has a label longer than 63 bytes";
      return std::nullopt;
    }
  }
  if (label == 0) {
    *why = "the host " + Quote(ascii) + " has an empty label";
    return std::nullopt;
  }
  return ascii;
}

// Percent-decodes a host; refuses invalid escapes and decoded control/space bytes.
std::optional<std::string> DecodeHost(std::string_view in, std::string* why) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c != '%') {
      out += c;
      continue;
    }
    if (i + 2 >= in.size() || !IsHex(in[i + 1]) || !IsHex(in[i + 2])) {
      *why = "the host has an invalid percent-encoding";
      return std::nullopt;
    }
    auto b = static_cast<unsigned char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
    if (b <= 0x20 || b == 0x7F || b == '%') {
      *why = "the host has a percent-encoded control, space or '%' byte";
      return std::nullopt;
    }
    out += static_cast<char>(b);
    i += 2;
  }
  return out;
}

// Full host: "[v6]" or a (percent-encoded, possibly non-ASCII) name or IPv4 form.
std::optional<std::string> CanonicalHost(std::string_view raw, bool* is_ip, std::string* why) {
  if (!raw.empty() && raw.front() == '[') {
    if (raw.size() < 2 || raw.back() != ']') {
      *why = "the IPv6 literal " + Quote(raw) + " is not closed by ']'";
      return std::nullopt;
    }
    auto v6 = ParseIpv6(raw.substr(1, raw.size() - 2));
    if (!v6) {
      *why = "the IPv6 literal " + Quote(raw) + " is not valid (zone identifiers are refused)";
      return std::nullopt;
    }
    *is_ip = true;
    return v6;
  }
  auto decoded = DecodeHost(raw, why);
  if (!decoded) return std::nullopt;
  static constexpr std::string_view kForbidden = "#/:<>?@[\\]^|%*\"'`{} ";
  for (char c : *decoded) {
    if (kForbidden.find(c) != std::string_view::npos) {
      *why = "the host " + Quote(*decoded) + " contains a forbidden character";
      return std::nullopt;
    }
  }
  return CanonicalDomain(*decoded, is_ip, why);
}

// ---- Path ----

// Normalises a path (starting with '/' or empty): every %XX of a printable ASCII byte is
// decoded except '%', '/', '\', '?', '#' (so the result is unambiguous); other escapes are
// kept with upper-case hex; raw non-ASCII bytes are percent-encoded; encoded '/' and '\'
// and encoded control bytes are refused; "." and ".." segments (however encoded) are
// resolved as WHATWG does; "..;" style segments are refused.
std::optional<std::string> NormalisePath(std::string_view in, std::string* why) {
  std::string path;  // "/seg1/seg2" so far
  path.reserve(in.size() + 1);
  std::string seg;
  if (in.empty()) in = "/";
  if (in.front() != '/') {
    *why = "the path does not start with '/'";
    return std::nullopt;
  }
  in.remove_prefix(1);
  size_t start = 0;
  while (true) {
    size_t slash = in.find('/', start);
    bool last = slash == std::string_view::npos;
    std::string_view raw = in.substr(start, last ? in.npos : slash - start);
    seg.clear();
    for (size_t i = 0; i < raw.size(); ++i) {
      auto c = static_cast<unsigned char>(raw[i]);
      if (c == '%') {
        if (i + 2 >= raw.size() || !IsHex(raw[i + 1]) || !IsHex(raw[i + 2])) {
          *why = "the path has an invalid percent-encoding";
          return std::nullopt;
        }
        auto b = static_cast<unsigned char>(HexValue(raw[i + 1]) * 16 + HexValue(raw[i + 2]));
        i += 2;
        if (b == '/' || b == '\\') {
          *why = "the path contains an encoded slash or backslash (%2F or %5C)";
          return std::nullopt;
        }
        if (b < 0x20 || b == 0x7F) {
          *why = "the path contains an encoded control byte";
          return std::nullopt;
        }
        if (b > 0x20 && b < 0x7F && b != '%' && b != '?' && b != '#') {
          seg += static_cast<char>(b);
        } else {
          AppendPercentEncoded(seg, b);
        }
      } else if (c >= 0x80) {
        AppendPercentEncoded(seg, c);
      } else {
        seg += static_cast<char>(c);
      }
    }
    // Checked on the normal form so that "%25%32e" is caught like "%252e".
    for (size_t k = seg.find("%25"); k != std::string::npos; k = seg.find("%25", k + 3)) {
      std::string next = AsciiLower(std::string_view(seg).substr(k + 3, 2));
      if (next == "2e" || next == "2f" || next == "5c") {
        *why = "the path contains a double-encoded dot, slash or backslash (%252E, %252F, %255C)";
        return std::nullopt;
      }
    }
    if (seg == "..") {
      if (!path.empty()) path.erase(path.rfind('/'));
      if (last) path += '/';
    } else if (seg == ".") {
      if (last) path += '/';
    } else if (seg.rfind(".;", 0) == 0 || seg.rfind("..;", 0) == 0) {
      *why = "the path has a dot segment with parameters (" + Quote(seg) + ")";
      return std::nullopt;
    } else {
      path += '/';
      path += seg;
    }
    if (last) break;
    start = slash + 1;
  }
  if (path.empty()) path = "/";
  return path;
}

// ---- Whole URL ----

// Common to URLs and policy prefixes. `allow_wildcard`: the host may start with "*.".
struct Split {
  std::string scheme;
  std::string_view authority;
  std::string_view path;
  std::optional<std::string_view> query;
  std::optional<std::string_view> fragment;
};

std::optional<Split> SplitUrl(std::string_view url, std::string* why) {
  if (url.empty()) {
    *why = "the URL is empty";
    return std::nullopt;
  }
  if (url.size() > kMaxUrlBytes) {
    *why = "the URL is longer than " + std::to_string(kMaxUrlBytes) + " bytes";
    return std::nullopt;
  }
  for (char ch : url) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) {
      *why = "the URL contains whitespace or a control character";
      return std::nullopt;
    }
    if (c == '\\') {
      *why = "the URL contains a backslash (browsers read it as '/'; refused)";
      return std::nullopt;
    }
  }
  Split s;
  size_t colon = url.find(':');
  size_t first_delim = url.find_first_of("/?#");
  if (colon == std::string_view::npos || colon == 0 ||
      (first_delim != std::string_view::npos && first_delim < colon) || !IsAlpha(url[0])) {
    *why = "the URL has no scheme (scheme-relative and relative URLs are refused)";
    return std::nullopt;
  }
  for (size_t i = 0; i < colon; ++i) {
    char c = url[i];
    if (!(IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.')) {
      *why = "the scheme contains a character not allowed in a scheme";
      return std::nullopt;
    }
  }
  s.scheme = AsciiLower(url.substr(0, colon));
  std::string_view rest = url.substr(colon + 1);
  if (rest.substr(0, 2) != "//") {
    *why = "the URL has no authority (\"" + s.scheme + ":\" not followed by \"//host\")";
    return std::nullopt;
  }
  rest.remove_prefix(2);
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    s.fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    s.query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  s.authority = rest.substr(0, slash);
  s.path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  for (auto part : {s.query, s.fragment}) {
    if (!part) continue;
    for (size_t i = 0; i < part->size(); ++i) {
      if ((*part)[i] == '%' &&
          (i + 2 >= part->size() || !IsHex((*part)[i + 1]) || !IsHex((*part)[i + 2]))) {
        *why = "the query or fragment has an invalid percent-encoding";
        return std::nullopt;
      }
    }
  }
  return s;
}

// Splits an authority into host and port; refuses userinfo.
bool SplitAuthority(std::string_view authority, std::string_view* host,
                    std::optional<uint16_t>* port, std::string* why) {
  if (authority.find('@') != std::string_view::npos) {
    *why = "the URL has userinfo (\"user@\" or \"user:password@\" before the host; refused)";
    return false;
  }
  size_t port_colon = std::string_view::npos;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      *why = "the IPv6 literal is not closed by ']'";
      return false;
    }
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        *why = "unexpected characters after the IPv6 literal";
        return false;
      }
      port_colon = close + 1;
    }
  } else {
    port_colon = authority.find(':');
  }
  *host = authority.substr(0, port_colon);
  port->reset();
  if (port_colon != std::string_view::npos) {
    std::string_view digits = authority.substr(port_colon + 1);
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), IsDigit)) {
      *why = "the port " + Quote(digits) + " is not a number from 1 to 65535";
      return false;
    }
    unsigned v = 0;
    for (char c : digits) v = v * 10 + static_cast<unsigned>(c - '0');
    if (v == 0 || v > 65535) {
      *why = "the port " + Quote(digits) + " is not a number from 1 to 65535";
      return false;
    }
    *port = static_cast<uint16_t>(v);
  }
  if (host->empty()) {
    *why = "the host is empty";
    return false;
  }
  return true;
}

std::optional<ParsedUrl> ParseUrl(std::string_view url, std::string* why) {
  auto s = SplitUrl(url, why);
  if (!s) return std::nullopt;
  ParsedUrl p;
  p.scheme = s->scheme;
  std::string_view raw_host;
  if (!SplitAuthority(s->authority, &raw_host, &p.port, why)) return std::nullopt;
  auto host = CanonicalHost(raw_host, &p.host_is_ip, why);
  if (!host) return std::nullopt;
  p.host = *host;
  if (p.port && p.port == DefaultPort(p.scheme)) p.port.reset();
  auto path = NormalisePath(s->path, why);
  if (!path) return std::nullopt;
  p.path = *path;
  if (s->query) {
    p.has_query = true;
    p.query = std::string(*s->query);
  }
  return p;
}

// Validates and normalises a host pattern; the result is "*.suffix" or a canonical host.
std::optional<std::string> NormaliseHostPattern(std::string_view pattern, std::string* why) {
  bool wildcard = pattern.rfind("*.", 0) == 0;
  std::string_view rest = wildcard ? pattern.substr(2) : pattern;
  if (rest.find('*') != std::string_view::npos) {
    *why = "the host pattern " + Quote(pattern) + " has a '*' other than a leading \"*.\"";
    return std::nullopt;
  }
  if (rest.empty()) {
    *why = "the host pattern " + Quote(pattern) + " has an empty host";
    return std::nullopt;
  }
  for (char ch : rest) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F || c == '%' || c == '@' || c == '/' || c == '\\' || c == ':') {
      if (c == ':' && !wildcard && rest.front() == '[') continue;
      *why = "the host pattern " + Quote(pattern) + " contains a character not allowed in a host";
      return std::nullopt;
    }
  }
  bool is_ip = false;
  auto host = CanonicalHost(rest, &is_ip, why);
  if (!host) return std::nullopt;
  if (wildcard && is_ip) {
    *why = "the host pattern " + Quote(pattern) + " puts \"*.\" before an IP address";
    return std::nullopt;
  }
  return wildcard ? "*." + *host : *host;
}

std::optional<std::string> NormaliseScheme(std::string_view scheme, std::string* why) {
  if (scheme.empty() || !IsAlpha(scheme[0])) {
    *why = "the scheme " + Quote(scheme) + " is not a URL scheme";
    return std::nullopt;
  }
  for (char c : scheme) {
    if (!(IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.')) {
      *why = "the scheme " + Quote(scheme) + " is not a URL scheme";
      return std::nullopt;
    }
  }
  return AsciiLower(scheme);
}

std::optional<std::string> NormalisePathPrefix(std::string_view prefix, std::string* why) {
  if (prefix.empty() || prefix.front() != '/') {
    *why = "the path prefix " + Quote(prefix) + " does not start with '/'";
    return std::nullopt;
  }
  for (char ch : prefix) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F || c == '\\' || c == '?' || c == '#') {
      *why = "the path prefix " + Quote(prefix) +
             " contains whitespace, a control character, "
             "'\\', '?' or '#'";
      return std::nullopt;
    }
  }
  std::string inner;
  auto p = NormalisePath(prefix, &inner);
  if (!p) {
    *why = "the path prefix " + Quote(prefix) + ": " + inner;
    return std::nullopt;
  }
  return p;
}

struct CompiledRule {
  bool valid = true;  // an invalid rule never matches (fail closed)
  std::vector<std::string> schemes;
  std::vector<std::string> exact_hosts;
  std::vector<std::string> suffixes;  // ".example.com" for "*.example.com"
  bool any_host = true;
  std::vector<uint16_t> ports;
  std::vector<std::string> path_prefixes;
  std::string hosts_text;  // for reasons
};

bool SchemeMatches(const CompiledRule& r, const ParsedUrl& u) {
  return std::find(r.schemes.begin(), r.schemes.end(), u.scheme) != r.schemes.end();
}

bool HostMatches(const CompiledRule& r, const ParsedUrl& u) {
  if (r.any_host) return true;
  if (std::find(r.exact_hosts.begin(), r.exact_hosts.end(), u.host) != r.exact_hosts.end()) {
    return true;
  }
  if (u.host_is_ip) return false;
  for (const auto& s : r.suffixes) {
    if (u.host.size() > s.size() && u.host.compare(u.host.size() - s.size(), s.size(), s) == 0) {
      return true;
    }
  }
  return false;
}

bool PortMatches(const CompiledRule& r, const ParsedUrl& u) {
  if (r.ports.empty()) return !u.port.has_value();  // the scheme's default (or none) only
  auto eff = u.EffectivePort();
  return eff && std::find(r.ports.begin(), r.ports.end(), *eff) != r.ports.end();
}

bool PathMatches(const CompiledRule& r, const ParsedUrl& u) {
  if (r.path_prefixes.empty()) return true;
  for (const auto& p : r.path_prefixes) {
    if (p.back() == '/') {
      if (u.path.compare(0, p.size(), p) == 0) return true;
    } else if (u.path == p || (u.path.size() > p.size() && u.path.compare(0, p.size(), p) == 0 &&
                               u.path[p.size()] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace

class UrlMatcher {
 public:
  std::vector<CompiledRule> rules;
};

std::optional<std::string> ValidateHostPattern(std::string_view host) {
  std::string why;
  if (!NormaliseHostPattern(host, &why)) return why;
  return std::nullopt;
}

std::optional<std::string> ValidateUrlRule(const UrlRule& rule) {
  std::string why;
  for (const auto& s : rule.schemes) {
    if (!NormaliseScheme(s, &why)) return why;
  }
  for (const auto& h : rule.hosts) {
    if (!NormaliseHostPattern(h, &why)) return why;
  }
  for (auto p : rule.ports) {
    if (p == 0) return std::string("port 0 is not a port");
  }
  for (const auto& p : rule.path_prefixes) {
    if (!NormalisePathPrefix(p, &why)) return why;
  }
  return std::nullopt;
}

std::optional<UrlRule> ParseUrlPrefix(std::string_view prefix, std::string* why) {
  std::string inner;
  auto fail = [&](const std::string& reason) {
    *why = "the URL prefix " + Quote(prefix) + " is not valid: " + reason;
    return std::nullopt;
  };
  auto s = SplitUrl(prefix, &inner);
  if (!s) return fail(inner);
  if (s->query || s->fragment) return fail("a prefix has no query or fragment");
  UrlRule rule;
  rule.schemes.push_back(s->scheme);
  std::string_view raw_host;
  std::optional<uint16_t> port;
  if (!SplitAuthority(s->authority, &raw_host, &port, &inner)) return fail(inner);
  auto host = NormaliseHostPattern(raw_host, &inner);
  if (!host) return fail(inner);
  rule.hosts.push_back(*host);
  if (port && port != DefaultPort(s->scheme)) rule.ports.push_back(*port);
  if (!s->path.empty() && s->path != "/") {
    auto path = NormalisePathPrefix(s->path, &inner);
    if (!path) return fail(inner);
    if (*path != "/") rule.path_prefixes.push_back(*path);
  }
  return rule;
}

std::shared_ptr<const UrlMatcher> CompileUrlRules(const UrlRules& rules) {
  auto m = std::make_shared<UrlMatcher>();
  for (const auto& r : rules.allow) {
    CompiledRule c;
    std::string why;
    // Each of `from` normalised into `into`; one that does not normalise invalidates the rule.
    auto normalise_all = [&c, &why](const std::vector<std::string>& from, auto normalise,
                                    std::vector<std::string>* into) {
      for (const auto& s : from) {
        auto n = normalise(s, &why);
        if (n) {
          into->push_back(*n);
        } else {
          c.valid = false;
        }
      }
    };
    normalise_all(r.schemes, NormaliseScheme, &c.schemes);
    if (r.schemes.empty()) c.schemes.push_back("https");
    c.any_host = r.hosts.empty();
    for (const auto& h : r.hosts) {
      auto n = NormaliseHostPattern(h, &why);
      if (!n) {
        c.valid = false;
        continue;
      }
      if (n->rfind("*.", 0) == 0) {
        c.suffixes.push_back(n->substr(1));
      } else {
        c.exact_hosts.push_back(*n);
      }
      c.hosts_text += (c.hosts_text.empty() ? "" : ", ") + *n;
    }
    c.ports = r.ports;
    normalise_all(r.path_prefixes, NormalisePathPrefix, &c.path_prefixes);
    m->rules.push_back(std::move(c));
  }
  return m;
}

std::optional<std::string> NormaliseUrl(std::string_view url, std::string* why) {
  auto p = ParseUrl(url, why);
  if (!p) return std::nullopt;
  return p->Serialise();
}

bool CheckUrl(const UrlMatcher& matcher, std::string_view url, std::string* why) {
  std::string reason;
  auto u = ParseUrl(url, &reason);
  if (!u) {
    *why = "URL " + Quote(url) + " cannot be parsed: " + reason;
    return false;
  }
  // Fast path: some valid rule allows every part.
  for (const auto& r : matcher.rules) {
    if (r.valid && SchemeMatches(r, *u) && HostMatches(r, *u) && PortMatches(r, *u) &&
        PathMatches(r, *u)) {
      return true;
    }
  }
  // Violation: narrow the rules part by part so that the reason names the first part no
  // rule allows (scheme, then host, then port, then path), listing what those rules allow.
  std::vector<const CompiledRule*> live;
  for (const auto& r : matcher.rules) {
    if (r.valid) live.push_back(&r);
  }
  *why = "URL " + Quote(url) + " (normalised to " + u->Serialise() + "): ";
  if (live.empty()) {
    *why += "no valid URL rule allows anything";
    return false;
  }
  std::vector<std::string> seen;
  auto allowed = [&](auto fn) {
    seen.clear();
    for (const auto* r : live) fn(*r);
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    return " (allowed: " + Join(seen, ", ") + ")";
  };
  auto narrow = [&](auto pred) {
    std::vector<const CompiledRule*> next;
    for (const auto* r : live) {
      if (pred(*r)) next.push_back(r);
    }
    if (next.empty()) return false;
    live.swap(next);
    return true;
  };
  if (!narrow([&](const CompiledRule& r) { return SchemeMatches(r, *u); })) {
    *why += "scheme " + u->scheme + " is not allowed" + allowed([&](const CompiledRule& r) {
              seen.insert(seen.end(), r.schemes.begin(), r.schemes.end());
            });
    return false;
  }
  if (!narrow([&](const CompiledRule& r) { return HostMatches(r, *u); })) {
    *why += "host " + u->host + " is not allowed" + allowed([&](const CompiledRule& r) {
              seen.push_back(r.any_host ? std::string("any host") : r.hosts_text);
            });
    return false;
  }
  if (!narrow([&](const CompiledRule& r) { return PortMatches(r, *u); })) {
    auto eff = u->EffectivePort();
    *why += "port " + (eff ? std::to_string(*eff) : std::string("(none)")) + " is not allowed" +
            allowed([&](const CompiledRule& r) {
              if (r.ports.empty()) seen.push_back("the scheme's default");
              for (auto p : r.ports) seen.push_back(std::to_string(p));
            });
    return false;
  }
  *why +=
      "path " + u->path + " is not under an allowed prefix" + allowed([&](const CompiledRule& r) {
        seen.insert(seen.end(), r.path_prefixes.begin(), r.path_prefixes.end());
      });
  return false;
}

}  // namespace interlock::policy
