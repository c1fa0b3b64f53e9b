// The OTLP receiver of the telemetry integration tests (otlp_receiver.cjs as a child
// process: the official OpenTelemetry protobuf definitions decode every export) and helpers
// to read what it received: spans, log records and metrics, attributes (with loopback.h's
// closed port and json_lines.h's Str).
// Shared by telemetry_integration_test.cc (`interlock serve`) and mcp_telemetry_test.cc
// (`interlock mcp`). Every wait is bounded; the receiver is killed on destruction.
#ifndef INTERLOCK_TESTS_INTEGRATION_TELEMETRY_OTLP_RECEIVER_H_
#define INTERLOCK_TESTS_INTEGRATION_TELEMETRY_OTLP_RECEIVER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "json_lines.h"
#include "loopback.h"
#include "wait.h"

namespace interlock::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// otlp_receiver.cjs as a child process.
class OtlpReceiver {
 public:
  OtlpReceiver(const std::string& dir, int delay_ms = 0)
      : ready_(dir + "/otlp.ready"), out_(dir + "/otlp.jsonl") {
    const std::string src = INTERLOCK_SOURCE_DIR;
    std::vector<std::string> args = {
        "node",       src + "/tests/integration/telemetry/otlp_receiver.cjs",
        "--node-dir", src + "/tests/integration/mcp/node",
        "--ready",    ready_,
        "--out",      out_,
        "--delay-ms", std::to_string(delay_ms)};
    const std::string log = dir + "/otlp.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("node", argv.data());
      ::_exit(127);
    }
    WaitUntil(
        [&] {
          boost::system::error_code ec;
          boost::json::value v = boost::json::parse(ReadFile(ready_), ec);
          if (ec || !v.is_object()) return false;
          port_ = static_cast<int>(v.at("port").to_number<int64_t>());
          return true;
        },
        std::chrono::seconds(20));
  }
  ~OtlpReceiver() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every request received so far, decoded.
  std::vector<boost::json::object> Requests() const {
    std::vector<boost::json::object> out;
    std::istringstream in(ReadFile(out_));
    for (std::string line; std::getline(in, line);) {
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(line, ec);
      if (!ec && v.is_object()) out.push_back(v.as_object());
    }
    return out;
  }
  std::string Raw() const { return ReadFile(out_); }

  // Waits (bounded) until `pred` holds for the items of `signal` received so far.
  template <class Pred>
  std::vector<boost::json::object> WaitFor(
      const std::string& signal, Pred pred,
      std::chrono::milliseconds timeout = std::chrono::seconds(15)) const {
    std::vector<boost::json::object> items;
    WaitUntil([&] { return pred(items = Items(signal)); }, timeout, std::chrono::milliseconds(50));
    return items;
  }

  // The spans, log records or metrics of `signal` across requests.
  std::vector<boost::json::object> Items(const std::string& signal) const {
    std::vector<boost::json::object> out;
    const char* level = signal == "traces" ? "resourceSpans"
                        : signal == "logs" ? "resourceLogs"
                                           : "resourceMetrics";
    const char* scope = signal == "traces" ? "scopeSpans"
                        : signal == "logs" ? "scopeLogs"
                                           : "scopeMetrics";
    const char* items = signal == "traces" ? "spans" : signal == "logs" ? "logRecords" : "metrics";
    for (const boost::json::object& r : Requests()) {
      if (r.at("signal").as_string() != signal || !r.contains("body")) continue;
      for (const auto& rl : r.at("body").at(level).as_array()) {
        for (const auto& sl : rl.at(scope).as_array()) {
          if (!sl.as_object().contains(items)) continue;
          for (const auto& it : sl.at(items).as_array()) out.push_back(it.as_object());
        }
      }
    }
    return out;
  }

 private:
  std::string ready_, out_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// An attribute's value as text (string, int or bool), "" when absent.
inline std::string Attr(const boost::json::object& item, const std::string& key) {
  if (!item.contains("attributes")) return "";
  for (const auto& a : item.at("attributes").as_array()) {
    if (a.at("key").as_string() != key) continue;
    const boost::json::object& v = a.at("value").as_object();
    if (v.contains("stringValue")) return std::string(v.at("stringValue").as_string());
    if (v.contains("intValue")) return std::string(v.at("intValue").as_string());
    if (v.contains("boolValue")) return v.at("boolValue").as_bool() ? "true" : "false";
    if (v.contains("doubleValue")) return std::to_string(v.at("doubleValue").to_number<double>());
  }
  return "";
}

inline const boost::json::object* SpanNamed(const std::vector<boost::json::object>& spans,
                                            const std::string& name, int kind) {
  for (const boost::json::object& s : spans) {
    if (s.at("name").as_string() == name && s.at("kind").to_number<int64_t>() == kind) return &s;
  }
  return nullptr;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_INTEGRATION_TELEMETRY_OTLP_RECEIVER_H_
