#include "daemon/config_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/env_name.h"
#include "common/spelling.h"

namespace interlock::server::config_internal {

namespace {

// Known keys are listed after an unknown one when none is near and the list is short.
constexpr size_t kConfigListKnownUpTo = 12;

bool ConfigOneLine(std::string_view s) {
  return s.find_first_of("\r\n") == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

}  // namespace

Status ConfigReader::Fail(const YamlNode& n, const std::string& what) {
  std::string message = YamlWhere(file_, n) + what;
  errors_.push_back(message);
  return Error::Invalid(std::move(message));
}

void ConfigReader::Unknown(const YamlNode& key_node, const std::string& prefix,
                           const std::vector<std::string_view>& known) {
  const std::string& key = key_node.Scalar();
  const std::string at = prefix.empty() ? std::string() : prefix + ".";
  std::string what = "unknown key '" + at + key + "'";
  const std::string best = NearestName(key, known);
  if (!best.empty()) {
    what += "; did you mean '" + at + best + "'?";
  } else if (!known.empty() && known.size() <= kConfigListKnownUpTo) {
    what += " (";
    for (size_t i = 0; i < known.size(); ++i) {
      if (i > 0) what += ", ";
      what += known[i];
    }
    what += ")";
  }
  Report(key_node, what);
}

Status ConfigReader::String(const YamlNode& n, const std::string& key, std::string* out) {
  if (!n.IsScalar()) return Fail(n, key + " must be a string");
  *out = n.Scalar();
  return Status::Ok();
}

Status ConfigReader::Path(const YamlNode& n, const std::string& key, std::string* out) {
  std::string s;
  if (Status st = String(n, key, &s); !st.ok()) return st;
  if (s.empty()) return Fail(n, key + " must not be empty");
  std::filesystem::path p(s);
  *out = p.is_absolute() ? s : (base_ / p).lexically_normal().string();
  return Status::Ok();
}

Status ConfigReader::Integer(const YamlNode& n, const std::string& key, int64_t min, int64_t max,
                             int64_t* out) {
  if (!n.IsScalar()) return Fail(n, key + " must be an integer");
  const std::string& s = n.Scalar();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return Fail(n, key + " must be an integer, not '" + s + "'");
  }
  if (v < min || v > max) {
    return Fail(n, key + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  *out = v;
  return Status::Ok();
}

Status ConfigReader::Millis(const YamlNode& n, const std::string& key, int64_t scale, int64_t min,
                            int64_t max, std::chrono::milliseconds* out) {
  int64_t v = 0;
  if (Status st = Integer(n, key, min, max, &v); !st.ok()) return st;
  *out = std::chrono::milliseconds(v * scale);
  return Status::Ok();
}

Status ConfigReader::Seconds(const YamlNode& n, const std::string& key, int64_t min, int64_t max,
                             std::chrono::seconds* out) {
  int64_t v = 0;
  if (Status st = Integer(n, key, min, max, &v); !st.ok()) return st;
  *out = std::chrono::seconds(v);
  return Status::Ok();
}

Status ConfigReader::Bool(const YamlNode& n, const std::string& key, bool* out) {
  if (!n.IsScalar() || (n.Scalar() != "true" && n.Scalar() != "false")) {
    return Fail(n, key + " must be true or false");
  }
  *out = n.Scalar() == "true";
  return Status::Ok();
}

Status SectionStatus(const ConfigReader& r, size_t before) {
  if (r.error_count() == before) return Status::Ok();
  return Error::Invalid(r.errors().back());
}

Status ReadSection(ConfigReader& r, const YamlNode& node, const std::string& name,
                   const std::vector<SectionKey>& keys) {
  if (!node.IsMap()) return r.Fail(node, name + " must be a mapping");
  const size_t before = r.error_count();
  for (const auto& kv : node.entries()) {
    const std::string& k = kv.first.Scalar();
    auto it =
        std::find_if(keys.begin(), keys.end(), [&](const SectionKey& sk) { return sk.key == k; });
    if (it == keys.end()) {
      std::vector<std::string_view> known;
      for (const SectionKey& sk : keys) known.push_back(sk.key);
      r.Unknown(kv.first, name, known);
      continue;
    }
    Recorded(it->read(kv.second));
  }
  return SectionStatus(r, before);
}

bool ValidHeaderName(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

Status ReadStringMap(ConfigReader& r, const YamlNode& node, const std::string& key,
                     bool (*valid_key)(std::string_view), std::map<std::string, std::string>* out) {
  if (!node.IsMap()) return r.Fail(node, key + " must be a mapping");
  const size_t before = r.error_count();
  for (const auto& kv : node.entries()) {
    const std::string k = kv.first.Scalar();
    if (!valid_key(k)) {
      r.Report(kv.first, key + ": '" + k + "' is not a valid name");
      continue;
    }
    std::string v;
    if (!r.String(kv.second, key + "." + k, &v).ok()) continue;
    if (!ConfigOneLine(v)) {
      r.Report(kv.second, key + "." + k + " must be one line");
      continue;
    }
    (*out)[k] = v;
  }
  return SectionStatus(r, before);
}

Status ReadCheckedList(ConfigReader& r, const YamlNode& node, const std::string& key,
                       std::string_view of, const std::function<std::string(std::string&)>& check,
                       std::vector<std::string>* out) {
  if (!node.IsSequence()) return r.Fail(node, key + " must be a list" + std::string(of));
  const size_t before = r.error_count();
  for (const auto& item : node.items()) {
    std::string s;
    if (!r.String(item, key, &s).ok()) continue;
    if (const std::string complaint = check(s); !complaint.empty()) {
      r.Report(item, complaint);
      continue;
    }
    out->push_back(std::move(s));
  }
  return SectionStatus(r, before);
}

Status ReadStringList(ConfigReader& r, const YamlNode& node, const std::string& key,
                      std::vector<std::string>* out) {
  if (node.IsSequence()) out->clear();
  return ReadCheckedList(
      r, node, key, " of strings",
      [&key](std::string& s) {
        return ConfigOneLine(s) ? std::string() : key + " entries must be one line";
      },
      out);
}

Status ReadEnvNames(ConfigReader& r, const YamlNode& v, const std::string& key,
                    std::vector<std::string>* out) {
  return ReadCheckedList(
      r, v, key, " of variable names",
      [&key](std::string& n) {
        return ValidEnvName(n) ? std::string() : key + ": '" + n + "' is not a variable name";
      },
      out);
}

}  // namespace interlock::server::config_internal
