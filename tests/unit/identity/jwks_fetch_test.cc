// JWKS over https from a test identity provider on 127.0.0.1: OIDC discovery, the
// issuer's private CA as ca_file, key rotation, and what is never accepted (plain http,
// an untrusted certificate, a discovery document naming another issuer).
#include "identity/jwks_fetch.h"

#include <atomic>
#include <memory>
#include <mutex>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include "daemon/metrics.h"
#include "doors/http_api/http_server.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_idp.h"
#include "tls_server.h"

namespace interlock::identity {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
namespace http = boost::beast::http;
using server::HttpRequest;
using server::HttpResponse;
using server::Responder;

// Serves /.well-known/openid-configuration and /jwks; the test swaps the key set.
class IdpHandler final : public server::RequestHandler {
 public:
  void Handle(HttpRequest req, Responder r) override {
    HttpResponse res(http::status::ok, req.version());
    std::lock_guard lock(mu);
    if (req.target() == "/.well-known/openid-configuration") {
      res.body() = json::serialize(
          json::object{{"issuer", discovery_issuer.empty() ? issuer : discovery_issuer},
                       {"jwks_uri", issuer + "/jwks"},
                       {"padding", std::string(discovery_padding, ' ')}});
      ++discoveries;
    } else if (req.target() == "/jwks") {
      res.body() = jwks;
      ++jwks_fetches;
    } else {
      res.result(http::status::not_found);
    }
    res.set(http::field::content_type, "application/json");
    res.prepare_payload();
    r.Send(std::move(res));
  }
  std::mutex mu;
  std::string issuer;
  std::string discovery_issuer;  // when set, the discovery document names this issuer
  size_t discovery_padding = 0;  // bytes added to the discovery document
  std::string jwks;
  int discoveries = 0;
  int jwks_fetches = 0;
};

class JwksFetch : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = testing::MakeSelfSignedCert(dir_.path(), "idp", "IP:127.0.0.1");
    ASSERT_EQ(cert_.error, "");
    server_ = testing::StartTlsServer(cert_, &idp_, &metrics_);
    ASSERT_NE(server_, nullptr);
    issuer_ = testing::HttpsUrl(*server_);
    idp_.issuer = issuer_;
    idp_.jwks = testing::JwksOf({key1_});
    cfg_.issuer = issuer_;
    cfg_.audience = "interlock";
    cfg_.ca_file = cert_.cert;  // the test CA: the certificate is its own issuer
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  std::string Token(const testing::TestKey& k) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    return testing::SignJwt(k, {{"alg", k.alg}, {"kid", k.kid}},
                            {{"iss", issuer_},
                             {"aud", "interlock"},
                             {"sub", "deploy-agent"},
                             {"iat", now},
                             {"exp", now + 300}});
  }

  testing::TempDir dir_;
  testing::TestCert cert_;
  IdpHandler idp_;
  server::Metrics metrics_;
  std::unique_ptr<server::HttpServer> server_;
  std::string issuer_;
  IssuerConfig cfg_;
  testing::TestKey key1_ = testing::MakeKey("k1", "ES256");
  SystemClock clock_;
};

// Tests that discovery and the JWKS are fetched over https with a private CA, and a rotated key set
// is picked up.
TEST_F(JwksFetch, DiscoveryOverHttpsWithAPrivateCaAndRotation) {
  HttpsJwksFetcher fetcher;
  Verifier v({cfg_}, &fetcher, &clock_);
  v.RefreshDue();  // as the daemon does at start
  auto r = v.Verify(Token(key1_));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->agent, "deploy-agent");
  EXPECT_EQ(idp_.discoveries, 1);

  // The IdP rotates to a new key; the first token signed with it is refused at once and
  // asks for one refresh in the background, after which it verifies.
  const testing::TestKey key2 = testing::MakeKey("k2", "EdDSA");
  {
    std::lock_guard lock(idp_.mu);
    idp_.jwks = testing::JwksOf({key2});
  }
  auto first = v.Verify(Token(key2));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(RefusalCode(first.error()), code::kUnknownKid) << first.error().message;
  ASSERT_TRUE(v.WaitForRefreshes(std::chrono::seconds(10)));
  auto r2 = v.Verify(Token(key2));
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(idp_.discoveries, 1) << "the discovered jwks_uri is remembered";
}

// Tests that a configured jwks_uri is fetched without discovery.
TEST_F(JwksFetch, ConfiguredJwksUriSkipsDiscovery) {
  cfg_.jwks_uri = issuer_ + "/jwks";
  HttpsJwksFetcher fetcher;
  auto text = fetcher.Fetch(cfg_);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(idp_.discoveries, 0);
  EXPECT_EQ(idp_.jwks_fetches, 1);
}

// Tests that an issuer whose certificate is not trusted is refused.
TEST_F(JwksFetch, UntrustedCertificateIsRefused) {
  cfg_.ca_file = "";  // the system CAs do not know the test CA
  HttpsJwksFetcher fetcher;
  EXPECT_FALSE(fetcher.Fetch(cfg_).ok());
  EXPECT_EQ(idp_.discoveries, 0);
}

// Tests that a plain-http jwks_uri is refused.
TEST_F(JwksFetch, PlainHttpJwksUriIsRefused) {
  cfg_.jwks_uri = "http://127.0.0.1:" + std::to_string(server_->local_endpoint().port()) + "/jwks";
  EXPECT_FALSE(ValidateIssuerConfig(cfg_).ok());
  HttpsJwksFetcher fetcher;
  auto r = fetcher.Fetch(cfg_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("https"), std::string::npos) << r.error().message;
}

// Tests that a discovery document naming another issuer is refused.
TEST_F(JwksFetch, DiscoveryDocumentNamingAnotherIssuerIsRefused) {
  idp_.discovery_issuer = "https://evil.test";
  HttpsJwksFetcher fetcher;
  EXPECT_FALSE(fetcher.Fetch(cfg_).ok());
  EXPECT_EQ(idp_.jwks_fetches, 0);
}

// Tests that an unreachable issuer is an error, not an empty key set.
TEST_F(JwksFetch, UnreachableIssuerIsAnError) {
  const std::string gone = issuer_;
  server_->Shutdown();
  server_.reset();
  HttpsJwksFetcher fetcher(std::chrono::milliseconds(500));
  cfg_.issuer = gone;
  EXPECT_FALSE(fetcher.Fetch(cfg_).ok());
}

// Tests that an issuer answering a discovery document or a key set over its bound (a
// memory exhaustion attempt, or a misconfigured endpoint) is refused, not read to the end.
TEST_F(JwksFetch, OversizedDiscoveryOrKeySetIsRefused) {
  idp_.discovery_padding = kMaxDiscoveryBytes;
  HttpsJwksFetcher fetcher;
  EXPECT_FALSE(fetcher.Fetch(cfg_).ok());
  EXPECT_EQ(idp_.jwks_fetches, 0);
  {
    std::lock_guard lock(idp_.mu);
    idp_.discovery_padding = 0;
    idp_.jwks = R"({"keys":[],"padding":")" + std::string(kMaxJwksBytes, ' ') + R"("})";
  }
  EXPECT_FALSE(fetcher.Fetch(cfg_).ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::identity
