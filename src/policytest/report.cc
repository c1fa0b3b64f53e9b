// The reports of `interlock test`: text for people (each failure with the policy line that
// decided it) and JUnit XML for CI.
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "policytest/runner.h"

namespace interlock::policytest {
namespace {

// The lines of the policy files a report quotes, each file read once per report.
class PolicyLines {
 public:
  // The text of the line `at` ("file.yaml:12:7") points to, trimmed; "" when unreadable.
  std::string LineOf(const std::string& at) {
    const size_t c1 = at.find(':');
    if (c1 == std::string::npos) return "";
    const size_t c2 = at.find(':', c1 + 1);
    const std::string file = at.substr(0, c1);
    const std::string num =
        at.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
    size_t line = 0;
    for (char ch : num) {
      if (ch < '0' || ch > '9') return "";
      line = line * 10 + static_cast<size_t>(ch - '0');
      if (line > 10000000) return "";
    }
    auto it = files_.find(file);
    if (it == files_.end()) it = files_.emplace(file, ReadLines(file)).first;
    if (line == 0 || line > it->second.size()) return "";
    std::string text = it->second[line - 1];
    const size_t b = text.find_first_not_of(" \t");
    const size_t e = text.find_last_not_of(" \t\r");
    return b == std::string::npos ? "" : text.substr(b, e - b + 1);
  }

 private:
  static std::vector<std::string> ReadLines(const std::string& file) {
    std::vector<std::string> out;
    std::ifstream in(file, std::ios::binary);
    for (std::string l; out.size() < 1000000 && std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::map<std::string, std::vector<std::string>> files_;
};

// "    policy.yaml:12:7: <the line's text>\n", or "" when `at` is empty or unreadable.
std::string QuotePolicyLine(const std::string& at, PolicyLines* lines) {
  if (at.empty()) return "";
  const std::string text = lines->LineOf(at);
  return text.empty() ? "" : "    " + at + ": " + text + "\n";
}

std::string CaseWhere(const std::string& path, int line, const CaseReport& c, size_t step) {
  std::string s = path + ":" + std::to_string(line) + ": case \"" + c.name + "\"";
  if (c.steps > 1) s += " step " + std::to_string(step + 1);
  return s;
}

std::string FailureText(const std::string& path, const CaseReport& c, const StepFailure& x,
                        PolicyLines* lines) {
  return CaseWhere(path, x.line, c, x.step) + ": " + x.what + "\n" + QuotePolicyLine(x.at, lines);
}

std::string FlipText(const std::string& path, const CaseReport& c, const Flip& x,
                     PolicyLines* lines) {
  return CaseWhere(path, c.line, c, x.step) + ": variant [" + x.family + "] " + x.what + " is " +
         x.verdict + " by rule " + (x.rule.empty() ? "(none)" : x.rule) +
         (x.at.empty() ? "" : " at " + x.at) + "\n" + QuotePolicyLine(x.at, lines) +
         "    call: " + x.call + "\n";
}

// All that failed in `c`, one block per failure, each starting with `mark`.
std::string CaseFailures(const std::string& path, const CaseReport& c, PolicyLines* lines,
                         std::string_view mark) {
  std::string out;
  for (const StepFailure& x : c.failures) out += std::string(mark) + FailureText(path, c, x, lines);
  for (const Flip& x : c.flips) out += std::string(mark) + FlipText(path, c, x, lines);
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        // Other control characters are not allowed in XML 1.0, even as references.
        out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
    }
  }
  return out;
}

std::string Seconds(double s) {
  char t[32];
  std::snprintf(t, sizeof t, "%.6f", s);
  return t;
}

}  // namespace

std::string FormatReports(const std::vector<FileReport>& reports, bool adversarial) {
  std::string out;
  size_t cases = 0, failed = 0, bad = 0, variants = 0, flips = 0;
  bool capped = false;
  PolicyLines lines;
  for (const FileReport& f : reports) {
    if (!f.error.empty()) {
      out += "ERROR " + f.error + "\n";
      ++bad;
      continue;
    }
    size_t file_failed = 0;
    for (const CaseReport& c : f.cases) {
      ++cases;
      variants += c.variants;
      flips += c.flips.size();
      capped = capped || c.capped;
      if (c.ok()) continue;
      ++failed;
      ++file_failed;
      out += CaseFailures(f.path, c, &lines, "FAIL ");
    }
    out += (file_failed == 0 ? "ok   " : "FAIL ") + f.path + ": " + std::to_string(f.cases.size()) +
           " case(s), " + std::to_string(file_failed) + " failed\n";
  }
  out += (failed == 0 && bad == 0 ? "ok: " : "failed: ") + std::to_string(cases) + " case(s), " +
         std::to_string(failed) + " failed";
  if (bad > 0) out += ", " + std::to_string(bad) + " test file(s) unreadable";
  if (adversarial) {
    out += "; " + std::to_string(variants) + " adversarial variant(s) decided, " +
           std::to_string(flips) + " let through";
    if (capped) out += " (some refused calls had more variants than --max-variants)";
  }
  return out + "\n";
}

std::string JUnitXml(const std::vector<FileReport>& reports) {
  std::string body;
  size_t tests = 0, failures = 0, errors = 0;
  double total = 0;
  PolicyLines lines;
  for (const FileReport& f : reports) {
    size_t ft = 0, ff = 0;
    double secs = 0;
    std::string cases;
    const std::string cls = XmlEscape(f.path);
    if (!f.error.empty()) {
      ++errors;
      ft = 1;
      cases += "    <testcase classname=\"" + cls + "\" name=\"(load)\" time=\"0\">\n" +
               "      <error message=\"" + XmlEscape(f.error) + "\"/>\n    </testcase>\n";
    }
    for (const CaseReport& c : f.cases) {
      ++ft;
      secs += c.seconds;
      cases += "    <testcase classname=\"" + cls + "\" name=\"" + XmlEscape(c.name) +
               "\" time=\"" + Seconds(c.seconds) + "\"";
      if (c.ok()) {
        cases += "/>\n";
        continue;
      }
      ++ff;
      const std::string text = CaseFailures(f.path, c, &lines, "");
      cases += ">\n      <failure message=\"" + XmlEscape(text.substr(0, text.find('\n'))) +
               "\" type=\"" + (c.failures.empty() ? "adversarial" : "decision") + "\">" +
               XmlEscape(text) + "</failure>\n    </testcase>\n";
    }
    tests += ft;
    failures += ff;
    total += secs;
    body += "  <testsuite name=\"" + cls + "\" tests=\"" + std::to_string(ft) + "\" failures=\"" +
            std::to_string(ff) + "\" errors=\"" + std::to_string(f.error.empty() ? 0 : 1) +
            "\" time=\"" + Seconds(secs) + "\">\n" + cases + "  </testsuite>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"interlock test\" "
         "tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
         std::to_string(errors) + "\" time=\"" + Seconds(total) + "\">\n" + body +
         "</testsuites>\n";
}

}  // namespace interlock::policytest
