// The `ext_authz:` config section (doors/ext_authz/config.h, read by the daemon:
// daemon/config_ext_authz.cc): good sections read into values, every error named with
// file:line:column.
#include "doors/ext_authz/config.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon/config_reader.h"
#include "doors/ext_authz/door.h"
#include "doors/ext_authz/grpc_service.h"
#include "policy/yaml_tree.h"

namespace interlock::doors::ext_authz {
namespace {

using server::config_internal::ReadExtAuthzConfig;

Status Read(const std::string& yaml, ExtAuthzConfig* out) {
  Result<YamlNode> doc = ReadYamlTree(yaml, "interlock.yaml");
  if (!doc.ok()) return doc.error();
  for (const auto& [k, v] : doc->entries()) {
    if (k.Scalar() == "ext_authz") return ReadExtAuthzConfig(v, "interlock.yaml", "/etc/il", out);
  }
  return Error::Invalid("no ext_authz section");
}

// Tests that a full section reads into its values (paths resolved against the base).
TEST(ExtAuthzConfigTest, FullSectionReads) {
  ExtAuthzConfig c;
  ASSERT_TRUE(Read("ext_authz:\n  listen: 0.0.0.0:9191\n  tls_cert: c.pem\n  tls_key: k.pem\n"
                   "  max_body_bytes: 4096\n  run_header: X-Run\n  routes:\n"
                   "    - {host: a.example, path_prefix: /mcp, mcp: true}\n"
                   "    - {method: POST, path_prefix: /api, tool: create_ticket}\n",
                   &c)
                  .ok());
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 9191);
  EXPECT_EQ(c.tls_cert, "/etc/il/c.pem");
  EXPECT_EQ(c.max_body_bytes, 4096u);
  EXPECT_EQ(c.run_header, "x-run");
  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_TRUE(c.routes[0].mcp);
  EXPECT_EQ(c.routes[1].tool, "create_ticket");
}

// Tests that each bad section is refused with file:line:column and what is wrong.
TEST(ExtAuthzConfigTest, ErrorsNameFileLineColumn) {
  const struct {
    const char* yaml;
    const char* where;
    const char* what;
  } kCases[] = {
      {"ext_authz:\n  listen: nowhere\n", "interlock.yaml:2:11", "HOST:PORT"},
      {"ext_authz:\n  listen: 127.0.0.1:70000\n", "interlock.yaml:2:11", "0..65535"},
      {"ext_authz:\n  routes: []\n", "interlock.yaml:2:3", "listen is required"},
      {"ext_authz:\n  listen: 10.0.0.1:9191\n", "interlock.yaml:2:3", "loopback"},
      {"ext_authz:\n  listen: 127.0.0.1:1\n  tls_cert: c.pem\n", "interlock.yaml:2:3", "together"},
      {"ext_authz:\n  listen: 127.0.0.1:1\n  max_body_bytes: 10\n", "interlock.yaml:3:19", "1024"},
      {"ext_authz:\n  listen: 127.0.0.1:1\n  bogus: 1\n", "interlock.yaml:3:3", "unknown key"},
      {"ext_authz:\n  listen: 127.0.0.1:1\n  routes:\n    - {path_prefix: /x}\n",
       "interlock.yaml:4:7", "either"},
      {"ext_authz:\n  listen: 127.0.0.1:1\n  routes:\n    - {path_prefix: x, mcp: true}\n",
       "interlock.yaml:4:21", "start with '/'"},
      {"ext_authz:\n  listen: 127.0.0.1:1\n  routes:\n    - {mcp: yes please}\n",
       "interlock.yaml:4:13", "true or false"},
  };
  for (const auto& k : kCases) {
    ExtAuthzConfig c;
    Status s = Read(k.yaml, &c);
    ASSERT_FALSE(s.ok()) << k.yaml;
    EXPECT_NE(s.error().message.find(k.where), std::string::npos)
        << k.yaml << " -> " << s.error().message;
    EXPECT_NE(s.error().message.find(k.what), std::string::npos)
        << k.yaml << " -> " << s.error().message;
  }
}

// Tests that a section with several errors reports each in one pass (as the rest of the
// daemon's config does), a mistyped key naming the nearest one, and sets nothing.
TEST(ExtAuthzConfigTest, EveryErrorOfTheSectionInOnePassWithSuggestions) {
  Result<YamlNode> doc = ReadYamlTree(
      "ext_authz:\n  listen: 127.0.0.1:1\n  max_body_byte: 4096\n  run_header: ''\n"
      "  routes:\n    - {path_prefx: /x, mcp: true}\n    - {mcp: maybe}\n",
      "interlock.yaml");
  ASSERT_TRUE(doc.ok());
  ExtAuthzConfig c;
  std::vector<std::string> errors;
  Status s =
      ReadExtAuthzConfig(doc->entries().front().second, "interlock.yaml", "/etc/il", &c, &errors);
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
  EXPECT_EQ(s.error().message, errors[0]);
  EXPECT_NE(errors[0].find("interlock.yaml:3:3: unknown key 'ext_authz.max_body_byte'; did you "
                           "mean 'ext_authz.max_body_bytes'?"),
            std::string::npos)
      << errors[0];
  EXPECT_NE(errors[1].find("interlock.yaml:4:15: ext_authz.run_header"), std::string::npos)
      << errors[1];
  EXPECT_NE(errors[2].find("did you mean 'ext_authz.routes.path_prefix'?"), std::string::npos)
      << errors[2];
  EXPECT_NE(errors[3].find("interlock.yaml:7:13: ext_authz.routes.mcp must be true or false"),
            std::string::npos)
      << errors[3];
  EXPECT_FALSE(c.enabled);
}

// Tests that the rules across the section's fields hold over a value built without YAML
// (the door's own check): TLS files go in pairs, plain gRPC only on loopback.
TEST(ExtAuthzConfigTest, CheckHoldsOverAPlainValue) {
  ExtAuthzConfig c;
  EXPECT_TRUE(CheckExtAuthzConfig(c).ok());
  c.host = "::1";
  EXPECT_TRUE(CheckExtAuthzConfig(c).ok());
  c.host = "10.0.0.1";
  Status plain = CheckExtAuthzConfig(c);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message.find("loopback only"), std::string::npos);
  c.tls_cert = "/etc/il/c.pem";
  Status half = CheckExtAuthzConfig(c);
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().message.find("together"), std::string::npos);
  c.tls_key = "/etc/il/k.pem";
  EXPECT_TRUE(CheckExtAuthzConfig(c).ok());
}

// Tests that the server checks the config it is given before it listens: a config made in
// code, never read by the daemon, cannot start plain gRPC beyond loopback (nothing binds).
TEST(ExtAuthzConfigTest, ServerRefusesPlainGrpcBeyondLoopbackAtStart) {
  ExtAuthzConfig c;
  c.enabled = true;
  c.host = "10.0.0.1";
  Door door(c, DoorDeps{});
  Result<std::unique_ptr<ExtAuthzServer>> server = ExtAuthzServer::Start(&door);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message.find("loopback only"), std::string::npos)
      << server.error().message;
}

}  // namespace
}  // namespace interlock::doors::ext_authz
