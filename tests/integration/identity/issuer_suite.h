// IssuerSuite: the fixture of an identity suite whose daemon trusts an in-process issuer:
// the issuer `idp_` (a handler with `mu`, `issuer` and `jwks`) over https on loopback with
// its test certificate `cert_`, publishing the signing key `key_`; DIR/policies; and the
// daemon and client the suite makes (MakeDaemon, then its tokens, then StartAndConnect). A
// suite's SetUp calls StartIssuer first; TearDown closes the client and stops the daemon,
// then the issuer's server.
#ifndef INTERLOCK_TESTS_INTEGRATION_IDENTITY_ISSUER_SUITE_H_
#define INTERLOCK_TESTS_INTEGRATION_IDENTITY_ISSUER_SUITE_H_

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "daemon/metrics.h"
#include "daemon_harness.h"
#include "doors/http_api/http_server.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_idp.h"
#include "tls_server.h"

namespace interlock::testing {

template <typename Idp>
class IssuerSuite : public ::testing::Test {
 protected:
  // `kid`: the id of the issuer's ES256 signing key.
  explicit IssuerSuite(const char* kid) : key_(MakeKey(kid, "ES256")) {}

  // Starts the issuer (issuer_ is its URL) and makes DIR/policies (policies_); the test
  // fails (fatally) when the certificate or the server does not come up.
  void StartIssuer() {
    issuer_ = StartTlsIssuer(dir_.path(), &idp_, &metrics_, JwksOf({key_}), &cert_, &idp_server_);
    ASSERT_EQ(cert_.error, "");
    ASSERT_NE(idp_server_, nullptr);
    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
  }

  // `daemon_`, not started: `serve` of policies_ with `config`, its store in DIR.
  void MakeDaemon(const std::string& config) {
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_, config);
  }
  // Starts `daemon_` and connects `client_`; the test fails (fatally) when it does not start.
  void StartAndConnect() {
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
    if (idp_server_) idp_server_->Shutdown();
  }

  TempDir dir_;
  TestCert cert_;
  Idp idp_;
  server::Metrics metrics_;
  std::unique_ptr<server::HttpServer> idp_server_;
  std::string issuer_;
  TestKey key_;
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_IDENTITY_ISSUER_SUITE_H_
