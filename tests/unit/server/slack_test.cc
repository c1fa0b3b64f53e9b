// Unit tests of the Slack callback checks and message (daemon/slack.h).
#include "daemon/slack.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "daemon/config.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace interlock::server {
namespace {

namespace json = boost::json;

constexpr char kSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr char kBody[] = "payload=%7B%22type%22%3A%22block_actions%22%7D";

TimePoint At(int64_t unix_seconds) { return FromUnixMillis(unix_seconds * 1000); }

std::string Sign(std::string_view secret, std::string_view ts, std::string_view body) {
  return "v0=" + HmacSha256Hex(secret, "v0:" + std::string(ts) + ":" + std::string(body));
}

// Tests that Slack's documented example request verifies (api.slack.com, "Verifying
// requests from Slack").
TEST(SlackSignatureTest, SlackDocumentedExampleVerifies) {
  const std::string body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
      "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
      "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"
      "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."
      "803a0bc887a14d10d2c447fce8b6703c";
  EXPECT_EQ(
      VerifySlackSignature(kSecret, "1531420618", body,
                           "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                           At(1531420618)),
      SlackCheck::kOk);
}

// Tests that a signature made with another secret, over another body, or another timestamp
// is forged.
TEST(SlackSignatureTest, ForgedSignatureRefused) {
  const int64_t now = 1700000000;
  const std::string ts = std::to_string(now);
  EXPECT_EQ(VerifySlackSignature(kSecret, ts, kBody, Sign(kSecret, ts, kBody), At(now)),
            SlackCheck::kOk);
  EXPECT_EQ(VerifySlackSignature(kSecret, ts, kBody, Sign("other", ts, kBody), At(now)),
            SlackCheck::kForged);
  EXPECT_EQ(VerifySlackSignature(kSecret, ts, std::string(kBody) + "x", Sign(kSecret, ts, kBody),
                                 At(now)),
            SlackCheck::kForged);
  EXPECT_EQ(VerifySlackSignature(kSecret, std::to_string(now + 1), kBody, Sign(kSecret, ts, kBody),
                                 At(now)),
            SlackCheck::kForged);
  // Upper-case hex, a missing version, v1: not what Slack sends.
  std::string upper = Sign(kSecret, ts, kBody);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(VerifySlackSignature(kSecret, ts, kBody, upper, At(now)), SlackCheck::kForged);
  EXPECT_EQ(VerifySlackSignature(kSecret, ts, kBody, Sign(kSecret, ts, kBody).substr(3), At(now)),
            SlackCheck::kForged);
  EXPECT_EQ(
      VerifySlackSignature(kSecret, ts, kBody, "v1=" + Sign(kSecret, ts, kBody).substr(3), At(now)),
      SlackCheck::kForged);
}

// Tests that a timestamp more than five minutes from now (either way), or not a number, is
// refused before the signature is even looked at.
TEST(SlackSignatureTest, StaleTimestampRefused) {
  const int64_t now = 1700000000;
  for (int64_t ts : {now - 301, now + 301, int64_t{0}}) {
    const std::string t = std::to_string(ts);
    EXPECT_EQ(VerifySlackSignature(kSecret, t, kBody, Sign(kSecret, t, kBody), At(now)),
              SlackCheck::kStale)
        << ts;
  }
  for (int64_t ts : {now - 300, now + 300}) {
    const std::string t = std::to_string(ts);
    EXPECT_EQ(VerifySlackSignature(kSecret, t, kBody, Sign(kSecret, t, kBody), At(now)),
              SlackCheck::kOk);
  }
  EXPECT_EQ(VerifySlackSignature(kSecret, "17e8", kBody, Sign(kSecret, "17e8", kBody), At(now)),
            SlackCheck::kStale);
  EXPECT_EQ(VerifySlackSignature(kSecret, "", kBody, "v0=00", At(now)), SlackCheck::kMissing);
  EXPECT_EQ(VerifySlackSignature(kSecret, "1700000000", kBody, "", At(now)), SlackCheck::kMissing);
}

// Tests that a replayed (signature, timestamp) is refused, that the cache stays bounded, and
// that entries too old to be accepted again are forgotten.
TEST(SlackReplayCacheTest, ReplayRefusedAndBounded) {
  SlackReplayCache cache(3);
  const TimePoint now = At(1700000000);
  EXPECT_TRUE(cache.FirstSeen("v0=a", "1", now));
  EXPECT_FALSE(cache.FirstSeen("v0=a", "1", now));
  EXPECT_TRUE(cache.FirstSeen("v0=a", "2", now));
  EXPECT_TRUE(cache.FirstSeen("v0=b", "1", now));
  EXPECT_TRUE(cache.FirstSeen("v0=c", "1", now));  // the oldest ("v0=a", "1") is dropped
  EXPECT_TRUE(cache.FirstSeen("v0=a", "1", now));
  EXPECT_FALSE(cache.FirstSeen("v0=c", "1", now));
  SlackReplayCache aging(100);
  EXPECT_TRUE(aging.FirstSeen("v0=x", "1", now));
  EXPECT_TRUE(aging.FirstSeen("v0=y", "1", now + std::chrono::minutes(11)));
  EXPECT_TRUE(aging.FirstSeen("v0=x", "1", now + std::chrono::minutes(11)));
}

std::string Form(const json::value& payload) {
  std::string out = "payload=";
  for (const unsigned char c : json::serialize(payload)) {
    if (std::isalnum(c)) {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Tests that a block_actions payload yields the pressed Interlock button, its approval id and
// the Slack user, and that malformed forms are errors.
TEST(SlackInteractionTest, ParsesBlockActions) {
  json::object p{{"type", "block_actions"},
                 {"user", {{"id", "U0123"}}},
                 {"team", {{"id", "T9"}}},
                 {"actions", json::array{json::object{{"action_id", "other"}, {"value", "x"}},
                                         json::object{{"action_id", "interlock_deny"},
                                                      {"value", "apr_1 2"}}}}};
  Result<SlackAction> a = ParseSlackInteraction("token=x&" + Form(p));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->approval_id, "apr_1 2");
  EXPECT_FALSE(a->approve);
  EXPECT_EQ(a->user_id, "U0123");
  EXPECT_EQ(a->team_id, "T9");
  EXPECT_FALSE(ParseSlackInteraction("").ok());
  EXPECT_FALSE(ParseSlackInteraction("payload=%7").ok());
  EXPECT_FALSE(ParseSlackInteraction("payload=%zz").ok());
  EXPECT_FALSE(ParseSlackInteraction(Form(p) + "&" + Form(p)).ok());
  p["type"] = "view_submission";
  EXPECT_FALSE(ParseSlackInteraction(Form(p)).ok());
  p["type"] = "block_actions";
  p.erase("user");
  EXPECT_FALSE(ParseSlackInteraction(Form(p)).ok());
}

// Tests that the Web API base is https, or http on loopback only.
TEST(SlackApiBaseTest, HttpOnlyOnLoopback) {
  EXPECT_EQ(*CheckSlackApiBase("https://slack.com/api/"), "https://slack.com/api");
  EXPECT_TRUE(CheckSlackApiBase("http://127.0.0.1:9/api").ok());
  EXPECT_TRUE(CheckSlackApiBase("http://[::1]:9/api").ok());
  EXPECT_FALSE(CheckSlackApiBase("http://slack.com/api").ok());
  EXPECT_FALSE(CheckSlackApiBase("https://user:pw@slack.com/api").ok());
  EXPECT_FALSE(CheckSlackApiBase("ftp://slack.com/api").ok());
}

// Tests that a pending approval's message has Approve/Deny carrying its id and the Edit link,
// escapes Slack's control characters, and that a decided one has no buttons.
TEST(SlackMessageTest, PendingHasButtonsDecidedHasNone) {
  core::Approvals::Review review;
  review.approval.approval_id = "apr_1";
  review.approval.tool = "send<email>";
  review.approval.agent_id = "a&b";
  review.approval.deadline = At(1700000060);
  json::object m = SlackApprovals::Message(review, "http://x/ui/#/approvals/apr_1", At(1700000000));
  const std::string text = json::serialize(m);
  EXPECT_NE(text.find("interlock_approve"), std::string::npos);
  EXPECT_NE(text.find("\"value\":\"apr_1\""), std::string::npos);
  EXPECT_NE(text.find("http://x/ui/#/approvals/apr_1"), std::string::npos);
  EXPECT_NE(text.find("send&lt;email&gt;"), std::string::npos);
  EXPECT_NE(text.find("a&amp;b"), std::string::npos);
  EXPECT_NE(text.find("60 s"), std::string::npos);
  review.approval.state = core::ApprovalState::kDenied;
  review.approval.votes.push_back({"rita", "deny", "no", At(1700000001)});
  const std::string decided = json::serialize(SlackApprovals::Message(review, "", At(1)));
  EXPECT_EQ(decided.find("interlock_approve"), std::string::npos);
  EXPECT_NE(decided.find("rita (deny)"), std::string::npos);
}

// Tests that the slack: section is read with its secrets' paths resolved against the config
// file, and that a section missing a secret file or carrying an unknown key is refused.
TEST(SlackConfigTest, ReadsSectionAndRefusesIncomplete) {
  testing::TempDir dir;
  ServerConfig c;
  const std::string ok = dir.Write("ok.yaml",
                                   "slack:\n  channel: C1\n  bot_token_file: bot\n"
                                   "  signing_secret_file: sign\n  users: {U1: rita, U2: bob}\n");
  ASSERT_TRUE(LoadServerConfig(ok, &c).ok());
  EXPECT_EQ(c.slack.channel, "C1");
  EXPECT_EQ(c.slack.bot_token_file, dir.path() + "/bot");
  EXPECT_EQ(c.slack.users.at("U2"), "bob");
  EXPECT_EQ(c.slack.api_base, "https://slack.com/api");
  ServerConfig c2;
  Status missing =
      LoadServerConfig(dir.Write("m.yaml", "slack:\n  channel: C1\n  bot_token_file: b\n"), &c2);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("signing_secret_file"), std::string::npos);
  ServerConfig c3;
  Status typo = LoadServerConfig(dir.Write("t.yaml", "slack:\n  chanel: C1\n"), &c3);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("slack.chanel"), std::string::npos);
}

// Tests that only a confirmed e-mail of a person is taken from a users.info answer: a
// deactivated user, a bot, an unconfirmed or a missing address is refused, saying why.
TEST(SlackUserEmailTest, OnlyAConfirmedAddressOfAPerson) {
  json::object user{{"id", "U1"},
                    {"is_email_confirmed", true},
                    {"profile", json::object{{"email", "rita@example.com"}}}};
  Result<std::string> ok = SlackUserEmail(user);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, "rita@example.com");
  for (const auto& [key, value] :
       std::vector<std::pair<const char*, json::value>>{{"deleted", true},
                                                        {"is_bot", true},
                                                        {"is_email_confirmed", false},
                                                        {"is_email_confirmed", "true"},
                                                        {"profile", json::object{}}}) {
    json::object bad = user;
    bad[key] = value;
    Result<std::string> r = SlackUserEmail(bad);
    EXPECT_FALSE(r.ok()) << key;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied) << key;
    }
  }
  json::object unconfirmed = user;
  unconfirmed.erase("is_email_confirmed");
  EXPECT_FALSE(SlackUserEmail(unconfirmed).ok());
}

// Tests that the JSON-lines state file of an older release is imported into the store once
// (the last line of an approval wins; a record the store has already is kept; a torn line
// is skipped) and renamed, so that a second start imports nothing.
TEST(SlackStateFileTest, ImportedIntoTheStoreOnceAndRenamed) {
  testing::TempDir dir;
  store::StoreOptions so;
  so.path = dir.File("s.db");
  auto st = store::SqliteStore::Open(so);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ManualClock clock(At(1700000000));
  core::ApprovalMessage newer{"apr_kept", "slack", "C9", "9.9", true, At(1700000000)};
  ASSERT_TRUE((*st)->PutApprovalMessage(newer, false).ok());
  const std::string file =
      dir.Write("slack-messages.jsonl",
                R"({"approval_id":"apr_1","channel":"C1","ts":"1.1","final":false})"
                "\n"
                R"({"approval_id":"apr_2","channel":"C1","ts":"2.2","final":false})"
                "\n"
                R"({"approval_id":"apr_2","channel":"C1","ts":"2.2","final":true})"
                "\n"
                R"({"approval_id":"apr_kept","channel":"C1","ts":"3.3","final":false})"
                "\n"
                R"({"approval_id":"apr_3","chan)");
  for (int start = 0; start < 2; ++start) {
    SlackOptions o;
    o.api_base = "http://127.0.0.1:9/api";
    o.channel = "C1";
    o.state_file = file;
    o.drain_timeout = std::chrono::milliseconds(0);
    auto slack = SlackApprovals::Create(std::move(o), nullptr, st->get(), &clock);
    ASSERT_TRUE(slack.ok()) << slack.error().message;
  }
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_TRUE(std::filesystem::exists(file + ".imported"));
  auto one = (*st)->GetApprovalMessage("apr_1", "slack");
  ASSERT_TRUE(one.ok() && one->has_value());
  EXPECT_EQ((*one)->ts, "1.1");
  EXPECT_FALSE((*one)->final);
  auto two = (*st)->GetApprovalMessage("apr_2", "slack");
  ASSERT_TRUE(two.ok() && two->has_value());
  EXPECT_TRUE((*two)->final);
  auto kept = (*st)->GetApprovalMessage("apr_kept", "slack");
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->ts, "9.9");
  auto torn = (*st)->GetApprovalMessage("apr_3", "slack");
  ASSERT_TRUE(torn.ok());
  EXPECT_FALSE(torn->has_value());
}

}  // namespace
}  // namespace interlock::server
