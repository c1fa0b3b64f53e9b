// Tests of the strict JSON parser and canonical serialisation (common/json.h).
#include "common/json.h"
#include "common/json_write.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>

namespace interlock {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

struct Bad {
  const char* name;
  std::string text;
  const char* message;
};

// Tests that every class of hostile or malformed document is an error, not a guess.
TEST(JsonTest, RejectsHostileDocuments) {
  const std::vector<Bad> rows = {
      {"dup_top", R"({"a":1,"a":2})", "duplicate object key \"a\""},
      {"dup_top_same_value", R"({"a":1,"a":1})", "duplicate"},
      {"dup_nested", R"({"a":{"b":1,"c":{"d":1,"d":2}}})", "duplicate object key \"d\""},
      {"dup_in_array", R"([{"x":1},{"x":1,"y":2,"x":3}])", "duplicate object key \"x\""},
      {"dup_escaped", R"({"ab":1,"a\u0062":2})", "duplicate object key \"ab\""},
      {"dup_many_keys",
       [] {
         std::string s = "{";
         for (int i = 0; i < 100; ++i) s += "\"k" + std::to_string(i) + "\":1,";
         return s + "\"k57\":2}";
       }(),
       "duplicate object key \"k57\""},
      {"trailing_garbage", R"({"a":1}x)", "trailing content"},
      {"two_documents", R"({"a":1}{"a":2})", "trailing content"},
      {"empty", "", "invalid JSON"},
      {"whitespace_only", "  \n", "invalid JSON"},
      {"invalid_utf8_byte", "\"\xff\"", "invalid JSON"},
      {"truncated_utf8", "\"\xc3\"", "invalid JSON"},
      {"overlong_utf8", "\"\xc0\xaf\"", "invalid JSON"},
      {"surrogate_utf8", "\"\xed\xa0\x80\"", "invalid JSON"},
      {"lone_surrogate_escape", R"("\ud800")", "invalid JSON"},
      {"number_overflow", "1e400", "does not fit a double"},
      {"negative_overflow", "[-1e400]", "does not fit a double"},
      {"long_mantissa_overflow", std::string(400, '9') + ".0", "does not fit a double"},
      {"nan", "NaN", "invalid JSON"},
      {"infinity", "[Infinity]", "invalid JSON"},
      {"comment", "[1 /* c */]", "invalid JSON"},
      {"trailing_comma", "[1,]", "invalid JSON"},
      {"single_quotes", "{'a':1}", "invalid JSON"},
      {"control_in_string", "\"a\nb\"", "invalid JSON"},
      {"deep_arrays", std::string(100000, '['), "deeper than 64"},
      {"deep_objects",
       [] {
         std::string s;
         for (int i = 0; i < 100000; ++i) s += "{\"a\":";
         return s;
       }(),
       "deeper than 64"},
  };
  for (const Bad& b : rows) {
    SCOPED_TRACE(b.name);
    Result<boost::json::value> v = ParseJsonStrict(b.text);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_THAT(v.error().message, HasSubstr(b.message));
  }
}

// Tests that the limits are exact: max_depth levels parse, one more does not; max_bytes
// bytes parse, one more does not.
TEST(JsonTest, LimitsAreExact) {
  const JsonLimits limits{100, 4};
  EXPECT_TRUE(ParseJsonStrict("[[[[1]]]]", limits).ok());
  EXPECT_FALSE(ParseJsonStrict("[[[[[1]]]]]", limits).ok());
  std::string doc = "\"" + std::string(98, 'a') + "\"";
  EXPECT_TRUE(ParseJsonStrict(doc, limits).ok());
  doc.insert(1, "a");
  Result<boost::json::value> v = ParseJsonStrict(doc, limits);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.error().message, HasSubstr("101 bytes; the limit is 100"));
}

// Tests that values parse to the expected kinds, including 64-bit integer edges and
// surrounding whitespace.
TEST(JsonTest, ParsesValues) {
  Result<boost::json::value> v = ParseJsonStrict(
      R"( {"i":-9223372036854775808,"u":18446744073709551615,"d":1e308,"s":"\u00e9",
           "b":true,"n":null,"a":[],"o":{},"tiny":1e-400} )");
  ASSERT_TRUE(v.ok()) << v.error().message;
  const auto& o = v->get_object();
  EXPECT_EQ(o.at("i").get_int64(), INT64_MIN);
  EXPECT_EQ(o.at("u").get_uint64(), UINT64_MAX);
  EXPECT_EQ(o.at("d").get_double(), 1e308);
  EXPECT_EQ(o.at("s").get_string(), "\xc3\xa9");
  EXPECT_EQ(o.at("tiny").get_double(), 0.0);
  // Above uint64: a double, not an error and not a wrapped integer.
  v = ParseJsonStrict("18446744073709551616");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->is_double());
}

// Tests that decimals are converted with correct rounding, so they round-trip through
// serialisation (Boost 1.81's own conversion can be one ulp off).
TEST(JsonTest, DoublesRoundTrip) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    const double d = static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000) /
                     static_cast<double>(rng() % 997 + 1);
    const std::string text = boost::json::serialize(boost::json::value(d));
    Result<boost::json::value> v = ParseJsonStrict(text);
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(v->as_double(), d) << text;
  }
  EXPECT_EQ(ParseJsonStrict("-111.42857142857143")->as_double(), -111.42857142857143);
}

// Tests that what Interlock writes reads back exactly with ParseOwnJson, the reader of its
// own text (store columns, audit records): any finite double, by its bits and as a double
// (2030.0 is not the integer 2030: their canonical forms differ), in both styles,
// including the long integer fuzz/decision_json found (Boost's own parse reads its shortest
// digits one ulp off); and any depth up to 256, where Boost's own parse stops at 32.
TEST(JsonTest, OwnJsonReadsBackEveryDoubleAndDepthExactly) {
  std::mt19937_64 rng(7);
  std::vector<double> doubles = {
      *ParseJsonStrict("444944444444444444444444444444444444444446")->if_double(),
      0.30000000000000004, 5e-324, 1.7976931348623157e308, -0.0};
  while (doubles.size() < 20000) {
    uint64_t bits = rng();
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    if (std::isfinite(d)) doubles.push_back(d);
  }
  for (double d : doubles) {
    for (JsonStyle style : {JsonStyle::kCanonical, JsonStyle::kReadable}) {
      std::string text;
      AppendJsonDouble(d, style, &text);
      Result<boost::json::value> v = ParseOwnJson(text);
      ASSERT_TRUE(v.ok()) << text;
      ASSERT_TRUE(v->is_double()) << text;  // a double, never the integer of its digits
      const double back = v->as_double();
      ASSERT_EQ(std::memcmp(&back, &d, sizeof d), 0) << text;
    }
  }
  const std::string deep = std::string(256, '[') + std::string(256, ']');
  EXPECT_TRUE(ParseOwnJson(deep).ok());
  EXPECT_FALSE(ParseOwnJson("[" + deep + "]").ok());
  EXPECT_FALSE(ParseJsonStrict(deep).ok());              // a door's 64 still holds
  EXPECT_FALSE(ParseOwnJson("{\"a\":1,\"a\":2}").ok());  // never written: an edited row
}

// Tests canonical serialisation: keys sorted by bytes at every level, compact, arrays in
// order, strings escaped.
TEST(JsonTest, CanonicalJson) {
  Result<boost::json::value> v = ParseJsonStrict(
      R"({"b":1,"a":{"z":[3,{"y":1,"x":2}],"\u00e9":1,"Z":2,"a":"q\"\n"},"A":null,"":true})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(CanonicalJson(*v),
            "{\"\":true,\"A\":null,\"a\":{\"Z\":2,\"a\":\"q\\\"\\n\",\"z\":[3,{\"x\":2,\"y\":1}],"
            "\"\xc3\xa9\":1},\"b\":1}");
  EXPECT_EQ(CanonicalJson(boost::json::value(1.5)), "1.5E0");
  EXPECT_EQ(CanonicalJson(boost::json::value(uint64_t{18446744073709551615u})),
            "18446744073709551615");
  EXPECT_EQ(CanonicalJson(boost::json::object{}), "{}");
}

// Tests that CanonicalJson does not depend on key insertion order (random permutations).
TEST(JsonTest, CanonicalJsonIsKeyOrderIndependent) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 500; ++i) {
    std::vector<std::pair<std::string, int>> members;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) members.emplace_back("k" + std::to_string(rng() % 1000), k);
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end(),
                              [](const auto& a, const auto& b) { return a.first == b.first; }),
                  members.end());
    auto build = [&] {
      boost::json::object inner;
      for (const auto& [k, val] : members) inner[k] = val;
      boost::json::object outer;
      for (const auto& [k, val] : members) outer[k] = inner;
      return boost::json::value(std::move(outer));
    };
    const std::string first = CanonicalJson(build());
    std::shuffle(members.begin(), members.end(), rng);
    const boost::json::value shuffled = build();
    ASSERT_EQ(CanonicalJson(shuffled), first);
    Result<boost::json::value> reparsed = ParseJsonStrict(boost::json::serialize(shuffled));
    ASSERT_TRUE(reparsed.ok());
    ASSERT_EQ(CanonicalJson(*reparsed), first);
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests that readable output keeps key order and prints doubles in shortest round-trip
// form, so CLI and API output read "0.02" rather than "2E-2".
TEST(ToJsonText, ShortestDoublesAndKeyOrder) {
  boost::json::object o;
  o["z"] = 0.02;
  o["a"] = 2.0;
  o["n"] = -7;
  o["s"] = "q\"";
  EXPECT_EQ(ToJsonText(o), R"({"z":0.02,"a":2.0,"n":-7,"s":"q\""})");
  EXPECT_EQ(ParseJsonStrict(ToJsonText(0.1 + 0.2))->as_double(), 0.1 + 0.2);
}

// Tests that readable doubles are plain decimals whenever that is not absurdly long:
// std::to_chars' shortest form wrote 100000.0 as "1e+05" and 1e-7 as "1e-07".
TEST(ToJsonText, DoublesArePlainDecimals) {
  EXPECT_EQ(ToJsonText(0.5), "0.5");
  EXPECT_EQ(ToJsonText(2.25), "2.25");
  EXPECT_EQ(ToJsonText(100000.0), "100000.0");  // "100000" would read back as an integer
  EXPECT_EQ(ToJsonText(-0.0), "-0.0");
  EXPECT_EQ(ToJsonText(1e-7), "0.0000001");
  EXPECT_EQ(ToJsonText(-1234.5), "-1234.5");
  EXPECT_EQ(ToJsonText(1e300), "1e+300");  // 301 digits as a decimal: the exponent is kinder
  for (double d : {0.5, 1e-7, 123456.789, 1e-20, 5e22, 0.1 + 0.2}) {
    const std::string t = ToJsonText(d);
    EXPECT_EQ(t.find('E'), std::string::npos) << t;
    EXPECT_EQ(ParseJsonStrict(t)->as_double(), d) << t;
  }
}

}  // namespace INTERLOCK_TEST_NS
// Tests that the canonical form writes strings, keys and integers byte for byte as
// Boost.JSON's serializer does (audit records already hashed in that form must verify):
// every single byte, control characters, quotes, backslashes, UTF-8 and invalid bytes,
// and integers at their limits.
TEST(JsonTest, CanonicalScalarsMatchBoostSerializerByteForByte) {
  for (int b = 0; b < 256; ++b) {
    const std::string s = std::string("a") + static_cast<char>(b) + "z";
    const boost::json::value v = boost::json::string(s);
    EXPECT_EQ(CanonicalJson(v), boost::json::serialize(v)) << "byte " << b;
    const boost::json::value o = boost::json::object{{s, s}};
    EXPECT_EQ(CanonicalJson(o), boost::json::serialize(o)) << "byte " << b;
  }
  const boost::json::value mixed =
      boost::json::object{{"q", "\"\\/\b\f\n\r\t\x01\x1f\x7f caf\xc3\xa9 \xe2\x80\x8b"},
                          {"i", INT64_MIN},
                          {"j", INT64_MAX},
                          {"u", UINT64_MAX},
                          {"z", 0},
                          {"b", true},
                          {"c", false},
                          {"n", nullptr},
                          {"a", boost::json::array{1, -1, "x", nullptr}}};
  boost::json::object sorted;
  for (const char* k : {"a", "b", "c", "i", "j", "n", "q", "u", "z"}) {
    sorted[k] = mixed.get_object().at(k);
  }
  EXPECT_EQ(CanonicalJson(mixed), boost::json::serialize(sorted));
}

// Tests the eight-bytes-at-a-time scan of the string writer: every byte value, at every
// position of strings long enough to take the word path, with clean text around it, and
// two bytes needing escapes in one word, is written as Boost.JSON's serializer writes it.
// A missed quote or control character would let a value break out of its JSON string.
TEST(JsonTest, LongStringsEscapeEveryByteAtEveryPosition) {
  for (size_t len = 1; len <= 24; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string s(len, 'x');
        s[pos] = static_cast<char>(b);
        const boost::json::value v = boost::json::string(s);
        ASSERT_EQ(CanonicalJson(v), boost::json::serialize(v)) << len << " " << pos << " " << b;
        s[len - 1 - pos] = '"';
        const boost::json::value w = boost::json::string(s);
        ASSERT_EQ(CanonicalJson(w), boost::json::serialize(w)) << len << " " << pos << " " << b;
      }
    }
  }
}

// Tests that the string writer's jump to the first byte to escape in a word never skips
// one: random strings dense in quotes, backslashes and control characters (several in one
// word, next to each other, at word edges) are written as Boost.JSON's serializer does.
TEST(JsonTest, DenseEscapesMatchBoostSerializer) {
  std::mt19937 rng(12);
  const std::string alphabet = std::string("\"\\\x01\x1f\x7f\n\t ax\xc3\xa9", 12) + '\0';
  for (int n = 0; n < 20000; ++n) {
    std::string s(rng() % 41, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    const boost::json::value v = boost::json::string(s);
    ASSERT_EQ(CanonicalJson(v), boost::json::serialize(v)) << n;
  }
}

// Tests that a string member written by the object writer (escaped on the stack with its
// key when both fit, else appended after it) is the key and the string as Boost.JSON's
// serializer writes them, for values on both sides of that limit, dense in escapes, in
// both styles and as the first and a later member.
TEST(JsonTest, StringMembersMatchBoostSerializer) {
  std::mt19937 rng(21);
  const std::string alphabet = std::string("\"\\\x01\x1f\x7f\n\t ax\xc3\xa9", 12) + '\0';
  for (int n = 0; n < 4000; ++n) {
    std::string v(rng() % 200, ' ');
    for (char& c : v) c = alphabet[rng() % alphabet.size()];
    for (JsonStyle style : {JsonStyle::kReadable, JsonStyle::kCanonical}) {
      std::string text;
      JsonObjectWriter w(style, &text);
      w.String("b", v);
      w.String("a", v);
      w.End();
      const std::string quoted = boost::json::serialize(boost::json::value(boost::json::string(v)));
      const std::string want = style == JsonStyle::kReadable
                                   ? "{\"b\":" + quoted + ",\"a\":" + quoted + "}"
                                   : "{\"a\":" + quoted + ",\"b\":" + quoted + "}";
      ASSERT_EQ(text, want) << n;
    }
  }
}

// Tests the string writer's growth: strings on both sides of its 64-byte stack path and
// longer than its 4096-byte chunk, made mostly of control bytes (six output bytes each, so
// the buffer grows in the middle of a chunk), of quotes, or sparse in both, with escapes
// across the chunk edge and in the last bytes, appended after other text, are written as
// Boost.JSON's serializer writes them.
TEST(JsonTest, ControlBytesGrowTheBufferAcrossChunks) {
  std::mt19937 rng(7);
  for (size_t len :
       {1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 129, 4095, 4096, 4097, 8191, 8193, 20000}) {
    for (int mode = 0; mode < 4; ++mode) {
      std::string s(len, 'x');
      for (char& c : s) {
        const unsigned r = rng() % 6;
        switch (mode) {
          case 0:
            c = '\x01';
            break;
          case 1:
            c = r < 3 ? '\x02' : '"';
            break;
          case 2:
            c = r == 0 ? '\x1f' : (r == 1 ? '\\' : 'y');
            break;
          default:
            c = r == 0 ? '\0' : '\n';
        }
      }
      std::string out = "prefix";
      AppendJsonString(s, &out);
      ASSERT_EQ(out, "prefix" + boost::json::serialize(boost::json::value(boost::json::string(s))))
          << len << " " << mode;
    }
  }
}

// Tests that a scaled integer (decide's run cost in micro-dollars, elapsed milliseconds)
// prints exactly as the double it stands for: every value up to 200,000, the edges of the
// fast path (10^15), random values below it, and values that take the double path.
TEST(JsonTest, ScaledMatchesDouble) {
  auto same = [](int64_t units, int scale) {
    static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    std::string fast;
    std::string slow;
    AppendJsonScaled(units, scale, &fast);
    AppendJsonDouble(static_cast<double>(units) / kPow10[scale], JsonStyle::kReadable, &slow);
    return fast == slow ? ::testing::AssertionSuccess()
                        : ::testing::AssertionFailure()
                              << units << "/1e" << scale << ": " << fast << " != " << slow;
  };
  for (int scale = 0; scale <= 6; ++scale) {
    for (int64_t u = 0; u <= 200000; ++u) ASSERT_TRUE(same(u, scale));
    std::mt19937_64 rng(static_cast<uint64_t>(scale));
    for (int i = 0; i < 200000; ++i) {
      ASSERT_TRUE(same(static_cast<int64_t>(rng() % 1'000'000'000'000'000), scale));
      ASSERT_TRUE(same(static_cast<int64_t>(rng() % 100'000'000), scale));
    }
    for (int64_t u : {int64_t{999'999'999'999'999}, int64_t{1'000'000'000'000'000},
                      int64_t{1'000'000'000'000'001}, int64_t{123'456'789'012'345'678}, INT64_MAX,
                      int64_t{-1}, int64_t{-1'500'000}, INT64_MIN}) {
      ASSERT_TRUE(same(u, scale));
    }
  }
}

}  // namespace interlock
