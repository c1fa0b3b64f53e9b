// Times how a call's result is masked before it is stored (core::ResultMaskFor and
// core::ResultJson, docs/audit.md#redaction): the work every recorded result of a call
// with redacted arguments pays, on the door's thread or in the store's transaction.
//
// Usage: redact_benchmark [ITERATIONS]
// Prints microseconds per result for four outputs of ~60 KiB: plain text echoing the
// secret, text full of '+' and '%' (URL-like), an MCP embedded resource's base64 blob,
// and a result with no redacted arguments (nothing to mask: the floor).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "audit/redact.h"
#include "core/run_txn.h"

namespace core = interlock::core;
namespace audit = interlock::audit;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string Repeat(std::string_view unit, size_t bytes) {
  std::string out;
  while (out.size() < bytes) out.append(unit);
  return out;
}

double MicrosPerResult(const std::string& output, const json::object& plain, long n) {
  const audit::Redactor redactor("bench-key");
  const json::object recorded =
      plain.empty() ? json::object{} : redactor.RedactArgs(plain, {"password"});
  const std::optional<json::object> values =
      plain.empty() ? std::nullopt : std::optional<json::object>(plain);
  size_t sink = 0;
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    core::CallResult r;
    r.ok = true;
    r.output_json = output;
    sink += json::serialize(core::ResultJson(r, core::ResultMaskFor(redactor, recorded, values)))
                .size();
  }
  const double us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() / double(n);
  if (sink == 0) std::puts("");
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 2000;
  const json::object plain{{"user", "ann"}, {"password", "correct horse battery staple"}};
  const std::string text = json::serialize(json::object{
      {"content",
       json::array{json::object{
           {"type", "text"},
           {"text", Repeat("the quick brown fox jumps over the lazy dog 0123456789. ", 60000) +
                        " logged in with correct horse battery staple"}}}}});
  const std::string urls = json::serialize(json::object{
      {"content", json::array{json::object{
                      {"type", "text"},
                      {"text", Repeat("https://example.test/q?a=1+2&b=%2Fx%2F&c=d+e ", 60000)}}}}});
  const std::string blob = json::serialize(json::object{
      {"content", json::array{json::object{
                      {"type", "resource"},
                      {"resource", json::object{{"uri", "file:///etc/app.conf"},
                                                {"mimeType", "application/octet-stream"},
                                                {"blob", Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
                                                                60000)}}}}}}});
  std::printf("text echo   %8.1f us/result\n", MicrosPerResult(text, plain, n));
  std::printf("url-like    %8.1f us/result\n", MicrosPerResult(urls, plain, n));
  std::printf("blob        %8.1f us/result\n", MicrosPerResult(blob, plain, n));
  std::printf("no redacted %8.1f us/result\n", MicrosPerResult(text, {}, n));
  return 0;
}
