#include "audit/record_scan.h"

#include <array>

#include <boost/json/value.hpp>

#include "common/json.h"

namespace interlock::audit {
namespace {

constexpr std::array<std::string_view, 9> kKeys = {
    "agent_id", "call_id", "data", "prev", "principal", "run_id", "seq", "time", "type"};

// Skips a JSON string starting at body[*i] == '"'; leaves *i after the closing quote.
bool SkipString(std::string_view s, size_t* i) {
  size_t p = *i + 1;
  while (p < s.size()) {
    const char c = s[p];
    if (c == '"') {
      *i = p + 1;
      return true;
    }
    if (c == '\\') {
      p += 2;
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) return false;
    ++p;
  }
  return false;
}

// Skips one JSON value (any kind) starting at *i; leaves *i after it.
bool SkipValue(std::string_view s, size_t* i) {
  if (*i >= s.size()) return false;
  const char c = s[*i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    size_t p = *i;
    while (p < s.size()) {
      const char d = s[p];
      if (d == '"') {
        if (!SkipString(s, &p)) return false;
        continue;
      }
      if (d == '{' || d == '[') {
        if (++depth > 256) return false;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) {
          *i = p + 1;
          return true;
        }
      }
      ++p;
    }
    return false;
  }
  size_t p = *i;
  while (p < s.size() && s[p] != ',' && s[p] != '}' && s[p] != ']') ++p;
  if (p == *i) return false;
  *i = p;
  return true;
}

}  // namespace

bool ScanRecordBody(std::string_view body, ScannedBody* out, std::string* problem) {
  std::array<std::string_view*, 9> slots = {&out->agent_id, &out->call_id,   &out->data,
                                            &out->prev,     &out->principal, &out->run_id,
                                            &out->seq,      &out->time,      &out->type};
  if (body.empty() || body[0] != '{') {
    *problem = "body is not a JSON object";
    return false;
  }
  size_t i = 1;
  for (size_t k = 0; k < kKeys.size(); ++k) {
    const std::string_view key = kKeys[k];
    if (k > 0) {
      if (i >= body.size() || body[i] != ',') {
        *problem = "body is not canonical: expected ',' before \"" + std::string(key) + "\"";
        return false;
      }
      ++i;
    }
    if (body.size() < i + key.size() + 3 || body[i] != '"' ||
        body.compare(i + 1, key.size(), key) != 0 || body[i + 1 + key.size()] != '"' ||
        body[i + 2 + key.size()] != ':') {
      *problem = "body is not canonical: expected key \"" + std::string(key) + "\"";
      return false;
    }
    if (key == "prev") out->prev_key_offset = i;
    i += key.size() + 3;
    const size_t start = i;
    if (!SkipValue(body, &i)) {
      *problem = "body is not well-formed JSON in \"" + std::string(key) + "\"";
      return false;
    }
    *slots[k] = body.substr(start, i - start);
  }
  if (i + 1 != body.size() || body[i] != '}') {
    *problem = "body is not canonical: unexpected content after \"type\"";
    return false;
  }
  if (out->data.empty() || out->data.front() != '{') {
    *problem = "body \"data\" is not an object";
    return false;
  }
  for (const std::string_view* s : {&out->agent_id, &out->call_id, &out->prev, &out->principal,
                                    &out->run_id, &out->time, &out->type}) {
    if (s->size() < 2 || s->front() != '"') {
      *problem = "body member is not a string";
      return false;
    }
  }
  int64_t v = 0;
  if (out->seq.empty() || out->seq.size() > 18) {
    *problem = "body \"seq\" is not a sequence number";
    return false;
  }
  for (const char c : out->seq) {
    if (c < '0' || c > '9') {
      *problem = "body \"seq\" is not a sequence number";
      return false;
    }
    v = v * 10 + (c - '0');
  }
  out->seq_value = v;
  return true;
}

bool DecodeJsonString(std::string_view token, std::string* out) {
  if (token.find('\\') == std::string_view::npos) {
    if (token.size() < 2) return false;
    out->assign(token.substr(1, token.size() - 2));
    return true;
  }
  Result<boost::json::value> v = ParseOwnJson(token);
  if (!v.ok() || !v->is_string()) return false;
  out->assign(v->get_string().data(), v->get_string().size());
  return true;
}

bool JsonStringEquals(std::string_view token, std::string_view value) {
  if (token.find('\\') == std::string_view::npos) {
    return token.size() == value.size() + 2 && token.substr(1, value.size()) == value;
  }
  std::string decoded;
  return DecodeJsonString(token, &decoded) && decoded == value;
}

}  // namespace interlock::audit
