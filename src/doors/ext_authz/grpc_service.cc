#include "doors/ext_authz/grpc_service.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "envoy/service/auth/v3/external_auth.grpc.pb.h"

namespace interlock::doors::ext_authz {

namespace auth = envoy::service::auth::v3;

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::NotFound(std::string("ext_authz.") + what + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpAttributes AttributesOf(const auth::CheckRequest& request) {
  const auto& http = request.attributes().request().http();
  HttpAttributes out;
  out.method = http.method();
  out.path = http.path();
  out.host = http.host();
  if (http.header_map().headers_size() > 0) {
    for (const auto& h : http.header_map().headers()) {
      const std::string name = Lower(h.key());
      const std::string value = h.raw_value().empty() ? h.value() : h.raw_value();
      auto [it, fresh] = out.headers.emplace(name, value);
      if (!fresh) it->second += "," + value;  // as Envoy joins a repeated header in `headers`
    }
  } else {
    for (const auto& [k, v] : http.headers()) out.headers.emplace(Lower(k), v);
  }
  out.body = http.raw_body().empty() ? http.body() : http.raw_body();
  auto partial = out.headers.find("x-envoy-auth-partial-body");
  out.partial_body = (partial != out.headers.end() && Lower(partial->second) == "true") ||
                     (http.size() > 0 && static_cast<uint64_t>(http.size()) > out.body.size());
  return out;
}

void AddHeader(google::protobuf::RepeatedPtrField<envoy::config::core::v3::HeaderValueOption>* to,
               const std::string& key, const std::string& value) {
  auto* option = to->Add();
  option->mutable_header()->set_key(key);
  option->mutable_header()->set_value(value);
  option->set_append_action(envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

}  // namespace

class ExtAuthzServer::Impl final : public auth::Authorization::Service {
 public:
  explicit Impl(Door* door) : door_(door) {}

  grpc::Status Check(grpc::ServerContext*, const auth::CheckRequest* request,
                     auth::CheckResponse* response) override {
    const CheckAnswer a = door_->Check(AttributesOf(*request));
    response->mutable_status()->set_code(static_cast<int>(a.code));
    response->mutable_status()->set_message(a.message);
    if (a.allowed()) {
      auto* ok = response->mutable_ok_response();
      for (const auto& [k, v] : a.headers) AddHeader(ok->mutable_headers(), k, v);
    } else {
      auto* denied = response->mutable_denied_response();
      denied->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(a.http_status));
      for (const auto& [k, v] : a.headers) AddHeader(denied->mutable_headers(), k, v);
      denied->set_body(a.body);
    }
    return grpc::Status::OK;
  }

  std::unique_ptr<grpc::Server> server;

 private:
  Door* door_;
};

Result<std::unique_ptr<ExtAuthzServer>> ExtAuthzServer::Start(Door* door) {
  const ExtAuthzConfig& c = door->config();
  std::shared_ptr<grpc::ServerCredentials> creds;
  const bool tls = !c.tls_cert.empty();
  if (tls) {
    auto cert = ReadFile(c.tls_cert, "tls_cert");
    if (!cert.ok()) return cert.error();
    auto key = ReadFile(c.tls_key, "tls_key");
    if (!key.ok()) return key.error();
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({std::move(*key), std::move(*cert)});
    creds = grpc::SslServerCredentials(options);
  } else {
    creds = grpc::InsecureServerCredentials();
  }
  std::unique_ptr<ExtAuthzServer> out(new ExtAuthzServer());
  out->impl_ = std::make_unique<Impl>(door);
  out->tls_ = tls;
  const std::string host = c.host.find(':') != std::string::npos ? "[" + c.host + "]" : c.host;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(host + ":" + std::to_string(c.port), creds, &port);
  builder.RegisterService(out->impl_.get());
  // The request's body and headers, with room for the rest of the CheckRequest.
  builder.SetMaxReceiveMessageSize(static_cast<int>(c.max_body_bytes + (1 << 20)));
  // Each Check blocks its thread on the decision's commit, and commits are grouped across
  // the calls in flight: enough threads waiting for work keep concurrent Checks in one
  // group commit instead of a queue of fsyncs (bench/ext_authz/bench-ext-authz.sh).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 8);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
  out->impl_->server = builder.BuildAndStart();
  if (!out->impl_->server || port == 0) {
    return Error::Unavailable("ext_authz: cannot listen on " + host + ":" + std::to_string(c.port));
  }
  out->port_ = static_cast<uint16_t>(port);
  return out;
}

void ExtAuthzServer::Shutdown(std::chrono::milliseconds grace) {
  if (!impl_ || !impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
  impl_->server.reset();
}

ExtAuthzServer::~ExtAuthzServer() { Shutdown(); }

}  // namespace interlock::doors::ext_authz
