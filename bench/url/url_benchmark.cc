// Cost of one URL constraint check (parse, normalise, match) with the WebFetch rules of
// the claude-code example policy. Run with --benchmark_repetitions=5 and read the median.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "policy/url_constraint.h"

namespace interlock::policy {
namespace {

std::shared_ptr<const UrlMatcher> DocsRules() {
  UrlRules rules;
  for (const char* p : {"https://docs.python.org/", "https://developer.mozilla.org/",
                        "https://*.readthedocs.io/en/", "http://127.0.0.1:8080/api/"}) {
    std::string why;
    auto r = ParseUrlPrefix(p, &why);
    if (!r) std::abort();
    rules.allow.push_back(*r);
  }
  return CompileUrlRules(rules);
}

void Run(benchmark::State& state, const char* url, bool expect) {
  auto m = DocsRules();
  std::string why;
  for (auto _ : state) {
    why.clear();
    bool ok = CheckUrl(*m, url, &why);
    benchmark::DoNotOptimize(ok);
    if (ok != expect) state.SkipWithError("unexpected result");
  }
}

void BM_CheckUrl_AllowedAscii(benchmark::State& s) {
  Run(s, "https://docs.python.org/3/library/os.html#os.walk", true);
}
BENCHMARK(BM_CheckUrl_AllowedAscii);

void BM_CheckUrl_AllowedLongPath(benchmark::State& s) {
  Run(s, "https://developer.mozilla.org/en-US/docs/Web/API/Fetch_API/Using_Fetch?x=1", true);
}
BENCHMARK(BM_CheckUrl_AllowedLongPath);

void BM_CheckUrl_DeniedHost(benchmark::State& s) {
  Run(s, "https://docs.python.org.evil.com/3/library/", false);
}
BENCHMARK(BM_CheckUrl_DeniedHost);

void BM_CheckUrl_DeniedHomograph(benchmark::State& s) {
  Run(s,
      "https://d\xD0\xBE"
      "cs.python.org/3/",
      false);  // Cyrillic o: through ICU
}
BENCHMARK(BM_CheckUrl_DeniedHomograph);

void BM_CheckUrl_DeniedUserinfo(benchmark::State& s) {
  Run(s, "https://docs.python.org@evil.com/", false);
}
BENCHMARK(BM_CheckUrl_DeniedUserinfo);

void BM_CheckUrl_AllowedDecimalIp(benchmark::State& s) {
  Run(s, "http://2130706433:8080/api/", true);
}
BENCHMARK(BM_CheckUrl_AllowedDecimalIp);

}  // namespace
}  // namespace interlock::policy

BENCHMARK_MAIN();
