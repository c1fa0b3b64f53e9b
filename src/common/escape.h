// Escaping one byte as text: two upper-case hex digits, and the percent-encoding of
// RFC 3986 section 2.1 built on them. The encoders that choose which bytes to escape
// (form encoding, URL serialisation, quoting untrusted text in a reason) call these, so
// each writes only its own rule.
// Thread-safety: pure functions.
#ifndef INTERLOCK_COMMON_ESCAPE_H_
#define INTERLOCK_COMMON_ESCAPE_H_

#include <string>

namespace interlock {

// Appends `c` as two upper-case hex digits ("2F").
inline void AppendUpperHex(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Appends `c` percent-encoded ("%2F").
inline void AppendPercentEncoded(std::string& out, unsigned char c) {
  out += '%';
  AppendUpperHex(out, c);
}

}  // namespace interlock

#endif  // INTERLOCK_COMMON_ESCAPE_H_
