// The environment of the MCP servers Interlock starts (mcp/server_env.h): what the builder
// puts in it, that a spawned child gets exactly that, and that masking covers a secret
// holding another.
#include "mcp/server_env.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "audit/redact.h"
#include "mcp/child_process.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

using Env = std::map<std::string, std::string>;

EnvLookup FakeEnv(Env env) {
  return [env = std::move(env)](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

// Interlock's environment in every case: the base variables, credentials of several
// kinds, an exported bash function.
const Env kInterlockEnv = {
    {"PATH", "/usr/bin:/bin"},
    {"HOME", "/home/op"},
    {"LANG", "C.UTF-8"},
    {"TERM", "xterm"},
    {"INTERLOCK_TOKEN", "il_agent_bearer"},
    {"MY_BEARER", "il_other_bearer"},
    {"AWS_SECRET_ACCESS_KEY", "aws-secret"},
    {"GH_TOKEN", "ghp_secret"},
    {"NODE_OPTIONS", "--max-old-space-size=512"},
    {"BASH_FUNC_x%%", "() { evil; }"},
    {"FUNKY", "() { evil; }"},
};

using Names = std::vector<std::string>;

ServerEnvSpec Spec(Names pass, Env literals = {}, Env secrets = {}, Names forbidden = {}) {
  ServerEnvSpec s;
  s.pass = std::move(pass);
  s.literals = std::move(literals);
  s.secrets = std::move(secrets);
  s.forbidden = std::move(forbidden);
  return s;
}

struct Case {
  const char* name;
  ServerEnvSpec spec;
  std::optional<Env> want;  // unset: an error whose message holds `error`
  const char* error = "";
};

// Tests that the builder gives exactly the base variables Interlock has, plus what the
// operator names, the literals and the server's own secrets (later sources winning), and
// refuses to pass Interlock's bearer variables whichever way they are asked for.
TEST(ServerEnvTest, BuildsExactlyTheBaseThePassedTheLiteralsAndTheOwnSecrets) {
  const Env base = {
      {"PATH", "/usr/bin:/bin"}, {"HOME", "/home/op"}, {"LANG", "C.UTF-8"}, {"TERM", "xterm"}};
  auto with = [&base](Env more) {
    Env e = base;
    for (auto& [k, v] : more) e[k] = v;
    return e;
  };
  const std::vector<Case> cases = {
      {"nothing asked: the base only, no credential", Spec({}), base},
      {"a named variable is passed", Spec({"NODE_OPTIONS"}),
       with({{"NODE_OPTIONS", "--max-old-space-size=512"}})},
      {"a named variable Interlock lacks is left out", Spec({"NOT_SET_ANYWHERE"}), base},
      {"a literal", Spec({}, {{"MODE", "ro"}}), with({{"MODE", "ro"}})},
      {"a literal overrides a base variable", Spec({}, {{"HOME", "/srv"}}),
       with({{"HOME", "/srv"}})},
      {"the own secret", Spec({}, {}, {{"GH_TOKEN", "ghp_secret"}}),
       with({{"GH_TOKEN", "ghp_secret"}})},
      {"a secret overrides a literal of the same name",
       Spec({}, {{"API_KEY", "literal"}}, {{"API_KEY", "from-file"}}),
       with({{"API_KEY", "from-file"}})},
      {"an exported bash function is not copied", Spec({"FUNKY"}), base},
      {"a forbidden base variable is left out", Spec({}, {}, {}, {"TERM"}),
       Env{{"PATH", "/usr/bin:/bin"}, {"HOME", "/home/op"}, {"LANG", "C.UTF-8"}}},
      {"passing the bearer variable is refused",
       Spec({"MY_BEARER"}, {}, {}, {"INTERLOCK_TOKEN", "MY_BEARER"}), std::nullopt,
       "MY_BEARER holds Interlock's own bearer token"},
      {"the bearer variable as a secret is refused",
       Spec({}, {}, {{"INTERLOCK_TOKEN", "il_agent_bearer"}}, {"INTERLOCK_TOKEN"}), std::nullopt,
       "INTERLOCK_TOKEN holds Interlock's own bearer token"},
      {"a bad name to pass", Spec({"A-B"}), std::nullopt, "'A-B' is not a variable name"},
      {"a bad literal name", Spec({}, {{"1X", "v"}}), std::nullopt, "'1X' is not a variable name"},
      {"a name with '=' cannot smuggle a value", Spec({"PATH=/evil"}), std::nullopt,
       "is not a variable name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = BuildServerEnv(c.spec, FakeEnv(kInterlockEnv));
    if (c.want) {
      ASSERT_TRUE(got.ok()) << got.error().message;
      EXPECT_EQ(*got, *c.want);
    } else {
      ASSERT_FALSE(got.ok());
      EXPECT_NE(got.error().message.find(c.error), std::string::npos) << got.error().message;
      // An error names the variable, never a value.
      EXPECT_EQ(got.error().message.find("il_agent_bearer"), std::string::npos);
      EXPECT_EQ(got.error().message.find("il_other_bearer"), std::string::npos);
    }
  }
}

// Tests that the base set holds no credential-looking name: what every server sees
// without anyone asking.
TEST(ServerEnvTest, TheBaseSetIsTheSdkDefaultPlusLocale) {
  const std::set<std::string_view> base(kBaseEnvironment.begin(), kBaseEnvironment.end());
  EXPECT_EQ(base, (std::set<std::string_view>{"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER",
                                              "LANG", "LC_ALL", "LC_CTYPE", "TZ"}));
}

// Tests that a started server inherits nothing of Interlock's environment (the --token-env
// bearer, another upstream's secret_env, a cloud key): its environment is exactly the one
// given.
TEST(ChildProcessTest, ServerInheritsNothingOfInterlocksEnvironment) {
  ::setenv("IL_TEST_LEAKED_SECRET", "leaked-value-123", 1);
  auto child = ChildProcess::Spawn({"env"}, {{"ONLY", "this"}, {"PATH", "/usr/bin:/bin"}});
  ::unsetenv("IL_TEST_LEAKED_SECRET");
  ASSERT_TRUE(child.ok()) << child.error().message;
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read((*child)->stdout_fd(), buf, sizeof buf)) > 0;) {
    out.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ((*child)->Wait(std::chrono::seconds(10)), 0);
  EXPECT_EQ(out, "ONLY=this\nPATH=/usr/bin:/bin\n");
}

// Tests that a store URI's password (userinfo or query, as written and decoded) is found
// for masking, and that a URI without one gives nothing.
TEST(ServerEnvTest, FindsThePasswordOfAStoreUri) {
  EXPECT_EQ(SecretsInUri("postgresql://il:s3cr%40t@db.internal:5432/interlock"),
            (std::vector<std::string>{"s3cr@t", "s3cr%40t"}));
  EXPECT_EQ(SecretsInUri("postgresql://db/interlock?user=il&password=pw-123"),
            std::vector<std::string>{"pw-123"});
  EXPECT_TRUE(SecretsInUri("postgresql://il@db/interlock").empty());
  EXPECT_TRUE(SecretsInUri("/var/lib/interlock/interlock.db").empty());
}

// Tests that a secret holding another (one upstream's token a prefix of another's) is
// masked whole, whichever order the secrets are listed in.
TEST(SecretMaskingTest, ASecretHoldingAnotherIsMaskedWhole) {
  const std::string text = "token=ghp_abc_long_suffix and ghp_abc";
  for (const auto& secrets : {std::vector<std::string>{"ghp_abc", "ghp_abc_long_suffix"},
                              std::vector<std::string>{"ghp_abc_long_suffix", "ghp_abc"}}) {
    EXPECT_EQ(audit::Redactor::MaskSecrets(text, secrets), "token=[REDACTED] and [REDACTED]");
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
