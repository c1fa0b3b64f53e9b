// A stand-in for Slack's Web API on 127.0.0.1 port 0, for the daemon's Slack tests
// (tests/integration/slack, tests/integration/identity): what Interlock posts is recorded
// and checked against the bot token kFakeSlackBotToken.
#ifndef INTERLOCK_TESTS_INTEGRATION_SLACK_FAKE_SLACK_H_
#define INTERLOCK_TESTS_INTEGRATION_SLACK_FAKE_SLACK_H_

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/json.hpp>

namespace interlock::testing {

inline constexpr char kFakeSlackBotToken[] = "xoxb-test-bot-token";

inline std::string FakeSlackStr(const boost::json::value& v, const char* key) {
  if (!v.is_object()) return "";
  const boost::json::value* x = v.as_object().if_contains(key);
  return x && x->is_string() ? std::string(x->as_string()) : "";
}

// A stand-in for Slack's Web API: answers chat.postMessage and chat.update as Slack does
// (ok, channel, ts) and users.info from the users it is given (SetUser), records every
// request, and refuses a wrong bot token (invalid_auth).
class FakeSlack {
  using tcp = boost::asio::ip::tcp;

 public:
  struct Request {
    std::string method;  // "chat.postMessage", "chat.update"
    std::string authorization;
    boost::json::object body;
    std::string ts;     // the message's ts as answered
    std::string query;  // after '?' (users.info?user=U...)
  };
  // What users.info answers for `id` (the user object's fields Interlock reads).
  struct User {
    std::string email;
    bool confirmed = true;
    bool deleted = false;
    bool bot = false;
  };

  explicit FakeSlack(std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      : delay_(delay) {
    tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(boost::asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeSlack() {
    stop_ = true;
    boost::beast::error_code ec;
    // Wake the blocking accept.
    tcp::socket s(ioc_);
    s.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
  }
  int port() const { return port_; }
  void SetUser(const std::string& id, User u) {
    std::lock_guard lock(mu_);
    users_[id] = std::move(u);
  }

  // Waits until `pred` holds for the recorded requests; returns them.
  std::vector<Request> WaitFor(const std::function<bool(const std::vector<Request>&)>& pred,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return pred(requests_); });
    return requests_;
  }
  std::vector<Request> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      boost::beast::error_code ec;
      tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (ec || stop_) continue;
      boost::beast::flat_buffer buf;
      boost::beast::http::request<boost::beast::http::string_body> req;
      boost::beast::http::read(s, buf, req, ec);
      if (ec) continue;
      std::this_thread::sleep_for(delay_);  // pace: a slow Slack
      Request r;
      const std::string target(req.target());
      const size_t q = target.find('?');
      r.method = target.substr(0, q).substr(target.substr(0, q).rfind('/') + 1);
      if (q != std::string::npos) r.query = target.substr(q + 1);
      r.authorization = std::string(req[boost::beast::http::field::authorization]);
      boost::system::error_code pec;
      boost::json::value v = boost::json::parse(req.body(), pec);
      if (!pec && v.is_object()) r.body = v.as_object();
      boost::json::object answer;
      if (r.authorization != std::string("Bearer ") + kFakeSlackBotToken) {
        answer = {{"ok", false}, {"error", "invalid_auth"}};
      } else if (r.method == "users.info") {
        answer = UserInfo(r.query);
      } else {
        std::string ts = FakeSlackStr(r.body, "ts");
        if (ts.empty()) ts = std::to_string(1700000000 + (++next_ts_)) + ".000100";
        answer = {{"ok", true}, {"channel", FakeSlackStr(r.body, "channel")}, {"ts", ts}};
        r.ts = ts;
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(std::move(r));
      }
      cv_.notify_all();
      boost::beast::http::response<boost::beast::http::string_body> res{
          boost::beast::http::status::ok, 11};
      res.set(boost::beast::http::field::content_type, "application/json");
      res.body() = boost::json::serialize(answer);
      res.keep_alive(false);
      res.prepare_payload();
      boost::beast::http::write(s, res, ec);
      s.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  boost::json::object UserInfo(const std::string& query) {
    const std::string id = query.rfind("user=", 0) == 0 ? query.substr(5) : "";
    std::lock_guard lock(mu_);
    auto it = users_.find(id);
    if (it == users_.end()) return {{"ok", false}, {"error", "user_not_found"}};
    const User& u = it->second;
    return {{"ok", true},
            {"user", boost::json::object{{"id", id},
                                         {"deleted", u.deleted},
                                         {"is_bot", u.bot},
                                         {"is_email_confirmed", u.confirmed},
                                         {"profile", boost::json::object{{"email", u.email}}}}}};
  }

  std::chrono::milliseconds delay_;
  boost::asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  int port_ = 0;
  std::atomic<bool> stop_{false};
  int next_ts_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> requests_;
  std::map<std::string, User> users_;  // guarded by mu_
  std::thread thread_;
};

// application/x-www-form-urlencoded as Slack writes it.
inline std::string FormEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A block_actions form body as Slack sends it when `user` presses a button.
inline std::string ButtonPress(const std::string& user, const std::string& approval_id,
                               bool approve) {
  static std::atomic<int> trigger{0};  // every press Slack sends differs (trigger_id)
  boost::json::object payload{
      {"type", "block_actions"},
      {"trigger_id", std::to_string(++trigger) + ".4744562912.abc"},
      {"user", boost::json::object{{"id", user}, {"username", "someone"}}},
      {"team", boost::json::object{{"id", "T0TEAM"}}},
      {"actions", boost::json::array{boost::json::object{
                      {"action_id", approve ? "interlock_approve" : "interlock_deny"},
                      {"block_id", "interlock_" + approval_id},
                      {"value", approval_id},
                      {"type", "button"}}}}};
  return "payload=" + FormEncode(boost::json::serialize(payload));
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_SLACK_FAKE_SLACK_H_
