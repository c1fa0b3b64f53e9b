// Reviewer and admin sign-in with OpenID Connect (identity.oidc, docs/identity.md): a real
// `interlock serve` against an in-process OpenID provider on 127.0.0.1 (https, a
// self-signed certificate) whose token endpoint returns the ID token each test crafts, so
// every attack a real provider would never help with can be tried: replayed, forged and
// unbound states, wrong nonces, audiences and expiries, people of no role, votes without
// the CSRF token or from another origin, forged and expired cookies; and the two-person
// rule counting people (the provider's subject), not sessions. The full flow through a
// real provider (npm oidc-provider) and real Chromium is tests/browser (OidcBrowser).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "common/base64.h"
#include "common/crypto.h"
#include "common/file.h"
#include "daemon/metrics.h"
#include "daemon_harness.h"
#include "doors/http_api/http_server.h"
#include "fake_slack.h"
#include "identity/oidc_session.h"
#include "issuer_suite.h"
#include "json_lines.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_idp.h"
#include "tls_server.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace json = boost::json;
namespace http = boost::beast::http;

constexpr char kClientId[] = "interlock-console";
constexpr char kSecret[] = "s3cret-for-the-test";
constexpr char kSlackSigningSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";

constexpr char kPolicy[] = R"(agent:
  id: "support"
  identity: "support@example.iam"
tools:
  allowed:
    - name: "send"
      requires_approval: true
      approval_timeout_seconds: 300
    - name: "drop_table"
      reversible: false
      blast_radius: large
      approvals_required: 2
      approval_timeout_seconds: 300
)";

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The provider: discovery, keys, and a token endpoint answering with `id_token(nonce)`.
class Provider final : public server::RequestHandler {
 public:
  void Handle(server::HttpRequest req, server::Responder r) override {
    server::HttpResponse res(http::status::ok, req.version());
    res.set(http::field::content_type, "application/json");
    std::lock_guard lock(mu);
    const std::string target(req.target());
    if (target == "/.well-known/openid-configuration") {
      res.body() = json::serialize(json::object{{"issuer", issuer},
                                                {"authorization_endpoint", issuer + "/authorize"},
                                                {"token_endpoint", issuer + "/token"},
                                                {"jwks_uri", issuer + "/jwks"}});
    } else if (target == "/jwks") {
      res.body() = jwks;
    } else if (target == "/token" && req.method() == http::verb::post) {
      token_requests.push_back(req.body());
      authorization = std::string(req[http::field::authorization]);
      if (!token_error.empty()) {
        res.result(http::status::bad_request);
        res.body() = json::serialize(json::object{{"error", token_error}});
      } else {
        res.body() =
            json::serialize(json::object{{"id_token", id_token}, {"token_type", "Bearer"}});
      }
    } else {
      res.result(http::status::not_found);
    }
    res.prepare_payload();
    r.Send(std::move(res));
  }
  std::mutex mu;
  std::string issuer, jwks, id_token, authorization;
  std::string token_error;  // non-empty: the token endpoint refuses the code with it
  std::vector<std::string> token_requests;
};

// The query parameters of a URL.
std::map<std::string, std::string> QueryOf(const std::string& url) {
  std::map<std::string, std::string> out;
  auto u = boost::urls::parse_uri_reference(url);
  if (!u) return out;
  for (const auto& p : u->params()) out[p.key] = p.value;
  return out;
}

// "name=value" of a Set-Cookie header (attributes dropped).
std::string CookiePair(const std::string& set_cookie) {
  return set_cookie.substr(0, set_cookie.find(';'));
}

class OidcSignIn : public IssuerSuite<Provider> {
 protected:
  OidcSignIn() : IssuerSuite("idp-1") {}
  void SetUp() override {
    StartIssuer();
    std::ofstream(policies_ + "/support.yaml") << kPolicy;
    dir_.Write("client-secret", std::string(kSecret) + "\n");
  }
  void TearDown() override {
    client_.reset();
    if (daemon_ && daemon_->Running()) {
      EXPECT_EQ(daemon_->Stop(), 0) << daemon_->log();
    }
    if (idp_server_) idp_server_->Shutdown();
  }

  void StartDaemon(const std::string& issuer, const std::string& extra = "") {
    const std::string config = dir_.Write(
        "interlock.yaml", extra + "identity:\n  oidc:\n    issuer: \"" + issuer +
                              "\"\n    client_id: \"" + kClientId +
                              "\"\n    client_secret_file: \"client-secret\"\n"
                              "    ca_file: \"" +
                              cert_.cert +
                              "\"\n    name: \"Test IdP\"\n"
                              "    scopes: [openid, profile, groups]\n"
                              "    reviewer_values: [reviewers]\n    admin_values: [admins]\n");
    MakeDaemon(config);
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    if (!extra.empty()) return;  // TLS: the test uses curl
    client_ = std::make_unique<HttpClient>(daemon_->port());
    agent_ = CreateToken(daemon_->store(), "--agent", "support");
  }
  void SetUpDaemon() { StartDaemon(issuer_); }

  // The daemon with a sign-in that names people by their verified e-mail, and Slack (the
  // stand-in `slack`) whose users not in slack.users vote by their confirmed e-mail.
  void StartSlackByEmailDaemon(const FakeSlack& slack) {
    dir_.Write("slack-bot-token", std::string(kFakeSlackBotToken) + "\n");
    dir_.Write("slack-signing-secret", std::string(kSlackSigningSecret) + "\n");
    const std::string config = dir_.Write(
        "interlock.yaml",
        "approvals:\n  sweep_ms: 50\n"
        "slack:\n  channel: C0APPROVALS\n  api_base: \"http://127.0.0.1:" +
            std::to_string(slack.port()) +
            "/api\"\n  bot_token_file: slack-bot-token\n"
            "  signing_secret_file: slack-signing-secret\n  users_by_email: true\n"
            "identity:\n  oidc:\n    issuer: \"" +
            issuer_ + "\"\n    client_id: \"" + kClientId +
            "\"\n    client_secret_file: \"client-secret\"\n    ca_file: \"" + cert_.cert +
            "\"\n    scopes: [openid, profile, email, groups]\n    name_claim: email\n"
            "    reviewer_values: [reviewers]\n");
    MakeDaemon(config);
    StartAndConnect();
    agent_ = CreateToken(daemon_->store(), "--agent", "support");
  }

  // A sign-in whose ID token carries `email` (`verified`: email_verified); the callback.
  HttpResult SignInByEmail(const std::string& sub, const std::string& email, bool verified) {
    Login l = StartLogin();
    {
      std::lock_guard lock(idp_.mu);
      idp_.id_token = IdToken(sub, l.nonce, {"reviewers"}, [&](json::object& c) {
        c["email"] = email;
        c["email_verified"] = verified;
      });
    }
    return Callback(l.state, l.cookie);
  }

  // A Slack button press of `user`, signed as Slack signs it.
  HttpResult SlackPress(const std::string& user, const std::string& approval, bool approve) {
    const std::string body = ButtonPress(user, approval, approve);
    const std::string ts = std::to_string(Now());
    return client_->Request(
        "POST", "/v1/slack/interactions", body, "", std::chrono::seconds(10),
        {{"Content-Type", "application/x-www-form-urlencoded"},
         {"X-Slack-Request-Timestamp", ts},
         {"X-Slack-Signature",
          "v0=" + HmacSha256Hex(kSlackSigningSecret, "v0:" + ts + ":" + body)}});
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(daemon_->port()); }

  struct Login {
    std::string state, nonce, cookie;  // cookie: "name=value" binding the sign-in
    std::map<std::string, std::string> query;
  };
  // GET /ui/oidc/login: the redirect to the provider.
  Login StartLogin() {
    Login l;
    HttpResult r = client_->Request("GET", "/ui/oidc/login");
    EXPECT_EQ(r.status, 302) << r.body;
    l.query = QueryOf(r.headers["location"]);
    EXPECT_EQ(r.headers["location"].rfind(issuer_ + "/authorize?", 0), 0u) << r.headers["location"];
    l.state = l.query["state"];
    l.nonce = l.query["nonce"];
    l.cookie = CookiePair(r.headers["set-cookie"]);
    return l;
  }

  // An ID token as the provider would sign it; `change` edits the claims.
  std::string IdToken(const std::string& sub, const std::string& nonce,
                      const json::array& groups = {"reviewers"},
                      const std::function<void(json::object&)>& change = {}) {
    json::object claims{{"iss", issuer_},     {"aud", kClientId}, {"sub", sub},      {"iat", Now()},
                        {"exp", Now() + 300}, {"nonce", nonce},   {"groups", groups}};
    if (change) change(claims);
    return SignJwt(key_, {{"alg", key_.alg}, {"kid", key_.kid}, {"typ", "JWT"}}, claims);
  }

  HttpResult Callback(const std::string& state, const std::string& cookie,
                      const std::string& code = "the-code") {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!cookie.empty()) headers.emplace_back("Cookie", cookie);
    return client_->Request("GET", "/ui/oidc/callback?code=" + code + "&state=" + state, "", "",
                            std::chrono::seconds(10), headers);
  }

  // A full sign-in of `sub`; the session cookie ("name=value") or "" when refused.
  std::string SignIn(const std::string& sub, const json::array& groups = {"reviewers"}) {
    Login l = StartLogin();
    {
      std::lock_guard lock(idp_.mu);
      idp_.id_token = IdToken(sub, l.nonce, groups);
    }
    HttpResult r = Callback(l.state, l.cookie);
    if (r.status != 302) return "";
    EXPECT_EQ(r.headers["location"], "/ui/");
    const std::string c = r.headers["set-cookie"];
    EXPECT_NE(c.find("HttpOnly"), std::string::npos) << c;
    EXPECT_NE(c.find("SameSite=Strict"), std::string::npos) << c;
    return CookiePair(c);
  }

  // GET /ui/oidc/session with the cookie.
  json::value Session(const std::string& cookie) {
    HttpResult r = client_->Request("GET", "/ui/oidc/session", "", "", std::chrono::seconds(10),
                                    {{"Cookie", cookie}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }

  // The audit records of `type` (GET /v1/audit as a reviewer), once `ready` holds for them
  // (refusals are coalesced into auth_failed records written within about a second).
  std::vector<json::object> Audit(
      const std::string& type, const std::function<bool(const std::vector<json::object>&)>& ready =
                                   [](const auto& r) { return !r.empty(); }) {
    if (auditor_.empty()) auditor_ = CreateToken(daemon_->store(), "--reviewer", "auditor");
    std::vector<json::object> out;
    WaitUntil(
        [&] {
          out.clear();
          HttpResult r = client_->Request("GET", "/v1/audit?limit=1000&type=" + type, "", auditor_);
          EXPECT_EQ(r.status, 200) << r.body;
          if (r.status != 200) return true;  // stop: the EXPECT says why
          for (const auto& rec : r.json.at("records").as_array()) out.push_back(rec.as_object());
          return ready(out);
        },
        std::chrono::seconds(10), std::chrono::milliseconds(100));
    return out;
  }
  // How many refusals of `code` the auth_failed records count.
  uint64_t Refusals(const std::vector<json::object>& records, const std::string& code) {
    uint64_t n = 0;
    for (const json::object& rec : records) {
      const json::object& reasons = rec.at("data").at("reasons").as_object();
      if (const json::value* v = reasons.if_contains(code)) n += v->to_number<uint64_t>();
    }
    return n;
  }
  // Waits for `n` refusals of `code` in the audit trail; returns the auth_failed records.
  std::vector<json::object> AuditedRefusals(const std::string& code, uint64_t n = 1) {
    return Audit("auth_failed",
                 [&](const std::vector<json::object>& r) { return Refusals(r, code) >= n; });
  }

  // A pending approval of `tool`.
  std::string PendingApproval(const std::string& tool) {
    HttpResult run = client_->Request("POST", "/v1/runs", "", agent_);
    EXPECT_EQ(run.status, 201) << run.body;
    HttpResult call = client_->Request("POST", "/v1/runs/" + Str(run.json, "run_id") + "/calls",
                                       R"({"tool":")" + tool + R"(","args":{}})", agent_);
    EXPECT_EQ(call.status, 200) << call.body;
    return Str(call.json, "approval_id");
  }

  HttpResult Vote(const std::string& approval, const std::string& cookie, const std::string& csrf,
                  const std::string& origin) {
    std::vector<std::pair<std::string, std::string>> headers{{"Cookie", cookie}};
    if (!csrf.empty()) headers.emplace_back("X-Interlock-CSRF", csrf);
    if (!origin.empty()) headers.emplace_back("Origin", origin);
    return client_->Request("POST", "/v1/approvals/" + approval, R"({"verdict":"approve"})", "",
                            std::chrono::seconds(10), headers);
  }

  std::string agent_;
  std::string auditor_;
};

// Tests that a sign-in redirects with PKCE S256, state and nonce, exchanges the code with
// client_secret_basic and the verifier, and ends in a session of the provider's subject.
TEST_F(OidcSignIn, SignInExchangesTheCodeWithPkceAndNamesTheSubject) {
  SetUpDaemon();
  Login l = StartLogin();
  EXPECT_EQ(l.query["response_type"], "code");
  EXPECT_EQ(l.query["client_id"], kClientId);
  EXPECT_EQ(l.query["code_challenge_method"], "S256");
  EXPECT_EQ(l.query["redirect_uri"], Base() + "/ui/oidc/callback");
  EXPECT_EQ(l.query["scope"], "openid profile groups");
  EXPECT_EQ(l.query["code_challenge"].size(), 43u);
  EXPECT_EQ(l.state.size(), 43u);
  EXPECT_NE(l.cookie.find("interlock_oidc_login="), std::string::npos) << l.cookie;
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", l.nonce);
  }
  HttpResult r = Callback(l.state, l.cookie);
  ASSERT_EQ(r.status, 302) << r.body;
  const std::string cookie = CookiePair(r.headers["set-cookie"]);
  ASSERT_EQ(cookie.rfind("interlock_session=v1.", 0), 0u) << cookie;
  {
    std::lock_guard lock(idp_.mu);
    ASSERT_EQ(idp_.token_requests.size(), 1u);
    auto form = QueryOf("/?" + idp_.token_requests[0]);
    EXPECT_EQ(form["grant_type"], "authorization_code");
    EXPECT_EQ(form["code"], "the-code");
    EXPECT_EQ(form["redirect_uri"], Base() + "/ui/oidc/callback");
    // The verifier is the one the challenge was made from (RFC 7636 S256).
    EXPECT_EQ(identity::PkceChallengeS256(form["code_verifier"]), l.query["code_challenge"]);
    EXPECT_EQ(idp_.authorization,
              "Basic " + std::string("aW50ZXJsb2NrLWNvbnNvbGU6czNjcmV0LWZvci10aGUtdGVzdA=="));
  }
  json::value s = Session(cookie);
  EXPECT_EQ(s.at("configured").as_bool(), true);
  EXPECT_EQ(s.at("signed_in").as_bool(), true);
  EXPECT_EQ(Str(s, "name"), "oidc:alice@127.0.0.1");
  EXPECT_EQ(Str(s, "role"), "reviewer");
  EXPECT_EQ(Str(s, "provider"), "Test IdP");
  // The cookie is a reviewer's credential on the API (one authentication path).
  HttpResult list = client_->Request("GET", "/v1/approvals", "", "", std::chrono::seconds(10),
                                     {{"Cookie", cookie}});
  EXPECT_EQ(list.status, 200) << list.body;
  // An admin by group: admin wins.
  const std::string carol = SignIn("carol", {"reviewers", "admins"});
  ASSERT_FALSE(carol.empty());
  EXPECT_EQ(Str(Session(carol), "role"), "admin");
}

// Tests that a callback replayed after it signed someone in (the same state and login
// cookie again, to a provider that would accept the code twice) is refused before the
// provider is asked again, and that the refusal is an audit record.
TEST_F(OidcSignIn, ReplayedCallbackIsRefusedAndAudited) {
  SetUpDaemon();
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", l.nonce);
  }
  ASSERT_EQ(Callback(l.state, l.cookie).status, 302);
  HttpResult again = Callback(l.state, l.cookie);
  EXPECT_EQ(again.status, 403) << again.body;
  EXPECT_NE(again.body.find("OIDC_STATE"), std::string::npos) << again.body;
  EXPECT_NE(again.body.find("replayed"), std::string::npos) << again.body;
  EXPECT_EQ(again.headers["set-cookie"].find("interlock_session=v1"), std::string::npos);
  {
    std::lock_guard lock(idp_.mu);
    EXPECT_EQ(idp_.token_requests.size(), 1u) << "the replay reached the token endpoint";
  }
  EXPECT_EQ(Refusals(AuditedRefusals("OIDC_STATE"), "OIDC_STATE"), 1u);
  EXPECT_EQ(Audit("signed_in").size(), 1u);
}

// Tests that a state the daemon never issued is refused, even with a cookie naming it,
// before anything is exchanged, and that the refusal is an audit record.
TEST_F(OidcSignIn, ForgedStateIsRefusedAndAudited) {
  SetUpDaemon();
  const std::string forged = identity::NewRandomToken();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", "whatever");
  }
  HttpResult r = Callback(forged, "interlock_oidc_login=" + forged);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("OIDC_STATE"), std::string::npos) << r.body;
  // A login cookie of the old shape (l1.<state>.<expiry>) whose MAC is made up.
  HttpResult made_up = Callback(
      forged, "interlock_oidc_login=l1." + forged + ".99999999999999." + std::string(64, 'a'));
  EXPECT_EQ(made_up.status, 403) << made_up.body;
  {
    std::lock_guard lock(idp_.mu);
    EXPECT_TRUE(idp_.token_requests.empty()) << "a forged state reached the token endpoint";
  }
  std::vector<json::object> audit = AuditedRefusals("OIDC_STATE", 2);
  EXPECT_EQ(Refusals(audit, "OIDC_STATE"), 2u);
  for (const json::object& rec : audit) {
    EXPECT_FALSE(rec.at("data").as_object().contains("sign_ins")) << "an anonymous refusal";
  }
}

// Tests that a callback in a browser that did not start the sign-in (login CSRF: an
// attacker's own callback URL sent to a victim) is refused, and leaves the state unused.
TEST_F(OidcSignIn, CallbackWithoutLoginIsRefused) {
  SetUpDaemon();
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("mallory", l.nonce);
  }
  HttpResult r = Callback(l.state, "");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("not started in this browser"), std::string::npos) << r.body;
  HttpResult other = Callback(l.state, "interlock_oidc_login=" + identity::NewRandomToken());
  EXPECT_EQ(other.status, 403) << other.body;
  std::lock_guard lock(idp_.mu);
  EXPECT_TRUE(idp_.token_requests.empty());
}

// Tests that an ID token whose nonce is not the sign-in's (a token replayed from another
// sign-in) creates no session, and that the refusal is an audit record naming the person
// the replayed token is of.
TEST_F(OidcSignIn, WrongNonceIsRefusedAndAudited) {
  SetUpDaemon();
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", identity::NewRandomToken());
  }
  HttpResult r = Callback(l.state, l.cookie);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("OIDC_NONCE"), std::string::npos) << r.body;
  EXPECT_EQ(r.headers["set-cookie"].find("interlock_session=v1"), std::string::npos);
  std::vector<json::object> audit = AuditedRefusals("OIDC_NONCE");
  ASSERT_EQ(Refusals(audit, "OIDC_NONCE"), 1u);
  bool named = false;
  for (const json::object& rec : audit) {
    const json::value* list = rec.at("data").as_object().if_contains("sign_ins");
    if (list == nullptr) continue;
    for (const json::value& who : list->as_array()) {
      named = named ||
              (Str(who, "code") == "OIDC_NONCE" &&
               Str(who, "principal") == "oidc:alice@127.0.0.1" && Str(who, "issuer") == issuer_);
    }
  }
  EXPECT_TRUE(named);
  EXPECT_TRUE(Audit("signed_in", [](const auto&) { return true; }).empty());
}

// Tests that an ID token issued to another client (aud) creates no session.
TEST_F(OidcSignIn, IdTokenForAnotherAudienceIsRefused) {
  SetUpDaemon();
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token =
        IdToken("alice", l.nonce, {"reviewers"}, [](json::object& c) { c["aud"] = "another-app"; });
  }
  HttpResult r = Callback(l.state, l.cookie);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("JWT_WRONG_AUDIENCE"), std::string::npos) << r.body;
  // azp naming another client is refused too.
  Login l2 = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", l2.nonce, {"reviewers"}, [](json::object& c) {
      c["aud"] = json::array{kClientId, "another-app"};
      c["azp"] = "another-app";
    });
  }
  HttpResult r2 = Callback(l2.state, l2.cookie);
  EXPECT_EQ(r2.status, 403) << r2.body;
  EXPECT_NE(r2.body.find("OIDC_AZP"), std::string::npos) << r2.body;
}

// Tests that an ID token listing this client and another audience, with no azp naming the
// client it was issued to (a token another client received), creates no session.
TEST_F(OidcSignIn, IdTokenForSeveralAudiencesWithoutAzpIsRefused) {
  SetUpDaemon();
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", l.nonce, {"reviewers"}, [](json::object& c) {
      c["aud"] = json::array{"another-app", kClientId};
      c.erase("azp");
    });
  }
  HttpResult r = Callback(l.state, l.cookie);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("OIDC_AZP"), std::string::npos) << r.body;
  // With azp naming this client, the same audiences sign in.
  Login l2 = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", l2.nonce, {"reviewers"}, [](json::object& c) {
      c["aud"] = json::array{"another-app", kClientId};
      c["azp"] = kClientId;
    });
  }
  HttpResult r2 = Callback(l2.state, l2.cookie);
  EXPECT_NE(r2.status, 403) << r2.body;
  EXPECT_EQ(r2.body.find("OIDC_AZP"), std::string::npos) << r2.body;
}

// Tests that an expired ID token creates no session.
TEST_F(OidcSignIn, ExpiredIdTokenIsRefused) {
  SetUpDaemon();
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", l.nonce, {"reviewers"}, [](json::object& c) {
      c["iat"] = Now() - 900;
      c["exp"] = Now() - 600;
    });
  }
  HttpResult r = Callback(l.state, l.cookie);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("JWT_EXPIRED"), std::string::npos) << r.body;
  // An ID token that does not verify names nobody: counted, not listed.
  EXPECT_EQ(Refusals(AuditedRefusals("JWT_EXPIRED"), "JWT_EXPIRED"), 1u);
}

// Tests that a code the provider refuses at the token endpoint (a stolen or reused code)
// creates no session and is an audit record.
TEST_F(OidcSignIn, CodeRefusedByProviderIsAudited) {
  SetUpDaemon();
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.token_error = "invalid_grant";
  }
  HttpResult r = Callback(l.state, l.cookie);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("OIDC_TOKEN"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("invalid_grant"), std::string::npos) << r.body;
  EXPECT_EQ(Refusals(AuditedRefusals("OIDC_TOKEN"), "OIDC_TOKEN"), 1u);
}

// Tests that a sign-in is an audit record of who (principal, issuer, subject), which role
// and the groups that granted it, and that signing out is one too.
TEST_F(OidcSignIn, SignInAndSignOutAreAudited) {
  SetUpDaemon();
  const std::string carol = SignIn("carol", {"staff", "admins", "reviewers"});
  ASSERT_FALSE(carol.empty());
  std::vector<json::object> in = Audit("signed_in");
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].at("principal").as_string(), "oidc:carol@127.0.0.1");
  const json::object& d = in[0].at("data").as_object();
  EXPECT_EQ(Str(d, "issuer"), issuer_);
  EXPECT_EQ(Str(d, "subject"), "carol");
  EXPECT_EQ(Str(d, "role"), "admin");
  EXPECT_EQ(json::serialize(d.at("groups")), R"(["admins","reviewers"])");  // not "staff"
  EXPECT_EQ(Str(d, "expires_at"), Str(Session(carol), "expires_at"));
  HttpResult out = client_->Request(
      "POST", "/ui/oidc/logout", "", "", std::chrono::seconds(10),
      {{"Cookie", carol}, {"X-Interlock-CSRF", Str(Session(carol), "csrf")}, {"Origin", Base()}});
  ASSERT_EQ(out.status, 204) << out.body;
  std::vector<json::object> gone = Audit("signed_out");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].at("principal").as_string(), "oidc:carol@127.0.0.1");
  EXPECT_EQ(Str(gone[0].at("data"), "subject"), "carol");
  // Signing out without a session records nothing (there is nobody to sign out).
  EXPECT_EQ(client_->Request("POST", "/ui/oidc/logout").status, 204);
  EXPECT_EQ(Audit("signed_out", [](const auto&) { return true; }).size(), 1u);
  // The audit log still verifies with the new record types in it.
  int rc = -1;
  RunInterlock({"audit", "verify", "--store", daemon_->store()}, &rc);
  EXPECT_EQ(rc, 0);
}

// Tests that a flood of anonymous sign-in starts from one client (they once filled a
// server table of 1024 sign-ins in flight and locked every reviewer out) does not stop
// another browser from signing in: a sign-in in flight is kept in its own browser.
TEST_F(OidcSignIn, LoginFloodDoesNotLockOthersOut) {
  SetUpDaemon();
  constexpr int kFlood = 3000;
  int redirected = 0;
  for (int i = 0; i < kFlood; ++i) {
    redirected += client_->Request("GET", "/ui/oidc/login").status == 302 ? 1 : 0;
  }
  EXPECT_EQ(redirected, kFlood);
  HttpClient other(daemon_->port());
  HttpResult start = other.Request("GET", "/ui/oidc/login");
  ASSERT_EQ(start.status, 302) << start.body;
  auto query = QueryOf(start.headers["location"]);
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", query["nonce"]);
  }
  HttpResult done = other.Request("GET", "/ui/oidc/callback?code=c&state=" + query["state"], "", "",
                                  std::chrono::seconds(10),
                                  {{"Cookie", CookiePair(start.headers["set-cookie"])}});
  ASSERT_EQ(done.status, 302) << done.body;
  EXPECT_EQ(CookiePair(done.headers["set-cookie"]).rfind("interlock_session=v1.", 0), 0u)
      << done.headers["set-cookie"];
}

// Tests that a signed-in person whose groups match neither role gets no session.
TEST_F(OidcSignIn, PersonInNoRoleGetsNoSession) {
  SetUpDaemon();
  EXPECT_EQ(SignIn("mallory", {"interns"}), "");
  EXPECT_EQ(SignIn("mallory", {}), "");
  Login l = StartLogin();
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("mallory", l.nonce, {"interns"});
  }
  HttpResult r = Callback(l.state, l.cookie);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("OIDC_NO_ROLE"), std::string::npos) << r.body;
  EXPECT_NE(r.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);
  // Each refusal is counted and names the person the provider vouched for.
  std::vector<json::object> audit = AuditedRefusals("OIDC_NO_ROLE", 3);
  EXPECT_EQ(Refusals(audit, "OIDC_NO_ROLE"), 3u);
  int listed = 0;
  for (const json::object& rec : audit) {
    if (const json::value* list = rec.at("data").as_object().if_contains("sign_ins")) {
      for (const json::value& who : list->as_array()) {
        EXPECT_EQ(Str(who, "principal"), "oidc:mallory@127.0.0.1");
        listed += Str(who, "code") == "OIDC_NO_ROLE" ? 1 : 0;
      }
    }
  }
  EXPECT_EQ(listed, 3);
}

// Tests that the cookie alone cannot vote: without the session's X-Interlock-CSRF (or with
// another session's) the vote is 403; with it, the vote counts under the subject's name.
TEST_F(OidcSignIn, CookieWithoutCsrfCannotVote) {
  SetUpDaemon();
  const std::string alice = SignIn("alice");
  const std::string bob = SignIn("bob");
  ASSERT_FALSE(alice.empty());
  const std::string approval = PendingApproval("send");
  ASSERT_FALSE(approval.empty());
  HttpResult none = Vote(approval, alice, "", "");
  EXPECT_EQ(none.status, 403) << none.body;
  EXPECT_NE(none.body.find("X-Interlock-CSRF"), std::string::npos) << none.body;
  HttpResult other = Vote(approval, alice, Str(Session(bob), "csrf"), "");
  EXPECT_EQ(other.status, 403) << other.body;
  HttpResult ok = Vote(approval, alice, Str(Session(alice), "csrf"), Base());
  ASSERT_EQ(ok.status, 200) << ok.body;
  HttpResult a = client_->Request("GET", "/v1/approvals/" + approval, "", "",
                                  std::chrono::seconds(10), {{"Cookie", alice}});
  EXPECT_NE(a.body.find("oidc:alice@127.0.0.1"), std::string::npos) << a.body;
}

// Tests that a vote with the right CSRF token but from another origin is refused.
TEST_F(OidcSignIn, CrossOriginVoteIsRefused) {
  SetUpDaemon();
  const std::string alice = SignIn("alice");
  const std::string approval = PendingApproval("send");
  const std::string csrf = Str(Session(alice), "csrf");
  HttpResult r = Vote(approval, alice, csrf, "https://evil.example");
  EXPECT_EQ(r.status, 403) << r.body;
  HttpResult r2 =
      Vote(approval, alice, csrf, "http://localhost:" + std::to_string(daemon_->port()));
  EXPECT_EQ(r2.status, 403) << r2.body;
  // Sign-out is a change too: not from another origin.
  HttpResult out = client_->Request("POST", "/ui/oidc/logout", "", "", std::chrono::seconds(10),
                                    {{"Cookie", alice}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(out.status, 403) << out.body;
  HttpResult out2 =
      client_->Request("POST", "/ui/oidc/logout", "", "", std::chrono::seconds(10),
                       {{"Cookie", alice}, {"X-Interlock-CSRF", csrf}, {"Origin", Base()}});
  EXPECT_EQ(out2.status, 204) << out2.body;
  EXPECT_NE(out2.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
}

// Tests that a tampered cookie (promoted to admin), one signed with another key, and an
// expired one signed with the daemon's own key are all refused.
TEST_F(OidcSignIn, ForgedOrExpiredCookieIsRefused) {
  SetUpDaemon();
  const std::string alice = SignIn("alice");
  ASSERT_FALSE(alice.empty());
  auto get = [&](const std::string& cookie) {
    return client_->Request("GET", "/v1/approvals", "", "", std::chrono::seconds(10),
                            {{"Cookie", cookie}});
  };
  ASSERT_EQ(get(alice).status, 200);
  // Promoted: the payload edited, the MAC kept.
  const std::string value = alice.substr(alice.find('=') + 1);
  const size_t dot1 = value.find('.'), dot2 = value.rfind('.');
  auto payload = Base64UrlDecode(value.substr(dot1 + 1, dot2 - dot1 - 1));
  ASSERT_TRUE(payload.ok());
  std::string promoted = *payload;
  const size_t at = promoted.find("\"reviewer\"");
  ASSERT_NE(at, std::string::npos) << promoted;
  promoted.replace(at, 10, "\"admin\"");
  EXPECT_EQ(get("interlock_session=v1." + Base64UrlEncode(promoted) + value.substr(dot2)).status,
            401);
  // Another key.
  identity::Session s{"oidc:alice@127.0.0.1", identity::SessionRole::kAdmin, "x",
                      std::chrono::system_clock::now() + std::chrono::hours(1)};
  identity::SessionCodec other(RandomBytes(32));
  EXPECT_EQ(get("interlock_session=" + other.Encode(s)).status, 401);
  // The daemon's own key (oidc-session.key in its keys directory), but expired.
  auto key = ReadFileBounded(daemon_->store() + ".keys/oidc-session.key", 64, "key");
  ASSERT_TRUE(key.ok()) << key.error().message;
  identity::SessionCodec own(*key);
  EXPECT_EQ(get("interlock_session=" + own.Encode(s)).status, 200);  // the key is right
  s.expires_at = std::chrono::system_clock::now() - std::chrono::seconds(1);
  HttpResult expired = get("interlock_session=" + own.Encode(s));
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.body.find("expired"), std::string::npos) << expired.body;
}

// Tests that one subject signed in twice (two sessions, two CSRF tokens) is one person for
// the two-person rule: the second session's approve is refused, the call stays pending.
TEST_F(OidcSignIn, TwoSignInsOfOneSubjectCountAsOnePerson) {
  SetUpDaemon();
  const std::string first = SignIn("alice");
  const std::string second = SignIn("alice");
  ASSERT_FALSE(first.empty());
  ASSERT_NE(first, second);
  const std::string approval = PendingApproval("drop_table");
  ASSERT_FALSE(approval.empty());
  ASSERT_EQ(Vote(approval, first, Str(Session(first), "csrf"), Base()).status, 200);
  HttpResult again = Vote(approval, second, Str(Session(second), "csrf"), Base());
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("already voted"), std::string::npos) << again.body;
  HttpResult a = client_->Request("GET", "/v1/approvals/" + approval, "", "",
                                  std::chrono::seconds(10), {{"Cookie", first}});
  EXPECT_EQ(Str(a.json, "state"), "pending") << a.body;
}

// Tests that with name_claim: email and slack.users_by_email one person is one reviewer in
// the console and in Slack (issue 56): alice approves a two-person call on the page, and
// her press from Slack (a Slack user whose confirmed e-mail is hers, written otherwise) is
// refused as her second vote; a Slack user whose e-mail is unconfirmed, or unknown to
// Slack, changes nothing; bob's press, by his confirmed e-mail, is the second approval. A
// sign-in without a verified e-mail gets no session.
TEST_F(OidcSignIn, ConsoleApproverCannotBeTheSecondApproverFromSlack) {
  FakeSlack slack;
  slack.SetUser("U0ALICE", {"Alice@Example.com", true});
  slack.SetUser("U0EVE", {"eve@example.com", false});
  slack.SetUser("U0BOB", {"bob@example.com", true});
  StartSlackByEmailDaemon(slack);
  HttpResult unverified = SignInByEmail("sub-mallory", "alice@example.com", false);
  EXPECT_EQ(unverified.status, 403) << unverified.body;
  EXPECT_NE(unverified.body.find("OIDC_EMAIL"), std::string::npos) << unverified.body;
  HttpResult in = SignInByEmail("sub-alice", "alice@example.com", true);
  ASSERT_EQ(in.status, 302) << in.body;
  const std::string alice = CookiePair(in.headers["set-cookie"]);
  EXPECT_EQ(Str(Session(alice), "name"), "oidc:alice@example.com@127.0.0.1");
  const std::string approval = PendingApproval("drop_table");
  ASSERT_FALSE(approval.empty());
  ASSERT_EQ(Vote(approval, alice, Str(Session(alice), "csrf"), Base()).status, 200);
  auto state = [&] {
    return Str(client_
                   ->Request("GET", "/v1/approvals/" + approval, "", "", std::chrono::seconds(10),
                             {{"Cookie", alice}})
                   .json,
               "state");
  };
  HttpResult again = SlackPress("U0ALICE", approval, true);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_NE(Str(again.json, "text").find("Not recorded"), std::string::npos) << again.body;
  EXPECT_EQ(state(), "pending");
  for (const char* nobody : {"U0EVE", "U0NOBODY"}) {
    HttpResult r = SlackPress(nobody, approval, true);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_NE(Str(r.json, "text").find("not mapped"), std::string::npos) << r.body;
    EXPECT_EQ(state(), "pending");
  }
  HttpResult bob = SlackPress("U0BOB", approval, true);
  EXPECT_EQ(bob.status, 200) << bob.body;
  EXPECT_NE(Str(bob.json, "text").find("as oidc:bob@example.com@127.0.0.1"), std::string::npos)
      << bob.body;
  EXPECT_EQ(state(), "granted");
  EXPECT_GE(Refusals(AuditedRefusals("slack callback: unmapped user", 2),
                     "slack callback: unmapped user"),
            2u);
}

// Tests that two different subjects are two people: their approvals decide the call.
TEST_F(OidcSignIn, TwoDifferentSubjectsCountAsTwo) {
  SetUpDaemon();
  const std::string alice = SignIn("alice");
  const std::string bob = SignIn("bob");
  const std::string approval = PendingApproval("drop_table");
  ASSERT_EQ(Vote(approval, alice, Str(Session(alice), "csrf"), Base()).status, 200);
  ASSERT_EQ(Vote(approval, bob, Str(Session(bob), "csrf"), Base()).status, 200);
  HttpResult a = client_->Request("GET", "/v1/approvals/" + approval, "", "",
                                  std::chrono::seconds(10), {{"Cookie", alice}});
  EXPECT_EQ(Str(a.json, "state"), "granted") << a.body;
  EXPECT_NE(a.body.find("oidc:bob@127.0.0.1"), std::string::npos) << a.body;
}

// Tests that a provider unreachable at start refuses sign-in with a page saying so, while
// pasted Interlock tokens keep working.
TEST_F(OidcSignIn, UnreachableProviderRefusesSignInAndTokensKeepWorking) {
  idp_server_->Shutdown();
  StartDaemon(issuer_);
  HttpResult r = client_->Request("GET", "/ui/oidc/login");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_NE(r.body.find("Sign-in with Test IdP is unavailable"), std::string::npos) << r.body;
  HttpResult s = client_->Request("GET", "/ui/oidc/session");
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.json.at("available").as_bool(), false) << s.body;
  const std::string reviewer = CreateToken(daemon_->store(), "--reviewer", "rita");
  EXPECT_EQ(client_->Request("GET", "/v1/approvals", "", reviewer).status, 200);
}

// Curl over https trusting `ca`: the response headers (lower-cased names, Set-Cookie
// values joined by "\n") and the status.
struct CurlResult {
  int status = 0;
  std::string set_cookie, location;
};
CurlResult Curl(const std::string& ca, const std::string& url, const std::string& cookie = "") {
  std::vector<std::string> argv{"/usr/bin/curl", "-s", "-o",         "/dev/null", "-D", "-",
                                "--cacert",      ca,   "--max-time", "10"};
  if (!cookie.empty()) argv.insert(argv.end(), {"-H", "Cookie: " + cookie});
  argv.push_back(url);
  ProcessResult p = RunProcess(argv, "", std::chrono::seconds(20));
  CurlResult r;
  std::istringstream in(p.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) r.status = std::atoi(line.c_str() + line.find(' ') + 1);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    const std::string value = line.substr(colon + 2);
    if (name == "set-cookie") r.set_cookie += value + "\n";
    if (name == "location") r.location = value;
  }
  return r;
}

// Tests that under TLS both cookies are __Host- prefixed and Secure (a sibling host or a
// plain-http page cannot set or read them), and that the unprefixed name is not accepted.
TEST_F(OidcSignIn, CookiesAreHostPrefixedAndSecureUnderTls) {
  StartDaemon(issuer_, "tls_cert: \"" + cert_.cert + "\"\ntls_key: \"" + cert_.key + "\"\n");
  const std::string base = "https://127.0.0.1:" + std::to_string(daemon_->port());
  CurlResult login = Curl(cert_.cert, base + "/ui/oidc/login");
  ASSERT_EQ(login.status, 302) << login.set_cookie;
  EXPECT_EQ(login.set_cookie.rfind("__Host-interlock_oidc_login=", 0), 0u) << login.set_cookie;
  EXPECT_NE(login.set_cookie.find("; Secure"), std::string::npos) << login.set_cookie;
  EXPECT_NE(login.set_cookie.find("; Path=/"), std::string::npos) << login.set_cookie;
  auto query = QueryOf(login.location);
  EXPECT_EQ(query["redirect_uri"], base + "/ui/oidc/callback");
  {
    std::lock_guard lock(idp_.mu);
    idp_.id_token = IdToken("alice", query["nonce"]);
  }
  CurlResult cb = Curl(cert_.cert, base + "/ui/oidc/callback?code=c&state=" + query["state"],
                       CookiePair(login.set_cookie));
  ASSERT_EQ(cb.status, 302) << cb.set_cookie;
  const size_t at = cb.set_cookie.find("__Host-interlock_session=v1.");
  ASSERT_NE(at, std::string::npos) << cb.set_cookie;
  const std::string line = cb.set_cookie.substr(at, cb.set_cookie.find('\n', at) - at);
  EXPECT_NE(line.find("; HttpOnly; SameSite=Strict; Secure"), std::string::npos) << line;
  const std::string value = line.substr(0, line.find(';'));
  EXPECT_EQ(Curl(cert_.cert, base + "/v1/approvals", value).status, 200);
  const std::string unprefixed = value.substr(std::string("__Host-").size());
  EXPECT_EQ(Curl(cert_.cert, base + "/v1/approvals", unprefixed).status, 401);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
