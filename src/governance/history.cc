#include "governance/history.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "audit/export.h"
#include "audit/record_scan.h"

namespace interlock::governance {
namespace {

void SkipWs(std::string_view s, size_t* i) {
  while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\n' || s[*i] == '\t' || s[*i] == '\r')) {
    ++*i;
  }
}

bool SkipString(std::string_view s, size_t* i) {
  if (*i >= s.size() || s[*i] != '"') return false;
  for (size_t p = *i + 1; p < s.size(); ++p) {
    if (s[p] == '\\') {
      ++p;
    } else if (s[p] == '"') {
      *i = p + 1;
      return true;
    }
  }
  return false;
}

bool SkipValue(std::string_view s, size_t* i) {
  SkipWs(s, i);
  if (*i >= s.size()) return false;
  const char c = s[*i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (*i < s.size()) {
      const char d = s[*i];
      if (d == '"') {
        if (!SkipString(s, i)) return false;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) {
          ++*i;
          return true;
        }
      }
      ++*i;
    }
    return false;
  }
  const size_t start = *i;
  while (*i < s.size() && s[*i] != ',' && s[*i] != '}' && s[*i] != ']' && s[*i] != ' ' &&
         s[*i] != '\n') {
    ++*i;
  }
  return *i > start;
}

// What a container walk does after one entry.
enum class Step { kNext, kStop, kBad };

// Walks the comma-separated entries of the JSON container `s` (opened by `open`, closed by
// `close`): `entry(&i)` reads the entry at i and says whether to go on, stop early (true)
// or give up on malformed text (false).
template <typename Entry>
bool WalkContainer(std::string_view s, char open, char close, Entry&& entry) {
  size_t i = 0;
  SkipWs(s, &i);
  if (i >= s.size() || s[i] != open) return false;
  ++i;
  SkipWs(s, &i);
  if (i < s.size() && s[i] == close) return true;
  while (i < s.size()) {
    SkipWs(s, &i);
    if (const Step step = entry(&i); step != Step::kNext) return step == Step::kStop;
    SkipWs(s, &i);
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    return i < s.size() && s[i] == close;
  }
  return false;
}

// Walks `object`'s members; fn returns false to stop early.
template <typename Fn>
bool WalkMembers(std::string_view s, Fn&& fn) {
  return WalkContainer(s, '{', '}', [&](size_t* i) {
    const size_t k = *i;
    if (!SkipString(s, i)) return Step::kBad;
    const std::string_view key = s.substr(k, *i - k);
    SkipWs(s, i);
    if (*i >= s.size() || s[*i] != ':') return Step::kBad;
    ++*i;
    SkipWs(s, i);
    const size_t v = *i;
    if (!SkipValue(s, i)) return Step::kBad;
    return fn(key, s.substr(v, *i - v)) ? Step::kNext : Step::kStop;
  });
}

}  // namespace

Result<int64_t> ParseSince(std::string_view text, int64_t now_ms) {
  if (text.size() >= 2) {
    int64_t unit = 0;
    switch (text.back()) {
      case 'd':
        unit = 86400000;
        break;
      case 'h':
        unit = 3600000;
        break;
      case 'm':
        unit = 60000;
        break;
      default:
        break;
    }
    uint64_t n = 0;
    const std::string_view num = text.substr(0, text.size() - 1);
    auto r = std::from_chars(num.data(), num.data() + num.size(), n);
    if (unit != 0 && r.ec == std::errc() && r.ptr == num.data() + num.size() && n < 100000) {
      return now_ms - static_cast<int64_t>(n) * unit;
    }
  }
  Result<TimePoint> t = audit::ParseDateArg(text, false);
  if (!t.ok()) {
    return Error::Invalid("--since: expected 30d, 12h, 45m, YYYY-MM-DD or RFC 3339, got " +
                          std::string(text));
  }
  return ToUnixMillis(*t);
}

bool FindMember(std::string_view object, std::string_view key, std::string_view* out) {
  bool found = false;
  const bool ok = WalkMembers(object, [&](std::string_view k, std::string_view v) {
    // Keys written by Interlock need no unescaping for the names governance asks for.
    if (k.size() == key.size() + 2 && k.substr(1, key.size()) == key) {
      *out = v;
      found = true;
      return false;
    }
    return true;
  });
  return ok && found;
}

bool ForEachMember(std::string_view object,
                   const std::function<void(std::string_view, std::string_view)>& fn) {
  return WalkMembers(object, [&](std::string_view k, std::string_view v) {
    std::string key;
    if (!audit::DecodeJsonString(k, &key)) return true;
    fn(key, v);
    return true;
  });
}

bool ForEachElement(std::string_view s, const std::function<void(std::string_view)>& fn) {
  return WalkContainer(s, '[', ']', [&](size_t* i) {
    const size_t v = *i;
    if (!SkipValue(s, i)) return Step::kBad;
    fn(s.substr(v, *i - v));
    return Step::kNext;
  });
}

bool TokenToU64(std::string_view t, uint64_t* out) {
  auto r = std::from_chars(t.data(), t.data() + t.size(), *out);
  if (r.ec == std::errc() && r.ptr == t.data() + t.size()) return true;
  double d = 0;
  if (!TokenToDouble(t, &d) || d < 0) return false;
  *out = static_cast<uint64_t>(std::llround(d));
  return true;
}

bool TokenToDouble(std::string_view t, double* out) {
  auto r = std::from_chars(t.data(), t.data() + t.size(), *out);
  return r.ec == std::errc() && r.ptr == t.data() + t.size();
}

std::string TokenToString(std::string_view token) {
  std::string out;
  if (!audit::DecodeJsonString(token, &out)) out.clear();
  return out;
}

bool ParseDecisionFields(std::string_view data, DecisionFields* out) {
  std::string_view decision, state;
  bool ok = WalkMembers(data, [&](std::string_view k, std::string_view v) {
    if (k == "\"tool\"") out->tool = v;
    if (k == "\"args\"") out->args = v;
    if (k == "\"decision\"") decision = v;
    if (k == "\"state_after\"") state = v;
    return true;
  });
  if (!ok || out->tool.empty() || decision.empty() || state.empty()) return false;
  ok = WalkMembers(decision, [&](std::string_view k, std::string_view v) {
    if (k == "\"decision\"") out->verdict = v;
    if (k == "\"code\"") out->code = v;
    if (k == "\"shadow_code\"") out->shadow_code = v;
    if (k == "\"rule\"") out->rule = v;
    if (k == "\"rehearsal\"") out->rehearsal = v;
    return true;
  });
  if (!ok || out->code.empty() || out->verdict.empty()) return false;
  bool bad = false;
  ok = WalkMembers(state, [&](std::string_view k, std::string_view v) {
    double d = 0;
    if (k == "\"steps\"") {
      bad |= !TokenToU64(v, &out->steps_after);
    } else if (k == "\"tokens\"") {
      bad |= !TokenToU64(v, &out->tokens);
    } else if (k == "\"cost_usd\"") {
      bad |= !TokenToDouble(v, &d);
      out->cost_micros = std::llround(d * 1e6);
    } else if (k == "\"elapsed_s\"") {
      bad |= !TokenToDouble(v, &d);
      out->elapsed_ms = std::llround(d * 1e3);
    } else if (k == "\"halted\"") {
      out->halted_after = v == "true";
    } else if (k == "\"records\"") {
      out->records_after = v;
    }
    return true;
  });
  return ok && !bad;
}

std::string MemberString(std::string_view object, std::string_view key) {
  std::string_view t;
  return FindMember(object, key, &t) ? TokenToString(t) : std::string();
}

ApprovalEvent ApprovalRequests::Read(const RecordView& r) {
  ApprovalEvent a;
  a.event = MemberString(r.data, "event");
  std::string key = MemberString(r.data, "approval_id");
  if (key.empty()) key = std::string(r.call_id);
  if (a.event == "requested") {
    requested_ms_.emplace(std::move(key), r.time_ms);
  } else if (auto q = requested_ms_.find(key); q != requested_ms_.end()) {
    a.requested_ms = q->second;
  }
  return a;
}

double Median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace interlock::governance
