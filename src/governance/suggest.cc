#include "governance/suggest.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <boost/json/object.hpp>

#include "policy/loader.h"
#include "policy/writer.h"

namespace interlock::governance {
namespace {

namespace json = boost::json;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from < s.size()) {
    const size_t nl = s.find('\n', from);
    const size_t end = nl == std::string::npos ? s.size() : nl;
    out.push_back(s.substr(from, end - from));
    from = end + 1;
  }
  return out;
}

}  // namespace

Result<SuggestedPolicy> SuggestPolicyText(const AgentDrift& drift) {
  SuggestedPolicy out;
  out.file = drift.file;
  std::ifstream in(drift.file, std::ios::binary);
  if (!in) return Error::NotFound("cannot open " + drift.file);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error::Unavailable("cannot read " + drift.file);
  out.before = text.str();
  Result<std::string> edited = policy::ApplyPolicyEdits(out.before, Suggest(drift));
  if (!edited.ok()) return edited.error();
  std::vector<policy::Diagnostic> diags;
  if (auto check = policy::ParseAgentPolicy(*edited, drift.file, &diags); !check.ok()) {
    return Error::Invalid("the suggested policy would not load (nothing written):\n" +
                          check.error().message);
  }
  out.after = std::move(*edited);
  return out;
}

std::vector<DiffLine> LineDiff(const std::string& before, const std::string& after) {
  const std::vector<std::string> a = Lines(before), b = Lines(after);
  // Policy files are small (hundreds of lines): the quadratic table is fine; past a bound
  // the whole file is shown as replaced rather than spending memory.
  std::vector<DiffLine> out;
  if (a.size() * b.size() > 4'000'000) {
    for (const auto& l : a) out.push_back({'-', l});
    for (const auto& l : b) out.push_back({'+', l});
    return out;
  }
  std::vector<std::vector<uint32_t>> lcs(a.size() + 1, std::vector<uint32_t>(b.size() + 1));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      out.push_back({'=', a[i++]});
      ++j;
    } else if (j < b.size() && (i == a.size() || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push_back({'+', b[j++]});
    } else {
      out.push_back({'-', a[i++]});
    }
  }
  return out;
}

json::array DiffToJson(const std::vector<DiffLine>& diff, size_t context) {
  std::vector<bool> keep(diff.size(), false);
  for (size_t k = 0; k < diff.size(); ++k) {
    if (diff[k].op == '=') continue;
    const size_t lo = k > context ? k - context : 0;
    const size_t hi = std::min(diff.size(), k + context + 1);
    for (size_t m = lo; m < hi; ++m) keep[m] = true;
  }
  json::array out;
  bool gap = false;
  for (size_t k = 0; k < diff.size(); ++k) {
    if (!keep[k]) {
      gap = true;
      continue;
    }
    if (gap && !out.empty()) out.push_back(json::object{{"op", "..."}, {"text", ""}});
    gap = false;
    out.push_back(json::object{{"op", std::string(1, diff[k].op == '=' ? ' ' : diff[k].op)},
                               {"text", diff[k].text}});
  }
  return out;
}

}  // namespace interlock::governance
