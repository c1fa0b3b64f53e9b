// A tool result that echoes a redacted value in a form one decoding step reverses (percent
// encoding, base64, base64url, an MCP resource's `blob`, an image's `data`) is masked in
// that form too, and encoded content that cannot be checked is withheld
// (audit::Redactor::EchoForms, MaskSecrets, MaskEncodedContent; docs/audit.md#redaction).
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "audit/redact.h"
#include "base64_decodings.h"

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

constexpr const char* kSecret = "correct horse/battery+staple?";

std::vector<std::string> Forms(const std::string& secret = kSecret) {
  return Redactor::EchoForms(json::object{{"password", secret}});
}

// As MaskOutput in core/run_txn.cc masks a parsed result.
json::value Masked(json::value v, const std::vector<std::string>& forms) {
  Redactor::MaskEncodedContent(&v, forms);
  Redactor::MaskSecretsInJson(&v, forms);
  return v;
}

std::string PercentEncoded(std::string_view s, bool plus, bool upper) {
  const char* hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && plus) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string UrlAlphabet(std::string s) {
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

// Every decoding of every base64 run of `text` (split at anything not base64) at each of
// the four character offsets: what a reader of the stored text could decode.
std::string AllDecodings(const std::string& text) {
  std::string all;
  for (const std::string& d : ::interlock::testing::Base64Decodings(text)) all += d + "\n";
  return all;
}

// Tests that a secret echoed percent-encoded with %20 for spaces, upper- or lower-case hex,
// as a URL query would carry it, is masked.
TEST(RedactTest, SecretEchoedPercentEncodedIsMasked) {
  for (bool upper : {false, true}) {
    const std::string text = "GET /login?user=ann&pw=" + PercentEncoded(kSecret, false, upper) +
                             "&next=%2Fhome HTTP/1.1";
    const std::string masked = Redactor::MaskSecrets(text, Forms());
    EXPECT_EQ(masked, "GET /login?user=ann&pw=[REDACTED]&next=%2Fhome HTTP/1.1") << text;
  }
}

// Tests that a secret echoed form-encoded (a space as `+`), as an
// application/x-www-form-urlencoded body carries it, is masked.
TEST(RedactTest, SecretEchoedFormEncodedWithPlusIsMasked) {
  for (bool upper : {false, true}) {
    const std::string text = "user=ann&password=" + PercentEncoded(kSecret, true, upper);
    EXPECT_EQ(Redactor::MaskSecrets(text, Forms()), "user=ann&password=[REDACTED]") << text;
  }
}

// Tests that a secret echoed base64 and base64url encoded on its own, padded or not, is
// masked whole.
TEST(RedactTest, SecretEchoedBase64IsMasked) {
  const std::string std_padded = Base64Encode(kSecret, true);
  for (const std::string& enc : {std_padded, Base64Encode(kSecret, false), UrlAlphabet(std_padded),
                                 Base64UrlEncode(kSecret)}) {
    const std::string masked = Redactor::MaskSecrets("token: " + enc + ".", Forms());
    EXPECT_EQ(masked, "token: [REDACTED].") << enc;
  }
}

// Tests that a secret inside a longer text that is then base64 or base64url encoded
// (padded or not), at each of the three byte alignments, leaves nothing a decoder finds.
TEST(RedactTest, SecretEchoedBase64InsideLongerTextIsMasked) {
  for (size_t lead = 0; lead < 3; ++lead) {
    for (size_t trail = 0; trail < 3; ++trail) {
      const std::string plain = std::string("config:") + std::string(lead, 'x') +
                                " password=" + kSecret + std::string(trail, 'y') + "\n";
      const std::string std_padded = Base64Encode(plain, true);
      for (const std::string& enc : {std_padded, Base64Encode(plain, false),
                                     UrlAlphabet(std_padded), Base64UrlEncode(plain)}) {
        const std::string masked = Redactor::MaskSecrets(enc, Forms());
        EXPECT_NE(masked, enc);
        const std::string decoded = AllDecodings(masked);
        EXPECT_EQ(decoded.find("horse/battery"), std::string::npos) << enc << " -> " << masked;
        EXPECT_EQ(decoded.find("battery+staple"), std::string::npos) << enc << " -> " << masked;
      }
    }
  }
}

// Tests that an MCP embedded resource whose base64 `blob` holds the secret (a file tool
// reading back the config it wrote) is decoded, masked inside and encoded again.
TEST(RedactTest, SecretInsideResourceBlobIsMaskedInside) {
  const std::string config = std::string("[db]\nuser = ann\npassword = \"") + kSecret + "\"\n";
  json::value result{{"content", json::array{json::object{
                                     {"type", "resource"},
                                     {"resource", json::object{{"uri", "file:///app.conf"},
                                                               {"blob", Base64Encode(config)}}}}}}};
  json::value masked = Masked(result, Forms());
  const std::string blob(masked.at("content").at(0).at("resource").at("blob").as_string());
  auto decoded = Base64DecodeLenient(blob);
  ASSERT_TRUE(decoded.ok()) << blob;
  EXPECT_EQ(*decoded, "[db]\nuser = ann\npassword = \"[REDACTED]\"\n");
}

// Tests that the secret inside an image's or audio's base64 `data` is masked inside, and
// that a `data` member of other content is left to the plain pass.
TEST(RedactTest, SecretInsideImageAndAudioDataIsMaskedInside) {
  for (const char* type : {"image", "audio"}) {
    const std::string bytes = std::string("\x89PNG\r\n tEXt pw=") + kSecret + "\x01\x02";
    json::value v{{"type", type}, {"mimeType", "image/png"}, {"data", Base64Encode(bytes)}};
    json::value masked = Masked(v, Forms());
    auto decoded = Base64DecodeLenient(masked.at("data").as_string());
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->find(kSecret), std::string::npos) << type;
    EXPECT_NE(decoded->find("[REDACTED]"), std::string::npos) << type;
  }
  json::value text{{"type", "text"}, {"data", "not base64 at all"}};
  EXPECT_EQ(Masked(text, Forms()), text);
}

// Tests that encoded content that does not decode (line-wrapped base64 a decoder would
// still read, or a foreign character) is withheld rather than stored unchecked.
TEST(RedactTest, BlobThatDoesNotDecodeIsWithheld) {
  const std::string enc = Base64Encode(std::string("password=") + kSecret);
  const std::string wrapped = enc.substr(0, 8) + "\n" + enc.substr(8);
  json::value v{{"uri", "file:///a"}, {"blob", wrapped}};
  json::value masked = Masked(v, Forms());
  const std::string blob(masked.at("blob").as_string());
  EXPECT_EQ(blob.rfind("[WITHHELD: encoded content that is not base64", 0), 0u) << blob;
}

// Tests that encoded content over the size that is scanned is withheld, not stored
// unchecked, and that nothing is withheld for a call with no redacted values.
TEST(RedactTest, BlobTooLargeToScanIsWithheld) {
  const std::string big(Redactor::kMaxScannedContentBytes + 4, 'A');
  json::value v{{"uri", "file:///a"}, {"blob", big}};
  json::value masked = Masked(v, Forms());
  EXPECT_EQ(std::string(masked.at("blob").as_string()).rfind("[WITHHELD: ", 0), 0u);
  json::value untouched = v;
  EXPECT_FALSE(Redactor::MaskEncodedContent(&untouched, {}));
  EXPECT_EQ(untouched, v);
}

// Tests that a blob that holds no secret is kept byte for byte (not re-encoded).
TEST(RedactTest, BlobWithoutSecretIsKeptAsItCame) {
  json::value v{{"uri", "file:///a"}, {"blob", "aGVsbG8gd29ybGQ"}};
  json::value masked = Masked(v, Forms());
  EXPECT_EQ(masked, v);
}

// Tests that percent-decoding does not mask text that only resembles a secret once
// decoded when it is not one, and that a text without `%` or `+` is untouched.
TEST(RedactTest, PercentDecodingMasksOnlyTheSecret) {
  EXPECT_EQ(Redactor::MaskSecrets("a+b=c%20d 100%", Forms()), "a+b=c%20d 100%");
  EXPECT_EQ(Redactor::MaskSecrets("pin+1234+ok", Forms("1234")), "pin+[REDACTED]+ok");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit
