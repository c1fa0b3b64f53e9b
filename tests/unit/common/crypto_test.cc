// Tests of the hashing helpers (common/crypto.h) against published vectors.
#include "common/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace interlock {
namespace INTERLOCK_TEST_NS {

using namespace std::string_literals;

std::string HexDecodeForTest(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Tests SHA-256 against FIPS 180-2 vectors.
TEST(CryptoTest, Sha256KnownAnswers) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256(std::string_view("abc"))[0], 0xba);
}

// Tests HMAC-SHA256 against RFC 4231 test case 2.
// Tests that HKDF-SHA256 gives RFC 5869's test case 1 (salt and info) and case 3 (neither).
TEST(CryptoTest, HkdfKnownAnswers) {
  const std::string salt = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                            0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
  std::string info;
  for (int c = 0xf0; c <= 0xf9; ++c) info.push_back(static_cast<char>(c));
  const std::string okm = HkdfSha256(std::string(22, '\x0b'), salt, info, 42);
  EXPECT_EQ(HexEncode(reinterpret_cast<const uint8_t*>(okm.data()), okm.size()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  const std::string okm3 = HkdfSha256(std::string(22, '\x0b'), "", "", 42);
  EXPECT_EQ(HexEncode(reinterpret_cast<const uint8_t*>(okm3.data()), okm3.size()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  EXPECT_NE(HkdfSha256("key", "", "label a", 32), HkdfSha256("key", "", "label b", 32));
}

TEST(CryptoTest, HmacKnownAnswer) {
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// Tests hex encoding of every nibble.
TEST(CryptoTest, HexEncode) {
  const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff, 0x10};
  EXPECT_EQ(HexEncode(bytes, sizeof(bytes)), "0001abff10");
  EXPECT_EQ(HexEncode(bytes, 0), "");
}

// Tests that random bytes have the requested size and do not repeat.
TEST(CryptoTest, RandomBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string r = RandomBytes(16);
    ASSERT_EQ(r.size(), 16u);
    ASSERT_TRUE(seen.insert(r).second);
  }
  EXPECT_EQ(RandomBytes(0).size(), 0u);
}

// Tests constant-time equality semantics.
TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

// Tests AES-256-GCM against NIST's test case 14 (key and IV of zeros, one zero block) and
// that a flipped bit anywhere, other associated data or another key fails to open.
TEST(CryptoTest, AeadSealsAndRefusesAnyChange) {
  const std::string key(32, '\0');
  const std::string sealed = AeadSeal(key, "call_1\0password"s, "{\"v\":\"s3cr3t\"}");
  ASSERT_EQ(sealed.size(), 12 + 14 + 16u);
  EXPECT_EQ(AeadOpen(key, "call_1\0password"s, sealed), "{\"v\":\"s3cr3t\"}");
  EXPECT_NE(AeadSeal(key, "a", "x"), AeadSeal(key, "a", "x"));  // a fresh nonce each time
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(AeadOpen(key, "call_1\0password"s, bad).has_value()) << i;
  }
  EXPECT_FALSE(AeadOpen(key, "call_2\0password"s, sealed).has_value());
  EXPECT_FALSE(AeadOpen(std::string(32, '\1'), "call_1\0password"s, sealed).has_value());
  EXPECT_FALSE(AeadOpen(key, "", sealed.substr(0, 27)).has_value());
  // NIST GCM test case 14: AES-256, K = IV = 0^96, P = 0^128.
  std::string c14 = std::string(12, '\0');
  c14 += HexDecodeForTest("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
  EXPECT_EQ(AeadOpen(key, "", c14), std::string(16, '\0'));
}

}  // namespace INTERLOCK_TEST_NS

}  // namespace interlock
