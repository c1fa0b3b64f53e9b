#include "daemon_harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "subprocess.h"
#include "wait.h"

namespace interlock::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Binary() { return std::string(INTERLOCK_BINARY_DIR) + "/interlock"; }

}  // namespace

struct HttpClient::Impl {
  int port;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  bool Connect(std::chrono::milliseconds timeout) {
    stream.emplace(ioc);
    buffer.clear();
    bool ok = false;
    stream->expires_after(timeout);
    stream->async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
        [&](beast::error_code ec) { ok = !ec; });
    ioc.restart();
    ioc.run_for(timeout + std::chrono::milliseconds(500));
    if (ok) stream->socket().set_option(tcp::no_delay(true));
    return ok;
  }
};

HttpClient::HttpClient(int port) : impl_(std::make_unique<Impl>()) { impl_->port = port; }
HttpClient::~HttpClient() = default;

HttpResult HttpClient::Request(const std::string& method, const std::string& target,
                               const std::string& body, const std::string& token,
                               std::chrono::milliseconds timeout,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpResult out;
  for (int attempt = 0; attempt < 2 && out.status == 0; ++attempt) {
    if (!impl_->stream || attempt > 0) {
      if (!impl_->Connect(timeout)) return out;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    bool done = false;
    beast::error_code error;
    impl_->stream->expires_after(timeout);
    http::async_write(*impl_->stream, req, [&](beast::error_code ec, std::size_t) {
      if (ec) {
        error = ec;
        done = true;
        return;
      }
      http::async_read(*impl_->stream, impl_->buffer, parser,
                       [&](beast::error_code ec2, std::size_t) {
                         error = ec2;
                         done = true;
                       });
    });
    impl_->ioc.restart();
    impl_->ioc.run_for(timeout + std::chrono::milliseconds(500));
    if (!done || error) {
      impl_->stream.reset();
      if (!done) return out;  // timed out: do not retry
      continue;
    }
    auto res = parser.release();
    out.status = res.result_int();
    out.body = res.body();
    for (const auto& f : res) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      out.headers[name] = std::string(f.value());
    }
    boost::system::error_code ec;
    out.json = boost::json::parse(out.body, ec);
    if (ec) out.json = nullptr;
    if (!res.keep_alive()) impl_->stream.reset();
  }
  return out;
}

std::string RawExchange(int port, const std::string& bytes, std::chrono::milliseconds timeout,
                        std::chrono::milliseconds* elapsed) {
  net::io_context ioc;
  tcp::socket sock(ioc);
  const auto start = std::chrono::steady_clock::now();
  beast::error_code ec;
  sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
               ec);
  if (ec) return "";
  net::write(sock, net::buffer(bytes), ec);
  std::string received;
  std::array<char, 4096> buf;
  std::function<void()> read = [&] {
    sock.async_read_some(net::buffer(buf), [&](beast::error_code e, std::size_t n) {
      received.append(buf.data(), n);
      if (!e) read();
    });
  };
  read();
  ioc.run_for(timeout);
  if (elapsed) {
    *elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  }
  return received;
}

struct WebhookReceiver::Impl {
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> bodies;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      auto stream = std::make_shared<beast::tcp_stream>(std::move(s));
      auto buffer = std::make_shared<beast::flat_buffer>();
      auto req = std::make_shared<http::request<http::string_body>>();
      stream->expires_after(std::chrono::seconds(5));
      http::async_read(
          *stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec2, std::size_t) {
            if (ec2) return;
            {
              std::lock_guard lock(mu);
              bodies.push_back(req->body());
            }
            cv.notify_all();
            auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
            res->body() = "ok";
            res->keep_alive(false);
            res->prepare_payload();
            http::async_write(*stream, *res, [stream, res](beast::error_code, std::size_t) {
              beast::error_code ignored;
              stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
            });
          });
      Accept();
    });
  }
};

WebhookReceiver::WebhookReceiver() : impl_(std::make_unique<Impl>()) {
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

WebhookReceiver::~WebhookReceiver() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::vector<std::string> WebhookReceiver::WaitFor(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->bodies.size() >= n; });
  return impl_->bodies;
}

Daemon::Daemon(std::string dir, std::string policies, std::string config)
    : dir_(std::move(dir)),
      policies_(std::move(policies)),
      config_(std::move(config)),
      store_(dir_ + "/interlock.db"),
      ready_(dir_ + "/ready.json") {}

Daemon::~Daemon() {
  if (pid_ > 0) Kill9();
}

bool Daemon::Start(std::chrono::milliseconds timeout) {
  ::unlink(ready_.c_str());
  ++starts_;
  const std::string log = dir_ + "/daemon.log";
  std::vector<std::string> args = {Binary(),       "serve", "--listen",   "127.0.0.1:0",
                                   "--store",      store_,  "--policies", policies_,
                                   "--ready-file", ready_,  "--threads",  "2"};
  if (!config_.empty()) {
    args.push_back("--config");
    args.push_back(config_);
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  // A test killed by ctest's timeout never reaches Stop(): the daemon ends with it.
  pid_ = SpawnLogged(args, log);
  bool ended = false;
  const bool ready = testing::WaitUntil(
      [&] {
        if (const std::string text = ReadAll(ready_); !text.empty()) {
          boost::system::error_code ec;
          auto v = boost::json::parse(text, ec);
          if (!ec && v.is_object() && v.as_object().contains("port")) {
            port_ = static_cast<int>(v.at("port").to_number<int64_t>());
            return true;
          }
        }
        ended = !Running();
        return ended;
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout),
      std::chrono::milliseconds(20));
  return ready && !ended;
}

bool Daemon::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Daemon::Signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Daemon::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (testing::WaitUntil([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout,
                         std::chrono::milliseconds(20))) {
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  Kill9();
  return -1;
}

void Daemon::Kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string Daemon::log() const { return ReadAll(dir_ + "/daemon.log"); }

std::string RunInterlock(const std::vector<std::string>& args, int* exit_code) {
  std::vector<std::string> argv = {Binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = RunProcess(argv, "", std::chrono::seconds(30));
  if (exit_code) *exit_code = r.exit_code;
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::unique_ptr<Daemon> MemberDaemon(const std::string& dir, const std::string& policy_yaml,
                                     const std::string& store) {
  std::filesystem::create_directories(dir + "/policies");
  std::ofstream(dir + "/policies/agent.yaml", std::ios::binary) << policy_yaml;
  auto daemon = std::make_unique<Daemon>(dir, dir + "/policies");
  daemon->SetStore(store);
  daemon->SetExtraArgs({"--keys", dir + "/keys"});
  return daemon;
}

bool AllowedInAFreshRun(HttpClient& c, const std::string& token, const std::string& tool) {
  HttpResult run = c.Request("POST", "/v1/runs", "{}", token);
  if (run.status != 201 || !run.json.is_object() || !run.json.as_object().contains("run_id")) {
    return false;
  }
  HttpResult r =
      c.Request("POST", "/v1/runs/" + std::string(run.json.at("run_id").as_string()) + "/calls",
                R"({"tool":")" + tool + R"(","args":{}})", token);
  return r.json.is_object() && r.json.as_object().contains("code") &&
         r.json.at("code") == "ALLOWED";
}

std::string CreateToken(const std::string& store, const std::string& role_flag,
                        const std::string& name, const std::vector<std::string>& extra) {
  int rc = -1;
  // --force: tests make tokens for agents whose policy comes later, or never (UNKNOWN_AGENT).
  std::vector<std::string> args = {"token", "create", "--store", store, role_flag, name, "--force"};
  args.insert(args.end(), extra.begin(), extra.end());
  std::string out = RunInterlock(args, &rc);
  if (rc != 0) return "";
  // The token is printed alone on its line.
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

}  // namespace interlock::testing
