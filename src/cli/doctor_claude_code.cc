#include "cli/doctor_claude_code.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include <boost/json.hpp>

#include "cli/claude_code_settings.h"
#include "cli/cli_util.h"
#include "common/json.h"

namespace interlock::cli {
namespace {

namespace json = boost::json;

constexpr const char* kRerunSetup =
    "install the managed-settings.json written by `interlock claude-code setup` (ask your "
    "administrator)";

// One settings file: absent, unreadable (error set) or its object.
struct SettingsFile {
  std::string label;  // "managed settings", "user settings", ...
  std::string path;
  bool present = false;
  std::string error;
  json::object object;
};

SettingsFile Load(std::string label, std::string path) {
  SettingsFile f{std::move(label), std::move(path)};
  std::error_code ec;
  if (!std::filesystem::exists(f.path, ec)) return f;
  f.present = true;
  auto text = ReadFileToString(f.path);
  if (!text.ok()) {
    f.error = text.error().message;
    return f;
  }
  auto value = ParseJsonStrict(*text);
  if (!value.ok()) {
    f.error = "not valid JSON: " + value.error().message;
  } else if (!value->is_object()) {
    f.error = "not a JSON object";
  } else {
    f.object = std::move(value->as_object());
  }
  return f;
}

DoctorFinding Ok(std::string what) { return {DoctorLevel::kOk, std::move(what), ""}; }
DoctorFinding Warn(std::string what, std::string fix) {
  return {DoctorLevel::kWarn, std::move(what), std::move(fix)};
}
DoctorFinding Failed(std::string what, std::string fix) {
  return {DoctorLevel::kFail, std::move(what), std::move(fix)};
}

bool IsTrue(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

// "Bearer $VAR" or "Bearer ${VAR}" -> VAR; "" otherwise.
std::string BearerVariable(const json::object& hook) {
  const json::value* headers = hook.if_contains("headers");
  if (headers == nullptr || !headers->is_object()) return "";
  const json::value* auth = headers->as_object().if_contains("Authorization");
  if (auth == nullptr || !auth->is_string()) return "";
  std::string_view v = auth->as_string();
  if (v.rfind("Bearer $", 0) != 0) return "";
  v.remove_prefix(8);
  if (v.size() > 2 && v.front() == '{' && v.back() == '}') v = v.substr(1, v.size() - 2);
  return IsEnvVarName(v) ? std::string(v) : "";
}

bool ListsVariable(const json::object& hook, const std::string& var) {
  const json::value* allowed = hook.if_contains("allowedEnvVars");
  if (allowed == nullptr || !allowed->is_array()) return false;
  for (const json::value& v : allowed->as_array()) {
    if (v.is_string() && v.as_string() == var) return true;
  }
  return false;
}

// What one event's hooks in the managed settings say.
struct EventHook {
  std::string url;        // the Interlock hook's URL ("" when none)
  std::string base;       // its daemon base URL
  std::string token_var;  // the variable its Authorization header names
  std::string problem;    // why it is not in force ("" when it is)
};

EventHook CheckEvent(const json::object& settings, std::string_view event) {
  EventHook out;
  const json::value* hooks = settings.if_contains("hooks");
  const json::value* groups =
      hooks != nullptr && hooks->is_object() ? hooks->as_object().if_contains(event) : nullptr;
  if (groups == nullptr || !groups->is_array()) {
    out.problem = "no hook registered";
    return out;
  }
  std::string last_problem = "no HTTP hook posting to an Interlock URL (/v1/hooks/claude-code)";
  for (const json::value& group : groups->as_array()) {
    if (!group.is_object()) continue;
    const json::value* matcher = group.as_object().if_contains("matcher");
    const bool all =
        matcher == nullptr ||
        (matcher->is_string() && (matcher->as_string().empty() || matcher->as_string() == "*"));
    const json::value* list = group.as_object().if_contains("hooks");
    if (list == nullptr || !list->is_array()) continue;
    for (const json::value& h : list->as_array()) {
      if (!h.is_object()) continue;
      const json::object& hook = h.as_object();
      const json::value* type = hook.if_contains("type");
      const json::value* url = hook.if_contains("url");
      if (type == nullptr || !type->is_string() || type->as_string() != "http" || url == nullptr ||
          !url->is_string()) {
        continue;
      }
      const std::string base = DaemonBaseOfHookUrl(url->as_string());
      if (base.empty()) continue;
      out.url = std::string(url->as_string());
      out.base = base;
      out.token_var = BearerVariable(hook);
      if (auto valid = ClaudeCodeHookUrl(base); !valid.ok()) {
        last_problem = "its URL " + out.url + " is refused: " + valid.error().message;
      } else if (!all) {
        last_problem = "its matcher \"" + std::string(matcher->as_string()) +
                       "\" leaves other tools unchecked (use \"*\")";
      } else if (out.token_var.empty()) {
        last_problem = "its Authorization header is not \"Bearer $VARIABLE\"";
      } else if (!ListsVariable(hook, out.token_var)) {
        last_problem = "allowedEnvVars does not list " + out.token_var +
                       " (Claude Code would send an empty token)";
      } else if (ClaudeCodeEventBlocks(event) &&
                 (hook.if_contains("onFailure") == nullptr || !hook.at("onFailure").is_string() ||
                  hook.at("onFailure").as_string() != "block")) {
        last_problem = "no \"onFailure\": \"block\" (a failed hook would let the tool run)";
      } else {
        out.problem.clear();
        return out;
      }
    }
  }
  out.problem = last_problem;
  return out;
}

std::string UserSettingsPath(const ClaudeCodeDoctorOptions& o) {
  if (!o.user_settings.empty()) return o.user_settings;
  if (const char* dir = std::getenv("CLAUDE_CONFIG_DIR"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/settings.json";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.claude/settings.json";
}

void CheckManagedFile(const SettingsFile& managed, std::vector<DoctorFinding>* out) {
  struct stat st {};
  if (::stat(managed.path.c_str(), &st) != 0) return;
  if ((st.st_mode & 022) != 0) {
    out->push_back(Failed("managed settings " + managed.path + " are writable by group or others",
                          "chmod 0644 " + managed.path + " (owned by root)"));
  } else if (st.st_uid != 0 && st.st_uid == ::geteuid()) {
    out->push_back(Warn("managed settings " + managed.path +
                            " are owned by you: anything running as you (the agent too) can "
                            "rewrite them",
                        "chown root:root " + managed.path));
  }
}

// The local settings files: disableAllHooks, and hooks beside Interlock's.
void CheckLocalSettings(const std::vector<SettingsFile>& files, bool managed_only,
                        std::vector<DoctorFinding>* out) {
  for (const SettingsFile& f : files) {
    if (!f.present) continue;
    if (!f.error.empty()) {
      out->push_back(Warn(f.label + " " + f.path + " cannot be read (" + f.error + ")",
                          "fix or remove the file"));
      continue;
    }
    if (IsTrue(f.object, "disableAllHooks")) {
      out->push_back(Failed(f.label + " " + f.path +
                                " set disableAllHooks (Claude Code versions that honour it from "
                                "this file run no hook, Interlock's included)",
                            "remove \"disableAllHooks\" from " + f.path));
    }
    const json::value* hooks = f.object.if_contains("hooks");
    if (managed_only || hooks == nullptr || !hooks->is_object()) continue;
    for (std::string_view event : kClaudeCodeHookEvents) {
      if (hooks->as_object().contains(event)) {
        out->push_back(Failed(f.label + " " + f.path + " add " + std::string(event) +
                                  " hooks that run beside Interlock's and can answer for it",
                              "set \"allowManagedHooksOnly\": true in the managed settings, or "
                              "remove the hooks from " +
                                  f.path));
        break;
      }
    }
  }
}

void CheckDaemon(const ClaudeCodeDoctorOptions& o, const std::string& base, const std::string& var,
                 std::vector<DoctorFinding>* out) {
  const char* token = std::getenv(var.c_str());
  if (token == nullptr || *token == '\0') {
    out->push_back(Failed("$" + var + " is not set: Claude Code would send no token",
                          "export " + var +
                              "=\"$(cat YOUR.token)\" where Claude Code starts "
                              "(the token file your administrator gave you)"));
    return;
  }
  out->push_back(Ok("$" + var + " is set"));
  core::DaemonAddress d;
  d.url = base;
  d.ca_file = o.ca_file;
  d.token = token;
  d.user_agent = "interlock-doctor";
  d.connect_timeout = o.timeout;
  auto client = DaemonClientConnector().Connect(std::move(d));
  if (!client.ok()) {
    out->push_back(
        Failed("cannot check the daemon at " + base + ": " + client.error().message, kRerunSetup));
    return;
  }
  auto reply = (*client)->Exchange("POST", "/v1/tools/view", R"({"tools":[]})", o.timeout);
  if (!reply.ok()) {
    out->push_back(Failed("the daemon at " + base + " is unreachable: " + reply.error().message,
                          "check that `interlock serve` runs there and this machine reaches it "
                          "(network, firewall, --daemon-ca for a private CA); until then every "
                          "tool call is blocked"));
    return;
  }
  if (reply->status == 200) {
    std::string agent;
    if (auto v = ParseJsonStrict(reply->body); v.ok() && v->is_object()) {
      agent = StringMember(v->as_object(), "agent_id");
    }
    out->push_back(
        Ok("the daemon at " + base + " accepts the token in $" + var + " (agent " + agent + ")"));
  } else if (reply->status == 401 || reply->status == 403) {
    out->push_back(Failed("the daemon at " + base + " refuses the token in $" + var + " (" +
                              DescribeDaemonReply(reply->status, reply->body) + ")",
                          "the token is unknown, revoked or not an agent's: ask your "
                          "administrator for a new one (`interlock claude-code setup`)"));
  } else {
    out->push_back(Failed(
        "the daemon at " + base + " answered " + DescribeDaemonReply(reply->status, reply->body),
        "check the daemon's log"));
  }
}

}  // namespace

std::vector<DoctorFinding> RunClaudeCodeDoctor(const ClaudeCodeDoctorOptions& o) {
  std::vector<DoctorFinding> out;
  const SettingsFile managed =
      Load("managed settings", o.managed_settings.empty() ? std::string(kLinuxManagedSettingsPath)
                                                          : o.managed_settings);
  std::string project = o.project;
  if (project.empty()) {
    std::error_code ec;
    project = std::filesystem::current_path(ec).string();
  }
  const std::vector<SettingsFile> local = {
      Load("user settings", UserSettingsPath(o)),
      Load("project settings", project + "/.claude/settings.json"),
      Load("project local settings", project + "/.claude/settings.local.json")};
  std::string base;
  std::string var = o.token_env;
  if (!managed.present) {
    out.push_back(Failed(
        "no managed settings at " + managed.path + ": Claude Code runs without Interlock's hooks",
        kRerunSetup));
  } else if (!managed.error.empty()) {
    out.push_back(Failed("managed settings " + managed.path + " cannot be used (" + managed.error +
                             "): Claude Code ignores them",
                         kRerunSetup));
  } else {
    out.push_back(Ok("managed settings " + managed.path + " parse"));
    CheckManagedFile(managed, &out);
    if (IsTrue(managed.object, "disableAllHooks")) {
      out.push_back(Failed("managed settings set disableAllHooks: no hook runs",
                           "remove \"disableAllHooks\" from " + managed.path));
    }
    for (std::string_view event : kClaudeCodeHookEvents) {
      const EventHook hook = CheckEvent(managed.object, event);
      if (!hook.problem.empty()) {
        out.push_back(Failed(std::string(event) + " hook: " + hook.problem, kRerunSetup));
        continue;
      }
      if (base.empty()) base = hook.base;
      if (var.empty()) var = hook.token_var;
      out.push_back(Ok(std::string(event) + " posts to " + hook.url +
                       (ClaudeCodeEventBlocks(event) ? " (a failure blocks the tool)" : "")));
    }
  }
  const bool managed_only =
      managed.error.empty() && IsTrue(managed.object, "allowManagedHooksOnly");
  if (managed_only) {
    out.push_back(Ok("allowManagedHooksOnly: hooks of other settings files are ignored"));
  } else if (managed.present && managed.error.empty()) {
    out.push_back(
        Warn("the managed settings do not set allowManagedHooksOnly: hooks of user and "
             "project settings run too",
             "set \"allowManagedHooksOnly\": true (`interlock claude-code setup` does)"));
  }
  CheckLocalSettings(local, managed_only, &out);
  if (var.empty()) var = "INTERLOCK_TOKEN";
  if (base.empty()) {
    out.push_back(Failed("no Interlock URL to check the token against", kRerunSetup));
  } else {
    CheckDaemon(o, base, var, &out);
  }
  return out;
}

}  // namespace interlock::cli
