// Private to src/daemon: the daemon config file's reader (config.cc: the top level and the
// small sections; config_mcp.cc: mcp:; config_identity.cc: identity: and telemetry:;
// config_ext_authz.cc: ext_authz:). A door's config is a plain value the reader fills
// (doors/mcp_http/config.h, doors/ext_authz/config.h): no door reads YAML.
// Nothing here is part of the module's interface (daemon/config.h is).
//
// Every error of the whole file is reported in one pass, as the policy loader does: each
// reader records its error with file:line:column (ConfigReader::Fail) and goes on with the
// next key, the next item, the next section. An unknown key names the nearest known one
// (common/spelling.h, the policy loader's rule). A check across the keys of one mapping
// (a required key, two keys that exclude each other) runs only when the mapping itself
// read without error, so that one typo does not also report the key it failed to set.
// Thread-safety: a ConfigReader belongs to one LoadServerConfig call.
#ifndef INTERLOCK_DAEMON_CONFIG_READER_H_
#define INTERLOCK_DAEMON_CONFIG_READER_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.h"
#include "doors/ext_authz/config.h"
#include "interlock/result.h"
#include "policy/yaml_tree.h"

namespace interlock::server::config_internal {

// Drops a Status whose error a ConfigReader has already recorded.
inline void Recorded(const Status&) {}

class ConfigReader {
 public:
  ConfigReader(std::string file, std::filesystem::path base)
      : file_(std::move(file)), base_(std::move(base)) {}

  // Records "file:line:column: what" at `n` and returns it as an error, so that a caller
  // may stop reading that one value (never the file).
  Status Fail(const YamlNode& n, const std::string& what);
  // Fail for a caller that goes on with the next key or item whatever the outcome.
  void Report(const YamlNode& n, const std::string& what) { Recorded(Fail(n, what)); }
  // "unknown key 'PREFIX.KEY'; did you mean 'PREFIX.NEAREST'?" (or the known keys when none
  // is near), recorded at the key.
  void Unknown(const YamlNode& key_node, const std::string& prefix,
               const std::vector<std::string_view>& known);

  // How many errors were recorded so far: a reader compares it before and after a
  // mapping to decide whether its cross-key checks run.
  size_t error_count() const { return errors_.size(); }
  const std::vector<std::string>& errors() const { return errors_; }

  Status String(const YamlNode& n, const std::string& key, std::string* out);
  // A non-empty string; relative paths are resolved against the config file's directory.
  Status Path(const YamlNode& n, const std::string& key, std::string* out);
  Status Integer(const YamlNode& n, const std::string& key, int64_t min, int64_t max, int64_t* out);
  template <class Int>
  Status Integer(const YamlNode& n, const std::string& key, int64_t min, int64_t max, Int* out) {
    int64_t v = 0;
    Status st = Integer(n, key, min, max, &v);
    if (st.ok()) *out = static_cast<Int>(v);
    return st;
  }
  // An integer in [min, max] times `scale` milliseconds.
  Status Millis(const YamlNode& n, const std::string& key, int64_t scale, int64_t min, int64_t max,
                std::chrono::milliseconds* out);
  // An integer in [min, max] seconds.
  Status Seconds(const YamlNode& n, const std::string& key, int64_t min, int64_t max,
                 std::chrono::seconds* out);
  Status Bool(const YamlNode& n, const std::string& key, bool* out);

  const std::string& file() const { return file_; }
  std::string Resolve(const std::string& p) const {
    return (base_ / p).lexically_normal().string();
  }

 private:
  std::string file_;
  std::filesystem::path base_;
  std::vector<std::string> errors_;
};

// One key of a mapping section and how its value is read.
struct SectionKey {
  std::string_view key;
  std::function<Status(const YamlNode& value)> read;
};

// Reads the mapping `node` of the section `name` ("approvals", "mcp.upstreams.a"), each
// key by its reader in document order, recording every error; an unknown key is an error
// at its position with the nearest known key. Returns an error when any was recorded.
Status ReadSection(ConfigReader& r, const YamlNode& node, const std::string& name,
                   const std::vector<SectionKey>& keys);

// A mapping of names (each accepted by `valid_key`) to one-line strings.
Status ReadStringMap(ConfigReader& r, const YamlNode& node, const std::string& key,
                     bool (*valid_key)(std::string_view), std::map<std::string, std::string>* out);
// Appends to `out` the strings of the list at `node` (else the error "KEY must be a list"
// followed by `of`) that `check` accepts. `check` may rewrite a string; it returns "" to
// accept it, or the complaint to report for it (the string is then left out).
Status ReadCheckedList(ConfigReader& r, const YamlNode& node, const std::string& key,
                       std::string_view of, const std::function<std::string(std::string&)>& check,
                       std::vector<std::string>* out);
// A list of one-line strings (replaces `out`).
Status ReadStringList(ConfigReader& r, const YamlNode& node, const std::string& key,
                      std::vector<std::string>* out);
// A list of variable names (pass_env, sandbox.env).
Status ReadEnvNames(ConfigReader& r, const YamlNode& v, const std::string& key,
                    std::vector<std::string>* out);
bool ValidHeaderName(std::string_view n);

// The sections with files of their own.
Status ReadMcp(ConfigReader& r, const YamlNode& node, McpConfig* m);
Status ReadIdentity(ConfigReader& r, const YamlNode& node, ServerConfig* config);
Status ReadTelemetry(ConfigReader& r, const YamlNode& node, telemetry::TelemetryOptions* t);
// ext_authz: `out` is set only when the section read without error.
Status ReadExtAuthz(ConfigReader& r, const YamlNode& node, doors::ext_authz::ExtAuthzConfig* out);
// The ext_authz: section `node` of `file` on its own (relative paths resolved against
// `base_dir`): every error is appended to `all_errors` when given, and the first is returned.
Status ReadExtAuthzConfig(const YamlNode& node, std::string_view file, std::string_view base_dir,
                          doors::ext_authz::ExtAuthzConfig* out,
                          std::vector<std::string>* all_errors = nullptr);

// The error to return from a reader of one mapping when `r` recorded errors since
// `before` (the caller has them all already), or Ok.
Status SectionStatus(const ConfigReader& r, size_t before);

}  // namespace interlock::server::config_internal

#endif  // INTERLOCK_DAEMON_CONFIG_READER_H_
