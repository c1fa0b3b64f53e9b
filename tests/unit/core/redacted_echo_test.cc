// A tool result echoing a redacted argument (a `login(password)` answering "logged in with
// password hunter2") is masked before it is stored, or withheld when the values are not
// known: audit::Redactor::EchoForms, core::ResultMaskFor / ResultJson and
// core::RedactedValues.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "audit/redact.h"
#include "common/crypto.h"
#include "common/time.h"
#include "core/app/calls.h"
#include "core/app/offline_run.h"
#include "core/redacted_values.h"
#include "core/run_txn.h"
#include "policy/loader.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

const audit::Redactor kRedactor("test-key");

// The arguments as the store records them: `fields` of `plain` hashed.
json::object Recorded(const json::object& plain, const std::vector<std::string>& fields) {
  return kRedactor.RedactArgs(plain, fields);
}

// The stored result (serialized) of `r` for a call with `plain` args, `password` redacted.
std::string Stored(const CallResult& r, const json::object& plain) {
  const json::object recorded = Recorded(plain, {"password"});
  return json::serialize(ResultJson(
      r, ResultMaskFor(kRedactor, recorded,
                       RedactedValues::Pick(plain, std::vector<std::string>{"password"}))));
}

CallResult Output(std::string output_json, std::string error = "") {
  CallResult r;
  r.output_json = std::move(output_json);
  r.error = std::move(error);
  return r;
}

// Tests that a redacted value echoed at the start, middle and end of a text, and repeated,
// is masked everywhere and the rest of the text kept.
TEST(RedactedEchoTest, EchoAtStartMiddleEndAndRepeatedIsMasked) {
  const json::object args{{"user", "ann"}, {"password", "hunter2"}};
  const std::string s =
      Stored(Output(R"("hunter2 logged in with hunter2, hunter2hunter2 and hunter2")"), args);
  EXPECT_EQ(s.find("hunter2"), std::string::npos) << s;
  EXPECT_NE(s.find("[REDACTED] logged in with [REDACTED], [REDACTED][REDACTED] and [REDACTED]"),
            std::string::npos)
      << s;
}

// Tests that an echo inside structuredContent (nested JSON strings, a key) and inside the
// JSON text of an MCP text content item is masked, escaped forms included.
TEST(RedactedEchoTest, EchoInsideStructuredContentAndJsonTextIsMasked) {
  const json::object args{{"password", "hun\"ter2"}};
  const json::value out{
      {"content", json::array{json::object{{"type", "text"}, {"text", R"({"echo":"hun\"ter2"})"}}}},
      {"structuredContent",
       json::object{{"echo", json::array{"x hun\"ter2 y"}}, {"hun\"ter2", 1}}}};
  const std::string s = Stored(Output(json::serialize(out)), args);
  EXPECT_EQ(s.find("ter2"), std::string::npos) << s;
}

// Tests that an echo in the error message is masked.
TEST(RedactedEchoTest, EchoInErrorMessageIsMasked) {
  const std::string s =
      Stored(Output("", "bad password 'hunter2' for ann"), json::object{{"password", "hunter2"}});
  EXPECT_EQ(s.find("hunter2"), std::string::npos) << s;
  EXPECT_NE(s.find("bad password '[REDACTED]' for ann"), std::string::npos) << s;
}

// Tests that values shorter than kMinEchoBytes are left alone (masking "ab" would wreck
// the text), and that a four-byte one is masked.
TEST(RedactedEchoTest, ShortValuesAreLeftAlone) {
  EXPECT_EQ(audit::Redactor::kMinEchoBytes, 4u);
  std::string s = Stored(Output(R"("a cab and a tab")"), json::object{{"password", "ab"}});
  EXPECT_NE(s.find("a cab and a tab"), std::string::npos) << s;
  s = Stored(Output(R"("PIN 4821 accepted")"), json::object{{"password", "4821"}});
  EXPECT_NE(s.find("PIN [REDACTED] accepted"), std::string::npos) << s;
  s = Stored(Output(R"("PIN 4821 accepted")"), json::object{{"password", 4821}});
  EXPECT_NE(s.find("PIN [REDACTED] accepted"), std::string::npos) << s;
}

// Tests that a non-ASCII value is masked as UTF-8 and as the \uXXXX escapes a JSON writer
// with ensure_ascii writes (lower and upper case, a surrogate pair beyond U+FFFF).
TEST(RedactedEchoTest, UnicodeValueIsMaskedRawAndEscaped) {
  const json::object args{{"password", "p\xC3\xA4ss\xF0\x9F\x94\x91"}};  // "päss🔑"
  const std::string text =
      "raw p\xC3\xA4ss\xF0\x9F\x94\x91, "
      "ascii p\\u00e4ss\\ud83d\\udd11, upper p\\u00E4ss\\uD83D\\uDD11";
  const std::string s = Stored(Output(json::serialize(json::value(text))), args);
  EXPECT_EQ(s.find("ss"), std::string::npos) << s;
  EXPECT_NE(s.find("raw [REDACTED], ascii [REDACTED], upper [REDACTED]"), std::string::npos) << s;
}

// Tests that the string leaves of an object or array value are masked, not its keys.
TEST(RedactedEchoTest, LeavesOfObjectValuesAreMasked) {
  const json::object args{{"password", json::object{{"secret", json::array{"s3cr3t-one", "x"}}}}};
  const std::vector<std::string> forms =
      audit::Redactor::EchoForms(RedactedValues::Pick(args, std::vector<std::string>{"password"}));
  // The one long leaf, in its written and encoded forms (audit::Redactor::EchoForms); the
  // short leaf "x" gives none.
  EXPECT_EQ(forms, audit::Redactor::EchoForms(json::object{{"password", "s3cr3t-one"}}));
  ASSERT_FALSE(forms.empty());
  EXPECT_EQ(forms.front(), "s3cr3t-one");
  const std::string s = Stored(Output(R"({"secret":"s3cr3t-one"})"), args);
  EXPECT_EQ(s.find("s3cr3t-one"), std::string::npos) << s;
  EXPECT_NE(s.find("\"secret\""), std::string::npos) << s;
}

// Tests that an output over the cap is masked before it is cut (no part of a value left at
// the cut), and that a door's truncation marker's prefix ending in the first bytes of a
// value has that end masked.
TEST(RedactedEchoTest, TruncatedOutputsLeaveNoPartOfTheValue) {
  const json::object args{{"password", "hunter2-long-secret"}};
  std::string big(kMaxResultOutputBytes - 5, 'x');
  big += "hunter2-long-secret";
  std::string s = Stored(Output(json::serialize(json::value(big))), args);
  EXPECT_EQ(s.find("hunte"), std::string::npos) << s.substr(s.size() - 200);
  const json::value marker{{"truncated", true}, {"bytes", 99999}, {"prefix", "abc hunter2-lo"}};
  s = Stored(Output(json::serialize(marker)), args);
  EXPECT_EQ(s.find("hunter2"), std::string::npos) << s;
  EXPECT_NE(s.find("abc [REDACTED]"), std::string::npos) << s;
}

// Tests the attack on a cut output's digest: a reader of the audit log who knows the rest
// of a long output (a template, a file) hashes it with each guess of the redacted value
// until the digest matches. The digest is of the masked text, so no guess confirms.
TEST(RedactedEchoTest, CutOutputDigestConfirmsNoGuessOfTheValue) {
  const json::object args{{"password", "hunter2"}};
  const std::string known(kMaxResultOutputBytes, 'k');
  const std::string output = json::serialize(json::value(known + " pw=hunter2"));
  const json::value stored = json::parse(Stored(Output(output), args));
  const json::object& marker = stored.at("output").as_object();
  EXPECT_EQ(marker.at("truncated"), true);
  EXPECT_EQ(marker.at("bytes").to_number<size_t>(), output.size());
  const std::string digest(marker.at("sha256").as_string());
  EXPECT_NE(digest, Sha256Hex(output));  // the guess "hunter2" does not confirm
  EXPECT_EQ(digest, Sha256Hex(json::serialize(json::value(known + " pw=[REDACTED]"))));
  EXPECT_EQ(marker.at("prefix").as_string().size(), 1024u);
}

// Tests that cutting a long output before the store's transaction (on the caller's
// thread, so a 1 MiB result does not stall the writer every agent shares) stores exactly
// what the cut in the transaction stores: with the values known, without any redacted
// argument, and withheld (the whole output's size kept).
TEST(RedactedEchoTest, CutBeforeTheStoreStoresWhatTheTransactionWould) {
  const json::object plain{{"password", "hunter2-long-secret"}};
  const json::object recorded = Recorded(plain, {"password"});
  const std::string output =
      json::serialize(json::value(std::string(kMaxResultOutputBytes, 'x') + "hunter2-long-secret"));
  for (const bool known : {true, false}) {
    CallResult whole = Output(output);
    if (known)
      whole.redacted_args = RedactedValues::Pick(plain, std::vector<std::string>{"password"});
    CallResult cut = whole;
    CutOutputBeforeTheStore(&cut);
    EXPECT_LT(cut.output_json.size(), 2048u);
    EXPECT_EQ(cut.output_bytes, output.size());
    for (const json::object& args : {recorded, json::object{{"q", "x"}}}) {
      const ResultMask mask_whole = ResultMaskFor(kRedactor, args, whole.redacted_args);
      const ResultMask mask_cut = ResultMaskFor(kRedactor, args, cut.redacted_args);
      EXPECT_EQ(mask_cut.withhold, !known && args.contains("password"));
      EXPECT_EQ(json::serialize(ResultJson(cut, mask_cut)),
                json::serialize(ResultJson(whole, mask_whole)))
          << known;
    }
  }
}

// Tests that a door sending an output to another process (the MCP gateway and the hook to
// a daemon) cuts it to a marker without a digest, whose prefix's cut value the receiving
// core masks; an output within the limit passes whole.
TEST(RedactedEchoTest, TransportCutHasNoDigestAndItsCutValueIsMasked) {
  const json::object args{{"password", "hunter2-long-secret"}};
  const std::string output =
      json::serialize(json::value(std::string(1017, 'x') + "hunter2-long-secret"));
  const std::string sent = OutputCutForTransport(output, 512);
  EXPECT_EQ(sent.find("sha256"), std::string::npos) << sent;
  const std::string s = Stored(Output(sent), args);
  EXPECT_EQ(s.find("hunte"), std::string::npos) << s;
  EXPECT_NE(s.find("[REDACTED]"), std::string::npos) << s;
  EXPECT_EQ(OutputCutForTransport(output, output.size()), output);
}

// Tests the fail-safe: a call recorded with a redacted argument whose value is not known
// (a daemon restart, another daemon of a fleet) or does not hash to the recorded one has
// its output and error withheld, sizes kept; a call without redacted arguments is stored.
TEST(RedactedEchoTest, UnknownValuesWithholdTheResult) {
  const json::object plain{{"password", "hunter2"}};
  const json::object recorded = Recorded(plain, {"password"});
  const CallResult r = Output(R"("logged in with hunter2")", "hunter2");
  for (const std::optional<json::object>& given :
       {std::optional<json::object>(), std::optional<json::object>(json::object{}),
        std::optional<json::object>(json::object{{"password", "other"}})}) {
    const ResultMask mask = ResultMaskFor(kRedactor, recorded, given);
    EXPECT_TRUE(mask.withhold);
    const std::string s = json::serialize(ResultJson(r, mask));
    EXPECT_EQ(s.find("hunter2"), std::string::npos) << s;
    EXPECT_NE(s.find("\"output_bytes\":" + std::to_string(r.output_json.size())), std::string::npos)
        << s;
  }
  const ResultMask none = ResultMaskFor(kRedactor, json::object{{"q", "x"}}, std::nullopt);
  EXPECT_FALSE(none.withhold);
  EXPECT_NE(json::serialize(ResultJson(r, none)).find("logged in with hunter2"), std::string::npos);
}

// Tests that kept values are found until the TTL, dropped on Forget, merged for a call
// kept twice (an approval re-submitted with edited arguments), and bounded in count.
TEST(RedactedValuesTest, KeepsBoundedAndExpires) {
  RedactedValues values;
  const TimePoint t0 = FromUnixMillis(1'000'000);
  values.Keep("c1", json::object{{"password", "hunter2"}}, t0);
  ASSERT_TRUE(values.Find("c1", t0 + RedactedValues::kTtl).has_value());
  EXPECT_FALSE(values.Find("c1", t0 + RedactedValues::kTtl + std::chrono::seconds(1)));
  values.Keep("c1", json::object{{"password", "edited-pw"}}, t0);
  auto both = values.Find("c1", t0);
  ASSERT_TRUE(both);
  EXPECT_EQ(json::serialize(*both), R"({"password":"hunter2","password#2":"edited-pw"})");
  values.Forget("c1");
  EXPECT_FALSE(values.Find("c1", t0));
  for (size_t i = 0; i < RedactedValues::kMaxCalls + 10; ++i) {
    values.Keep("k" + std::to_string(i), json::object{{"p", "v"}}, t0);
  }
  EXPECT_EQ(values.size(), RedactedValues::kMaxCalls);
  EXPECT_FALSE(values.Find("k0", t0));  // the oldest went first
  EXPECT_TRUE(values.Find("k" + std::to_string(RedactedValues::kMaxCalls + 9), t0));
  // Expired entries go when another is kept.
  values.Keep("late", json::object{{"p", "v"}}, t0 + RedactedValues::kTtl + std::chrono::hours(1));
  EXPECT_EQ(values.size(), 1u);
}

// Tests that a constraint's deny reason, which quotes the argument's value, does not quote
// a redacted one (the reason is in the decision record): long, short (quoted, so masked
// there) and cut at 80 bytes.
TEST(RedactedEchoTest, DenyReasonQuotingRedactedArgumentIsMasked) {
  std::vector<policy::Diagnostic> diags;
  auto agent = policy::ParseAgentPolicy(R"(agent:
  id: a
tools:
  allowed:
    - name: login
      redact: [password]
      constraints:
        arguments:
          password:
            not_pattern: "[0-9]"
)",
                                        "p.yaml", &diags);
  ASSERT_TRUE(agent.ok()) << agent.error().message;
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = *agent;
  OfflineRun run(set, 8);
  ASSERT_TRUE(run.Start("a", "r", FromUnixMillis(1'000'000)).ok());
  for (const std::string& pw :
       {std::string("hunter2-xyz"), std::string("ab1"), "zz" + std::string(100, 'q') + "7"}) {
    ToolCall call;
    call.tool = "login";
    call.args = json::object{{"password", pw}};
    GuardResponse r = run.Decide(std::move(call));
    EXPECT_EQ(r.decision.verdict, Verdict::kDeny);
    EXPECT_EQ(r.decision.reason.find(pw.substr(0, 3)), std::string::npos) << r.decision.reason;
    EXPECT_NE(r.decision.reason.find("[REDACTED]"), std::string::npos) << r.decision.reason;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
