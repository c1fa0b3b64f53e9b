// The daemon config (src/daemon/config.h): the `mcp:` section and the notifier.
#include "daemon/config.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "doors/mcp_http/mcp_http.h"

#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

Status Load(const std::string& text, ServerConfig* c) {
  static testing::TempDir dir;
  const std::string path = dir.Write("interlock.yaml", text);
  return LoadServerConfig(path, c);
}

// Tests that a PostgreSQL URI in `store:` is kept as written (a regression: it was taken
// for a path relative to the config file, "/etc/interlock/postgresql:/interlock@db...",
// and the daemon refused to start), while a SQLite path stays relative to the file.
TEST(ServerConfigTest, PostgresStoreUriIsNotResolvedAsAPath) {
  const std::string uri =
      "postgresql://interlock@db.example:5432/interlock?sslmode=verify-full&sslrootcert=/ca.crt";
  ServerConfig c;
  Status st = Load("store: \"" + uri + "\"\n", &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.store, uri);
  ServerConfig short_form;
  st = Load("store: \"postgres://u@h/d\"\n", &short_form);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(short_form.store, "postgres://u@h/d");
  ServerConfig file;
  st = Load("store: state/interlock.db\n", &file);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(file.store.starts_with("/")) << file.store;
  EXPECT_TRUE(file.store.ends_with("/state/interlock.db")) << file.store;
}

// Tests that upstream credentials load, and that each mistake is refused with its place.
TEST(ServerConfigMcpTest, UpstreamCredentialsLoadAndMistakesAreRefused) {
  ServerConfig c;
  Status st = Load(R"(mcp:
  upstreams:
    github:
      url: https://mcp.github.internal/mcp
      credentials:
        token_exchange:
          token_url: https://idp.example/oauth2/token
          client_id: interlock
          client_secret_file: secrets/idp
          audience: https://mcp.github.internal
          scope: "repo:read  issues:read"
          timeout_ms: 2000
    tickets:
      command: ["tickets-server"]
      credentials:
        client_credentials:
          token_url: https://idp.example/oauth2/token
          client_id: interlock
          client_secret_file: /etc/idp
          env: TICKETS_TOKEN
          agents:
            deploy-agent: {client_id: deploy, client_secret_file: /etc/deploy}
)",
                   &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  const McpUpstreamConfig& gh = c.mcp.upstreams.at("github");
  ASSERT_TRUE(gh.has_credentials);
  EXPECT_EQ(gh.credentials.kind, identity::CredentialKind::kTokenExchange);
  EXPECT_EQ(gh.credentials.scope, (std::vector<std::string>{"repo:read", "issues:read"}));
  EXPECT_EQ(gh.credentials.timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(gh.credentials.upstream, "github");
  EXPECT_NE(gh.credentials_secret_file.find("secrets/idp"), std::string::npos);
  const McpUpstreamConfig& t = c.mcp.upstreams.at("tickets");
  EXPECT_EQ(t.credentials.kind, identity::CredentialKind::kClientCredentials);
  EXPECT_EQ(t.credentials.env, "TICKETS_TOKEN");
  EXPECT_EQ(t.credentials.agents.at("deploy-agent").client_id, "deploy");
  EXPECT_EQ(t.credentials_agent_secret_files.at("deploy-agent"), "/etc/deploy");
  {
    // Tests that client_assertion (RFC 7523) stands in for client_secret_file.
    ServerConfig a;
    Status sa = Load(
        "mcp:\n  upstreams:\n    gh:\n      url: https://x/mcp\n      credentials:\n"
        "        client_credentials:\n          token_url: https://idp/t\n"
        "          client_id: i\n          client_assertion: {key_file: /etc/k.pem}\n",
        &a);
    ASSERT_TRUE(sa.ok()) << sa.error().message;
    EXPECT_EQ(a.mcp.upstreams.at("gh").credentials_assertion_key_file, "/etc/k.pem");
  }

  const std::string head = "mcp:\n  upstreams:\n    gh:\n      url: https://x/mcp\n";
  const std::string te =
      "      credentials:\n        token_exchange:\n          token_url: https://idp/t\n"
      "          client_id: i\n          client_secret_file: /s\n";
  for (const std::string& bad : {
           head + te,                                                 // no audience
           head + te + "          audience: a\n          nope: 1\n",  // unknown key
           head + te + "          audience: a\n          agents: {x: {client_id: y}}\n",
           head + "      credentials:\n        password: {}\n",
           head + "      credentials:\n        token_exchange:\n          token_url: "
                  "http://idp.example/t\n          client_id: i\n          client_secret_file: "
                  "/s\n          audience: a\n",  // plain http off loopback
           head + "      headers: {Authorization: x}\n" + te + "          audience: a\n",
           // a secret and a signed assertion both: which one authenticates is ambiguous
           head + te + "          audience: a\n          client_assertion: {key_file: /k}\n",
           head + te + "          audience: a\n          client_assertion: /k\n",
       }) {
    ServerConfig d;
    Status e = Load(bad, &d);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.error().message.find("interlock.yaml:"), std::string::npos) << e.error().message;
  }
}

// Tests that a url: upstream over plain http off loopback is refused when it has
// credentials (the exchanged bearer, acting for the human, would cross the network in
// clear), while https and loopback http load.
TEST(ServerConfigMcpTest, BrokeredBearerOverPlainHttpOffLoopbackIsRefused) {
  const std::string creds =
      "      credentials:\n        token_exchange:\n          token_url: https://idp/t\n"
      "          client_id: i\n          client_secret_file: /s\n          audience: a\n";
  for (const std::string url :
       {"http://mcp.example.com/mcp", "http://10.0.0.7:8080/mcp", "http://[fd00::1]:3000/mcp"}) {
    ServerConfig c;
    Status st = Load("mcp:\n  upstreams:\n    gh:\n      url: " + url + "\n" + creds, &c);
    ASSERT_FALSE(st.ok()) << url;
    EXPECT_NE(st.error().message.find("credentials need an https:// url"), std::string::npos)
        << st.error().message;
    EXPECT_NE(st.error().message.find("interlock.yaml:"), std::string::npos) << st.error().message;
  }
  for (const std::string url : {"https://mcp.example.com/mcp", "http://127.0.0.1:3000/mcp",
                                "http://[::1]:3000/mcp", "http://localhost:3000/mcp"}) {
    ServerConfig c;
    Status st = Load("mcp:\n  upstreams:\n    gh:\n      url: " + url + "\n" + creds, &c);
    EXPECT_TRUE(st.ok()) << url << ": " << st.error().message;
  }
  // Without credentials a plain http upstream is the operator's choice, as before.
  ServerConfig plain;
  EXPECT_TRUE(
      Load("mcp:\n  upstreams:\n    gh:\n      url: http://mcp.example.com/mcp\n", &plain).ok());
}

// Tests that stdio and HTTP upstreams, origins, caps and timeouts load as written.
TEST(ServerConfigMcpTest, LoadsUpstreamsAndLimits) {
  ServerConfig c;
  Status st = Load(R"(mcp:
  upstreams:
    fs:
      command: ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/data"]
      env: {LOG_LEVEL: "debug"}
      secret_env: [GITHUB_TOKEN]
      secret_files: {API_KEY: secrets/api.key}
    remote-1:
      url: http://127.0.0.1:3001/mcp
      headers: {X-Team: "blue"}
      secret_headers: {Authorization: REMOTE_AUTH}
      keep_alive_ms: 0
  allowed_origins: ["http://localhost:3000/", "*"]
  allowed_hosts: ["interlock.internal", "gw.example:8443"]
  max_sessions: 10
  max_sessions_per_agent: 2
  session_idle_timeout_seconds: 60
  sse_after_ms: 250
  keepalive_seconds: 5
  child_grace_ms: 100
  approval_retry_wait_seconds: 7
)",
                   &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(c.mcp.upstreams.size(), 2u);
  const McpUpstreamConfig& fs = c.mcp.upstreams.at("fs");
  EXPECT_EQ(fs.command.size(), 4u);
  EXPECT_EQ(fs.env.at("LOG_LEVEL"), "debug");
  EXPECT_EQ(fs.secret_env, std::vector<std::string>{"GITHUB_TOKEN"});
  EXPECT_EQ(fs.secret_files.at("API_KEY").back(), 'y');
  EXPECT_EQ(fs.secret_files.at("API_KEY").front(), '/');  // resolved against the file's dir
  const McpUpstreamConfig& remote = c.mcp.upstreams.at("remote-1");
  EXPECT_EQ(remote.url, "http://127.0.0.1:3001/mcp");
  EXPECT_EQ(remote.headers.at("X-Team"), "blue");
  EXPECT_EQ(remote.secret_headers.at("Authorization"), "REMOTE_AUTH");
  EXPECT_EQ(remote.keep_alive, std::chrono::milliseconds(0));
  EXPECT_EQ(fs.keep_alive, std::chrono::milliseconds(2000));  // the default
  EXPECT_EQ(c.mcp.allowed_origins, (std::vector<std::string>{"http://localhost:3000", "*"}));
  EXPECT_EQ(c.mcp.allowed_hosts,
            (std::vector<std::string>{"interlock.internal", "gw.example:8443"}));
  EXPECT_EQ(c.mcp.max_sessions, 10);
  EXPECT_EQ(c.mcp.max_sessions_per_agent, 2);
  EXPECT_EQ(c.mcp.session_idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.mcp.sse_after, std::chrono::milliseconds(250));
  EXPECT_EQ(c.mcp.keepalive, std::chrono::seconds(5));
  EXPECT_EQ(c.mcp.child_grace, std::chrono::milliseconds(100));
  EXPECT_EQ(c.mcp.approval_retry_wait, std::chrono::seconds(7));
  ServerConfig defaults;
  ASSERT_TRUE(Load("mcp:\n  max_sessions: 3\n", &defaults).ok());
  EXPECT_EQ(defaults.mcp.approval_retry_wait, std::chrono::seconds(20));
}

// Tests that every malformed mcp section is an error naming the place, never ignored.
TEST(ServerConfigMcpTest, RejectsMistakes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"mcp:\n  upstream: {}\n", "unknown key 'mcp.upstream'"},
      {"mcp:\n  upstreams:\n    Bad_Name:\n      command: [x]\n", "not a valid name"},
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      url: http://127.0.0.1:1/\n",
       "exactly one of command: and url:"},
      {"mcp:\n  upstreams:\n    a: {}\n", "exactly one of command: and url:"},
      {"mcp:\n  upstreams:\n    a:\n      command: []\n", "non-empty list"},
      {"mcp:\n  upstreams:\n    a:\n      url: ftp://example.com/mcp\n", "http:// or https://"},
      {"mcp:\n  upstreams:\n    a:\n      url: http://127.0.0.1:1/\n      ca_file: ca.pem\n",
       "ca_file applies to https:// upstreams only"},
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      headers: {A: b}\n",
       "url: upstreams only"},
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      keep_alive_ms: 100\n",
       "keep_alive_ms applies to url: upstreams only"},
      {"mcp:\n  upstreams:\n    a:\n      url: http://127.0.0.1:1/\n      keep_alive_ms: 60001\n",
       "between 0 and 60000"},
      {"mcp:\n  upstreams:\n    a:\n      url: http://127.0.0.1:1/\n      env: {A: b}\n",
       "apply to command: upstreams"},
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      secret_env: [\"1BAD\"]\n",
       "not a variable name"},
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      cwd: /tmp\n",
       "unknown key 'mcp.upstreams.a.cwd'"},
      {"mcp:\n  allowed_origins: [\"evil.com\"]\n", "must be \"*\" or an origin"},
      {"mcp:\n  allowed_hosts: [\"http://gw.example\"]\n", "no scheme"},
      {"mcp:\n  max_sessions: 0\n", "between 1 and"},
      // A retry's wait at or past the SDKs' 60 s request timeout would fail every retry.
      {"mcp:\n  approval_retry_wait_seconds: 56\n", "between 1 and 55"},
      {"mcp:\n  approval_retry_wait_seconds: 0\n", "between 1 and 55"},
  };
  for (const auto& [text, want] : cases) {
    ServerConfig c;
    Status st = Load(text, &c);
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_NE(st.error().message.find(want), std::string::npos)
        << text << " -> " << st.error().message;
    EXPECT_NE(st.error().message.find("interlock.yaml:"), std::string::npos) << st.error().message;
  }
}

// Tests that the config file reports every section's error in one pass, each with its
// file:line:column, and suggests the nearest key for a typo (issue 56: three runs to find
// three typos, no suggestion).
TEST(ServerConfigTest, EveryErrorInOnePassWithTheNearestKeySuggested) {
  ServerConfig c;
  Status st = Load("listn: 127.0.0.1:0\nlimits:\n  read_timout_ms: 5\nthreads: many\n", &c);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_EQ(m.rfind("3 errors:", 0), 0u) << m;
  EXPECT_NE(m.find("unknown key 'listn'; did you mean 'listen'?"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'limits.read_timeout_ms'?"), std::string::npos) << m;
  EXPECT_NE(m.find("threads must be an integer"), std::string::npos) << m;
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 3) << m;
  Status one = Load("approvals:\n  timout: 1\n", &c);
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().message.find("errors:"), std::string::npos) << one.error().message;
}

// Tests that the ext_authz: section is read by the daemon like every other section: its
// errors are listed with the others' in one pass, and a good section fills the door's value
// (a relative tls path resolved against the config file's directory).
TEST(ServerConfigTest, ExtAuthzSectionIsReadWithTheOthers) {
  ServerConfig c;
  Status st = Load(
      "limits:\n  read_timout_ms: 5\next_authz:\n  listen: 10.0.0.1:9191\n"
      "  routes:\n    - {mcp: maybe}\n",
      &c);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_EQ(m.rfind("2 errors:", 0), 0u) << m;
  EXPECT_NE(m.find("did you mean 'limits.read_timeout_ms'?"), std::string::npos) << m;
  EXPECT_NE(m.find(":6:13: ext_authz.routes.mcp must be true or false"), std::string::npos) << m;
  EXPECT_FALSE(c.ext_authz.enabled);
  Status off = Load("ext_authz:\n  listen: 10.0.0.1:9191\n", &c);
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.error().message.find(":2:3: ext_authz: plain gRPC listens on loopback only"),
            std::string::npos)
      << off.error().message;
  ServerConfig good;
  ASSERT_TRUE(Load("ext_authz:\n  listen: 0.0.0.0:9191\n  tls_cert: c.pem\n"
                   "  tls_key: /k.pem\n",
                   &good)
                  .ok());
  EXPECT_TRUE(good.ext_authz.enabled);
  EXPECT_EQ(good.ext_authz.port, 9191);
  EXPECT_EQ(std::filesystem::path(good.ext_authz.tls_cert).filename(), "c.pem");
  EXPECT_TRUE(std::filesystem::path(good.ext_authz.tls_cert).is_absolute());
  EXPECT_EQ(good.ext_authz.tls_key, "/k.pem");
}

// Tests that five typos (one in each of approvals, mcp and telemetry, two in slack) are
// five errors of one pass, each at its file:line:column with the nearest key suggested
// (issue 56: the config stopped at the first error of a section).
TEST(ServerConfigTest, FiveTyposInFourSectionsAreFiveErrorsWithSuggestions) {
  ServerConfig c;
  Status st = Load(
      "approvals:\n  default_timout_seconds: 60\n"      // 2
      "mcp:\n  max_sesions: 10\n"                       // 4
      "telemetry:\n  endpont: http://127.0.0.1:4318\n"  // 6
      "slack:\n  chanel: C1\n  bot_token_fil: /t\n"     // 8, 9
      "  signing_secret_file: /s\n",
      &c);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  EXPECT_EQ(m.rfind("5 errors:", 0), 0u) << m;
  for (const char* want :
       {"interlock.yaml:2:3: unknown key 'approvals.default_timout_seconds'; did you mean "
        "'approvals.default_timeout_seconds'?",
        "interlock.yaml:4:3: unknown key 'mcp.max_sesions'; did you mean 'mcp.max_sessions'?",
        "interlock.yaml:6:3: unknown key 'telemetry.endpont'; did you mean 'telemetry.endpoint'?",
        "interlock.yaml:8:3: unknown key 'slack.chanel'; did you mean 'slack.channel'?",
        "interlock.yaml:9:3: unknown key 'slack.bot_token_fil'; did you mean "
        "'slack.bot_token_file'?"}) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
  // Only the typos: the key a typo failed to set is not reported again (slack.channel is
  // required; said once the section reads).
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 5) << m;
}

// Tests that wrong types and bad values deep in nested sections (an upstream, its
// credentials, a JWT issuer, a list item) are reported together with the top level's, each
// with its place, and that none stops the reading of the rest of the file.
TEST(ServerConfigTest, WrongTypesAndBadValuesInNestedSectionsAreAllReported) {
  ServerConfig c;
  Status st = Load(
      "threads: many\n"  // 1
      "mcp:\n"
      "  upstreams:\n"
      "    a:\n"
      "      command: [x]\n"
      "      keep_alive_ms: 5\n"            // 6: applies to url: only (checked once the keys read)
      "      secret_env: [\"1BAD\", OK]\n"  // 7
      "      sandbox: {writ: [/tmp]}\n"     // 8
      "    b:\n"
      "      url: http://127.0.0.1:1/\n"
      "      keep_alive_ms: 60001\n"                    // 11
      "  allowed_origins: [\"evil.com\", \"x.org\"]\n"  // 12 (two items)
      "identity:\n"
      "  jwt:\n"
      "    - issuer: https://i\n"
      "      skew_seconds: -1\n"         // 16
      "      audiance: a\n"              // 17
      "limits:\n  max_connections: 0\n"  // 19
      "durability: sometimes\n",         // 20
      &c);
  ASSERT_FALSE(st.ok());
  const std::string& m = st.error().message;
  for (const char* want : {"interlock.yaml:1:10: threads must be an integer",
                           "interlock.yaml:7:20: mcp.upstreams.a.secret_env: '1BAD'",
                           "interlock.yaml:8:17: unknown key 'mcp.upstreams.a.sandbox.writ'; did "
                           "you mean 'mcp.upstreams.a.sandbox.write'?",
                           "interlock.yaml:11:22: mcp.upstreams.b.keep_alive_ms must be between",
                           "interlock.yaml:12:21: mcp.allowed_origins: 'evil.com'",
                           "interlock.yaml:12:33: mcp.allowed_origins: 'x.org'",
                           "interlock.yaml:16:21: identity.jwt[].skew_seconds must be between",
                           "interlock.yaml:17:7: unknown key 'identity.jwt[].audiance'; did you "
                           "mean 'identity.jwt[].audience'?",
                           "interlock.yaml:19:20: limits.max_connections must be between",
                           "interlock.yaml:20:13: durability must be 'full' or 'normal'"}) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
  EXPECT_EQ(m.rfind("10 errors:", 0), 0u) << m;
}

// Tests that a valid config with every section reads as before the one-pass reader: the
// values land where they did, and nothing is reported.
TEST(ServerConfigTest, ValidConfigReadsUnchanged) {
  ServerConfig c;
  Status st = Load(
      "listen: 127.0.0.1:9191\nthreads: 3\npolicies: [p1, p2]\ndurability: normal\n"
      "limits: {max_body_bytes: 2048, read_timeout_ms: 75, max_run_depth: 3}\n"
      "webhooks: {ops: \"http://127.0.0.1:9/h\"}\n"
      "approvals: {default_timeout_seconds: 30, public_url: \"https://i.example\"}\n"
      "notifier: {max_attempts: 2, queue: 7}\n"
      "audit: {retention_days: 5}\n"
      "governance: {wait_ms: 7}\ndrill: {warn_after_days: 2}\n"
      "mcp:\n  max_sessions: 9\n  upstreams:\n    fs: {command: [srv, --x], pass_env: [HOME]}\n"
      "identity:\n  jwt:\n    - {issuer: \"https://i.example\", audience: a,"
      " jwks_uri: \"https://i.example/jwks\", skew_seconds: 5}\n"
      "telemetry: {endpoint: \"http://127.0.0.1:4318\", batch_size: 9}\n"
      "slack: {channel: C1, bot_token_file: t, signing_secret_file: s, users: {U1: rita}}\n",
      &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.port, 9191);
  EXPECT_EQ(c.threads, 3);
  ASSERT_EQ(c.policies.size(), 2u);
  EXPECT_TRUE(c.policies[1].ends_with("/p2")) << c.policies[1];
  EXPECT_FALSE(c.durable_full);
  EXPECT_EQ(c.limits.max_body_bytes, 2048u);
  EXPECT_EQ(c.limits.read_timeout, std::chrono::milliseconds(75));
  EXPECT_EQ(c.max_run_depth, 3);
  EXPECT_EQ(c.webhooks.at("ops"), "http://127.0.0.1:9/h");
  EXPECT_EQ(c.approval_timeout_seconds, 30);
  EXPECT_EQ(c.public_url, "https://i.example");
  EXPECT_EQ(c.webhook_attempts, 2);
  EXPECT_EQ(c.notifier_queue, 7u);
  EXPECT_EQ(c.audit_retention_days, 5);
  EXPECT_EQ(c.governance_wait, std::chrono::milliseconds(7));
  EXPECT_EQ(c.drill_warn_after, std::chrono::hours(48));
  EXPECT_EQ(c.mcp.max_sessions, 9);
  ASSERT_EQ(c.mcp.upstreams.count("fs"), 1u);
  EXPECT_EQ(c.mcp.upstreams.at("fs").command, (std::vector<std::string>{"srv", "--x"}));
  EXPECT_EQ(c.mcp.upstreams.at("fs").pass_env, (std::vector<std::string>{"HOME"}));
  ASSERT_EQ(c.jwt_issuers.size(), 1u);
  EXPECT_EQ(c.jwt_issuers[0].skew, std::chrono::seconds(5));
  EXPECT_TRUE(c.telemetry.enabled);
  EXPECT_EQ(c.telemetry.batch_size, 9u);
  EXPECT_EQ(c.slack.channel, "C1");
  EXPECT_EQ(c.slack.users.at("U1"), "rita");
  EXPECT_TRUE(c.slack.bot_token_file.ends_with("/t")) << c.slack.bot_token_file;
}

// Tests that slack.users_by_email is refused unless the console's sign-in names people by
// e-mail too (else one person would be two reviewers), and that name_claim: email needs
// the scope email.
TEST(ServerConfigTest, SlackUsersByEmailNeedsTheSignInToNamePeopleByEmail) {
  const std::string slack =
      "slack: {channel: C1, bot_token_file: t, signing_secret_file: s, users_by_email: true}\n";
  const std::string oidc =
      "identity:\n  oidc:\n    issuer: \"https://idp.example\"\n    client_id: c\n"
      "    client_secret_file: f\n    reviewer_values: [r]\n";
  ServerConfig none;
  Status st = Load(slack, &none);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("slack.users_by_email needs identity.oidc with name_claim: "
                                    "email"),
            std::string::npos)
      << st.error().message;
  ServerConfig by_sub;
  EXPECT_FALSE(Load(slack + oidc, &by_sub).ok());
  ServerConfig no_scope;
  st = Load(slack + oidc + "    name_claim: email\n", &no_scope);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("scopes must include email"), std::string::npos)
      << st.error().message;
  ServerConfig ok;
  st = Load(slack + oidc + "    name_claim: email\n    scopes: [openid, email]\n", &ok);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(ok.slack.users_by_email);
  EXPECT_EQ(ok.oidc.name_claim, "email");
  ServerConfig bad;
  st = Load(oidc + "    name_claim: upn\n", &bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("name_claim must be sub or email"), std::string::npos)
      << st.error().message;
}

// Tests that role_policies maps "agent/role" to a policy id, and that a key without exactly
// one slash, or an empty policy, is refused with its line.
TEST(ServerConfigTest, RolePoliciesMapAgentRolesToPolicies) {
  ServerConfig c;
  Status st = Load("role_policies:\n  \"claude-code/Explore\": \"claude-code/read-only\"\n", &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.role_policies.at("claude-code/Explore"), "claude-code/read-only");
  for (const auto& [bad, line] : std::vector<std::pair<std::string, std::string>>{
           {"role_policies:\n  Explore: x\n", ":2:"},
           {"role_policies:\n  \"a/b/c\": x\n", ":2:"},
           {"role_policies:\n  \"/b\": x\n", ":2:"},
           {"role_policies:\n  \"a/b\": \"\"\n", ":2:"},
           {"role_policies: [a]\n", ":1:"}}) {
    ServerConfig d;
    Status s = Load(bad, &d);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find("role_policies"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find(line), std::string::npos) << s.error().message;
  }
}

// Tests that what a command: upstream's server may see of the daemon's environment is read
// as variable names (pass_env, sandbox.env) and that a url: upstream or a bad name is refused.
TEST(ServerConfigMcpTest, PassEnvAndSandboxEnvAreVariableNames) {
  ServerConfig c;
  Status st = Load(
      "mcp:\n  upstreams:\n    fs:\n      command: [x]\n      pass_env: [NODE_OPTIONS]\n"
      "      sandbox: {write: [/tmp], env: [LOG_DIR, TZ]}\n",
      &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  const McpUpstreamConfig& u = c.mcp.upstreams.at("fs");
  EXPECT_EQ(u.pass_env, std::vector<std::string>{"NODE_OPTIONS"});
  EXPECT_EQ(u.sandbox_env, (std::vector<std::string>{"LOG_DIR", "TZ"}));
  EXPECT_TRUE(u.sandbox);
  EXPECT_EQ(u.sandbox_write, std::vector<std::string>{"/tmp"});
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      pass_env: [\"A=B\"]\n",
       "pass_env: 'A=B' is not a variable name"},
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      pass_env: NODE_OPTIONS\n",
       "pass_env must be a list of variable names"},
      {"mcp:\n  upstreams:\n    a:\n      command: [x]\n      sandbox: {env: [\"1X\"]}\n",
       "sandbox.env: '1X' is not a variable name"},
      {"mcp:\n  upstreams:\n    a:\n      url: http://127.0.0.1:1/\n      pass_env: [A]\n",
       "apply to command: upstreams"},
  };
  for (const auto& [text, want] : bad) {
    ServerConfig b;
    Status e = Load(text, &b);
    ASSERT_FALSE(e.ok()) << text;
    EXPECT_NE(e.error().message.find(want), std::string::npos) << e.error().message;
  }
}

// Tests that a resolved command: upstream's environment is the explicit one: the daemon's
// variables named in pass_env and sandbox.env, its literals and its own secret, and no
// other variable of the daemon's (mcp/server_env.h).
TEST(ServerConfigMcpTest, ResolvedUpstreamEnvironmentIsExplicit) {
  ::setenv("IL_CFG_PASSED", "p", 1);
  ::setenv("IL_CFG_SANDBOX", "s", 1);
  ::setenv("IL_CFG_SECRET", "secret-v", 1);
  ::setenv("IL_CFG_OTHER", "o", 1);
  McpUpstreamConfig u;
  u.name = "fs";
  u.command = {"x"};
  u.pass_env = {"IL_CFG_PASSED"};
  u.sandbox_env = {"IL_CFG_SANDBOX"};
  u.env = {{"IL_CFG_LITERAL", "l"}};
  u.secret_env = {"IL_CFG_SECRET"};
  auto r = ResolveUpstream(u);
  for (const char* v : {"IL_CFG_PASSED", "IL_CFG_SANDBOX", "IL_CFG_SECRET", "IL_CFG_OTHER"}) {
    ::unsetenv(v);
  }
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->child_env.at("IL_CFG_PASSED"), "p");
  EXPECT_EQ(r->child_env.at("IL_CFG_SANDBOX"), "s");
  EXPECT_EQ(r->child_env.at("IL_CFG_LITERAL"), "l");
  EXPECT_EQ(r->child_env.at("IL_CFG_SECRET"), "secret-v");
  EXPECT_EQ(r->child_env.count("IL_CFG_OTHER"), 0u);
  EXPECT_EQ(r->secrets, std::vector<std::string>{"secret-v"});
  u.secret_env.clear();
  u.pass_env = {"INTERLOCK_TOKEN"};
  auto refused = ResolveUpstream(u);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("INTERLOCK_TOKEN holds Interlock's own bearer token"),
            std::string::npos)
      << refused.error().message;
}

// Tests that an https:// upstream is accepted with a ca_file, resolved against the config
// file's directory like every other path.
TEST(ServerConfigMcpTest, AcceptsHttpsUpstreamWithCaFile) {
  ServerConfig c;
  Status st = Load(
      "mcp:\n  upstreams:\n    remote:\n      url: https://mcp.example/mcp\n"
      "      ca_file: certs/ca.pem\n",
      &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  const McpUpstreamConfig& u = c.mcp.upstreams.at("remote");
  EXPECT_EQ(u.url, "https://mcp.example/mcp");
  EXPECT_TRUE(u.ca_file.size() > std::string("certs/ca.pem").size() &&
              u.ca_file.ends_with("/certs/ca.pem"))
      << u.ca_file;
}

// Tests https webhooks and the notifier's CA file (relative to the config file).
TEST(ServerConfigTest, HttpsWebhookWithCaFile) {
  ServerConfig c;
  Status st = Load(
      "webhooks:\n  \"#oncall\": https://hooks.example/services/x\n"
      "notifier:\n  ca_file: certs/ca.pem\n",
      &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(c.webhooks.at("#oncall"), "https://hooks.example/services/x");
  EXPECT_TRUE(c.webhook_ca_file.ends_with("/certs/ca.pem") &&
              c.webhook_ca_file.size() > std::string("certs/ca.pem").size())
      << c.webhook_ca_file;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

// Tests that `sandbox:` loads as a flag or with writable directories (resolved against the
// config file's directory), and that a sandbox on a url: upstream (a server Interlock does
// not start, so cannot contain) or a malformed one is an error, never ignored.
TEST(ServerConfigMcpTest, SandboxLoadsAndIsRefusedWhereItCannotApply) {
  ServerConfig c;
  Status st = Load(R"(mcp:
  upstreams:
    a:
      command: [x]
      sandbox: true
    b:
      command: [y]
      sandbox: {write: [/srv/data, out], read: [/srv/ref]}
    c:
      command: [z]
)",
                   &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(c.mcp.upstreams.at("a").sandbox);
  EXPECT_TRUE(c.mcp.upstreams.at("a").sandbox_write.empty());
  EXPECT_TRUE(c.mcp.upstreams.at("b").sandbox);
  ASSERT_EQ(c.mcp.upstreams.at("b").sandbox_write.size(), 2u);
  EXPECT_EQ(c.mcp.upstreams.at("b").sandbox_write[0], "/srv/data");
  EXPECT_EQ(c.mcp.upstreams.at("b").sandbox_write[1].front(), '/');
  EXPECT_EQ(c.mcp.upstreams.at("b").sandbox_read, std::vector<std::string>{"/srv/ref"});
  EXPECT_FALSE(c.mcp.upstreams.at("c").sandbox);
  for (const char* bad : {
           "mcp:\n  upstreams:\n    a:\n      url: http://127.0.0.1:1/mcp\n      sandbox: true\n",
           "mcp:\n  upstreams:\n    a:\n      command: [x]\n      sandbox: yes please\n",
           "mcp:\n  upstreams:\n    a:\n      command: [x]\n      sandbox: {mount: [/]}\n",
           "mcp:\n  upstreams:\n    a:\n      command: [x]\n      sandbox: {read: /srv}\n",
           "mcp:\n  upstreams:\n    a:\n      command: [x]\n      sandbox: {write: /tmp}\n",
       }) {
    ServerConfig bad_config;
    EXPECT_FALSE(Load(bad, &bad_config).ok()) << bad;
  }
}

// identity.jwt: issuers load with their defaults; an http:// key source, a missing
// audience, an unknown key and a repeated issuer stop the daemon at start.
TEST(ServerConfigIdentityTest, JwtIssuersLoadAndMistakesAreRefused) {
  ServerConfig c;
  Status st = Load(R"(identity:
  jwt:
    - issuer: "https://idp.example.com"
      audience: "interlock"
      ca_file: "idp-ca.pem"
      on_behalf_of_claim: "act.sub"
      max_lifetime_seconds: 3600
    - issuer: "https://token.actions.githubusercontent.com"
      audience: "interlock"
      jwks_uri: "https://token.actions.githubusercontent.com/.well-known/jwks"
)",
                   &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_EQ(c.jwt_issuers.size(), 2u);
  EXPECT_EQ(c.jwt_issuers[0].agent_claim, "sub");
  EXPECT_EQ(c.jwt_issuers[0].skew, std::chrono::seconds(60));
  EXPECT_EQ(c.jwt_issuers[0].max_lifetime, std::chrono::seconds(3600));
  EXPECT_EQ(c.jwt_issuers[0].on_behalf_of_claim, "act.sub");
  EXPECT_EQ(c.jwt_issuers[0].ca_file.front(), '/');  // resolved against the file's directory
  for (const char* bad : {
           "identity:\n  jwt:\n    - {issuer: \"http://idp.example.com\", audience: a}\n",
           "identity:\n  jwt:\n    - {issuer: \"https://idp\", audience: a, jwks_uri: "
           "\"http://idp/jwks\"}\n",
           "identity:\n  jwt:\n    - {issuer: \"https://idp\"}\n",
           "identity:\n  jwt:\n    - {issuer: \"https://idp\", audience: a, alg: HS256}\n",
           "identity:\n  jwt:\n    - {issuer: \"https://idp\", audience: a}\n"
           "    - {issuer: \"https://idp\", audience: b}\n",
           "identity:\n  oauth: []\n",
       }) {
    ServerConfig d;
    EXPECT_FALSE(Load(bad, &d).ok()) << bad;
  }
}

// Tests that a config reading the agent and the human from one claim (an RFC 8693 actor
// as the agent with the default on_behalf_of of act.sub spelled out, or sub twice) stops
// the daemon at start with a message naming the fix, and that agent_claim "act.sub" alone
// loads (its human then comes from sub).
TEST(ServerConfigIdentityTest, AgentRecordedAsTheHumanItActsForIsRefusedAtStart) {
  for (const char* bad : {
           "identity:\n  jwt:\n    - {issuer: \"https://idp\", audience: a, agent_claim: "
           "act.sub, on_behalf_of_claim: act.sub}\n",
           "identity:\n  jwt:\n    - {issuer: \"https://idp\", audience: a, "
           "on_behalf_of_claim: sub}\n",
       }) {
    ServerConfig d;
    Status st = Load(bad, &d);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.error().message.find("recorded as the human"), std::string::npos)
        << st.error().message;
    EXPECT_NE(st.error().message.find("on_behalf_of_claim: \"sub\""), std::string::npos)
        << st.error().message;
  }
  ServerConfig ok;
  Status st = Load(
      "identity:\n  jwt:\n    - {issuer: \"https://idp\", audience: a, agent_claim: act.sub}\n",
      &ok);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(identity::EffectiveOnBehalfOfClaim(ok.jwt_issuers.at(0)), "sub");
}

// Tests that the telemetry: section loads as written and an endpoint turns export on.
TEST(ServerConfigTelemetryTest, LoadsTheSection) {
  ServerConfig c;
  Status st = Load(R"(telemetry:
  endpoint: http://collector:4318
  protocol: http/json
  headers: {authorization: "Bearer t"}
  logs: false
  queue_size: 10
  batch_interval_ms: 200
  service_name: guard
  resource_attributes: {deployment.environment: prod}
  send_arguments: true
)",
                   &c);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(c.telemetry.enabled);
  EXPECT_EQ(c.telemetry.protocol, telemetry::Encoding::kJson);
  ASSERT_EQ(c.telemetry.headers.size(), 1u);
  EXPECT_EQ(c.telemetry.headers[0].second, "Bearer t");
  EXPECT_FALSE(c.telemetry.logs);
  EXPECT_EQ(c.telemetry.queue_size, 10u);
  EXPECT_EQ(c.telemetry.batch_interval, std::chrono::milliseconds(200));
  EXPECT_EQ(c.telemetry.service_name, "guard");
  EXPECT_TRUE(c.telemetry.send_arguments);
  ServerConfig off;
  ASSERT_TRUE(Load("telemetry:\n  traces: true\n", &off).ok());
  EXPECT_FALSE(off.telemetry.enabled);
}

// Tests that a mistake in telemetry: is refused with file:line:column, never ignored (a
// typo must not silently turn export off or send to the wrong place).
TEST(ServerConfigTelemetryTest, MistakesAreRefusedWithTheirPlace) {
  for (const char* bad :
       {"telemetry:\n  endpont: http://x:4318\n", "telemetry:\n  endpoint: grpc://x:4317\n",
        "telemetry:\n  protocol: grpc\n", "telemetry:\n  logs: yes\n",
        "telemetry:\n  queue_size: 0\n", "telemetry:\n  headers: {\"bad name\": x}\n"}) {
    ServerConfig c;
    Status st = Load(bad, &c);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.error().message.find("interlock.yaml:2:"), std::string::npos)
        << st.error().message;
  }
}

// Tests that a key written twice in one mapping of the config file is refused with the
// position of the second one, as in policy files, instead of silently keeping the last:
// a second `store:` or `limits.max_body_bytes:` lower in a long file must not win unseen.
TEST(ConfigTest, DuplicateKeyIsRefusedWithItsPosition) {
  struct Case {
    const char* text;
    const char* where;  // file:line:column of the second key
    const char* what;
  };
  for (const Case& k : {
           Case{"listen: 127.0.0.1:8181\nstore: a.db\nstore: b.db\n", "interlock.yaml:3:1",
                "duplicate key 'store' in the document (first written at line 2)"},
           Case{"limits:\n  max_body_bytes: 1048576\n  max_connections: 10\n"
                "  max_body_bytes: 67108864\n",
                "interlock.yaml:4:3", "duplicate key 'max_body_bytes' in limits"},
           Case{"mcp:\n  upstreams:\n    fs: {command: [a]}\n    fs: {url: http://127.0.0.1:1/m}\n",
                "interlock.yaml:4:5", "duplicate key 'fs' in mcp.upstreams"},
           Case{"approvals: {channel: a, channel: b}\n", "interlock.yaml:1:25",
                "duplicate key 'channel' in approvals"},
       }) {
    ServerConfig c;
    Status st = Load(k.text, &c);
    ASSERT_FALSE(st.ok()) << k.text;
    const std::string& m = st.error().message;
    EXPECT_NE(m.find(k.where), std::string::npos) << m;
    EXPECT_NE(m.find(k.what), std::string::npos) << m;
  }
  // The same keys, once each, load; so does a key repeated in two different mappings.
  ServerConfig ok;
  Status st = Load(
      "store: a.db\nlimits: {max_connections: 10}\napprovals: {channel: a}\n"
      "notifier: {queue: 10}\n",
      &ok);
  ASSERT_TRUE(st.ok()) << st.error().message;
}

// Tests that a second YAML document in the config file is refused, not ignored.
TEST(ConfigTest, SecondDocumentIsRefused) {
  ServerConfig c;
  Status st = Load("store: a.db\n---\nstore: b.db\n", &c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("more than one YAML document"), std::string::npos)
      << st.error().message;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
