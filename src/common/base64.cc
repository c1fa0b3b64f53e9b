#include "common/base64.h"

#include <cstdint>

namespace interlock {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

Result<std::string> Base64UrlDecode(std::string_view in) {
  if (in.size() % 4 == 1) return Error::Invalid("base64url length is impossible");
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = DecodeChar(c);
    if (v < 0) return Error::Invalid("not base64url (padding or a foreign character)");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) {
    return Error::Invalid("base64url has non-zero trailing bits (not canonical)");
  }
  return out;
}

namespace {

// Six bits at a time from `bytes`, each a character of `alphabet`; '=' to a multiple of four
// when `pad`.
std::string EncodeWith(std::string_view alphabet, std::string_view bytes, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 63]);
  while (pad && out.size() % 4 != 0) out.push_back('=');
  return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view bytes) { return EncodeWith(kAlphabet, bytes, false); }

std::string Base64Encode(std::string_view bytes, bool pad) {
  static constexpr std::string_view kStandard =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return EncodeWith(kStandard, bytes, pad);
}

Result<std::string> Base64DecodeLenient(std::string_view in) {
  size_t end = in.size();
  for (int k = 0; k < 2 && end > 0 && in[end - 1] == '='; ++k) --end;
  if (end != in.size() && in.size() % 4 != 0) return Error::Invalid("base64 padding is wrong");
  if (end % 4 == 1) return Error::Invalid("base64 length is impossible");
  bool standard = false;
  bool url = false;
  std::string out(end * 6 / 8, '\0');
  size_t n = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    const char c = in[i];
    int v;
    if (c == '+' || c == '/') {
      standard = true;
      v = c == '+' ? 62 : 63;
    } else {
      v = DecodeChar(c);
      if (v < 0) return Error::Invalid("not base64 (a foreign character)");
      url = url || v >= 62;
    }
    if (standard && url) return Error::Invalid("not base64 (two alphabets mixed)");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = char((acc >> bits) & 0xff);
    }
  }
  out.resize(n);
  return out;
}

}  // namespace interlock
