// `interlock claude-code setup`: writes what an organisation deploys to its developers'
// machines so that every developer's Claude Code asks one `interlock serve`
// (docs/claude-code.md): OUT/managed-settings.json (the HTTP hooks, cli/claude_code_settings.h),
// one agent token per developer in OUT/tokens/NAME.token (0600, the token creation path of
// `interlock token create`, cli/token_issue.h) and OUT/README.md saying what goes where.
//
// Nothing is written to /etc: --out names the directory (an administrator copies the
// settings from there). No file is overwritten: a file already there is refused before
// any token is created. A failure half-way names the tokens already issued.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/claude_code_settings.h"
#include "cli/cli_util.h"
#include "cli/command.h"
#include "cli/token_issue.h"

namespace interlock::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCmd = "claude-code setup";

struct Developer {
  std::string name;
  std::vector<std::string> workspace_roots;
};

struct SetupOptions {
  std::string url;
  std::string out;
  std::vector<std::string> developer_specs;
  std::string developers_file;
  std::string agent = "claude-code";
  std::vector<std::string> policies;
  bool force = false;
  TokenStoreOptions store;
  std::string token_env = "INTERLOCK_TOKEN";
  int hook_timeout = 30;
};

// A developer's name becomes a file name: letters, digits, '.', '_', '@', '-', not
// starting with '.' or '-', at most 64 characters.
bool IsDeveloperName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// NAME[:ROOT,...]
Result<Developer> ParseDeveloper(const std::string& spec) {
  Developer d;
  const size_t colon = spec.find(':');
  d.name = spec.substr(0, colon);
  if (!IsDeveloperName(d.name)) {
    return Error::Invalid("developer \"" + d.name +
                          "\": a name is 1 to 64 letters, digits, '.', '_', '@' or '-' (not "
                          "starting with '.' or '-'); it names the developer's token file");
  }
  if (colon == std::string::npos) return d;
  std::stringstream roots(spec.substr(colon + 1));
  for (std::string root; std::getline(roots, root, ',');) {
    if (root.empty() || root[0] != '/') {
      return Error::Invalid("developer \"" + d.name + "\": workspace root \"" + root +
                            "\" is not an absolute path pattern");
    }
    d.workspace_roots.push_back(root);
  }
  if (d.workspace_roots.empty()) {
    return Error::Invalid("developer \"" + d.name + "\": ':' with no workspace root after it");
  }
  return d;
}

// --developer specs, then the file's lines (one spec a line; '#' comments, blank lines).
Result<std::vector<Developer>> ParseDevelopers(const SetupOptions& opt) {
  std::vector<std::string> specs = opt.developer_specs;
  if (!opt.developers_file.empty()) {
    auto text = ReadFileToString(opt.developers_file);
    if (!text.ok()) return Error::Invalid("--developers: " + text.error().message);
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
      const size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      const size_t b = line.find_first_not_of(" \t\r");
      if (b == std::string::npos) continue;
      const size_t e = line.find_last_not_of(" \t\r");
      specs.push_back(line.substr(b, e - b + 1));
    }
  }
  std::vector<Developer> out;
  std::set<std::string> seen;
  for (const std::string& spec : specs) {
    auto d = ParseDeveloper(spec);
    if (!d.ok()) return d.error();
    if (!seen.insert(d->name).second) {
      return Error::Invalid("developer \"" + d->name + "\" is listed twice");
    }
    out.push_back(std::move(d).value());
  }
  return out;
}

// Creates `path` (which must not exist; a symbolic link is not followed) with `mode`.
Result<int> CreateNewFile(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Error::Unavailable("cannot create " + path + ": " + std::strerror(errno));
  if (::fchmod(fd, mode) != 0) {
    const int saved = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return Error::Unavailable("cannot chmod " + path + ": " + std::strerror(saved));
  }
  return fd;
}

// Writes `content` to `fd` (a new file at `path`), syncs and closes it; removes the file
// when that fails.
Status WriteAndClose(int fd, const std::string& path, const std::string& content) {
  bool ok = true;
  for (size_t done = 0; ok && done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return Error::Unavailable("cannot write " + path + ": " + std::strerror(saved));
  }
  return {};
}

Status WriteNewFile(const std::string& path, const std::string& content, mode_t mode) {
  Result<int> fd = CreateNewFile(path, mode);
  if (!fd.ok()) return fd.error();
  return WriteAndClose(*fd, path, content);
}

Status MakeDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error::Unavailable("cannot create " + dir + ": " + ec.message());
  if (!fs::is_directory(dir, ec)) return Error::Invalid(dir + " is not a directory");
  return {};
}

std::string TokenPath(const SetupOptions& opt, const Developer& d) {
  return opt.out + "/tokens/" + d.name + ".token";
}

std::string Readme(const SetupOptions& opt, const std::string& hook_url,
                   const std::vector<Developer>& developers) {
  std::ostringstream r;
  r << "# Interlock for Claude Code: what to deploy where\n\n"
    << "Written by `interlock claude-code setup` (docs/claude-code.md). Every developer's "
       "Claude Code asks the daemon at\n`"
    << hook_url << "` before each tool call.\n\n"
    << "## managed-settings.json: every developer machine\n\n"
    << "Install it as `" << kLinuxManagedSettingsPath
    << "` (Linux; owned by root, mode 0644), or through\nyour MDM where Claude Code reads "
       "managed settings on macOS and Windows. Claude Code gives managed\nsettings precedence "
       "over user and project settings, and `allowManagedHooksOnly` makes it\nignore hooks "
       "from any other settings file. A failed or unreachable daemon blocks the tool\n"
       "(`onFailure: block` on PreToolUse and PermissionRequest).\n\n"
    << "## tokens/NAME.token: to that developer only\n\n"
    << "Each file holds one agent token (agent `" << opt.agent
    << "`), shown nowhere else: only its hash is stored.\nHand it over privately, then delete "
       "it here. On the developer's machine, export it where\nClaude Code starts, e.g. in the "
       "shell profile:\n\n"
    << "    export " << opt.token_env
    << "=\"$(cat ~/.config/interlock/token)\"   # file mode 0600\n\n"
    << "| Developer | Token file | Workspace roots |\n|---|---|---|\n";
  for (const Developer& d : developers) {
    std::string roots;
    for (const std::string& root : d.workspace_roots) roots += (roots.empty() ? "" : ", ") + root;
    r << "| " << d.name << " | tokens/" << d.name << ".token | "
      << (roots.empty() ? "the policy's" : roots) << " |\n";
  }
  r << "\nA lost or leaked token: `interlock token list` and `interlock token revoke TOKEN_ID`, "
       "then run\nsetup again for that developer into a new directory.\n\n"
    << "## Check a machine\n\n"
    << "    interlock doctor --claude-code\n\n"
    << "says whether the hooks are in force, the daemon is reachable and accepts the token, and "
       "no\nlocal settings switch the hooks off.\n";
  return r.str();
}

// The token of developer `d`: an agent token of --agent named after the developer, bound
// to the developer's workspace roots.
TokenRequest RequestFor(const SetupOptions& opt, const Developer& d) {
  TokenRequest request;
  request.role = core::Role::kAgent;
  request.name = d.name;
  request.agent_id = opt.agent;
  request.workspace_roots = d.workspace_roots;
  return request;
}

// Everything that can be refused before anything is written.
int Validate(const SetupOptions& opt, const std::vector<Developer>& developers) {
  for (const Developer& d : developers) {
    if (Status ok = CheckTokenRequest(RequestFor(opt, d)); !ok.ok()) {
      return Fail(kCmd, ok.error());
    }
  }
  if (!IsEnvVarName(opt.token_env)) {
    return Fail(kCmd, "--token-env " + opt.token_env + ": not an environment variable name");
  }
  if (!developers.empty() && !opt.force) {
    if (opt.policies.empty()) {
      return Fail(kCmd,
                  "--developer needs --policy PATH (the policies the daemon loads) to "
                  "check that agent \"" +
                      opt.agent + "\" is defined; pass --force to issue the tokens anyway");
    }
    if (Status defined = CheckAgentDefined(opt.policies, opt.agent); !defined.ok()) {
      return Fail(kCmd, defined.error(), kExitFailure);
    }
  }
  std::vector<std::string> targets = {opt.out + "/managed-settings.json", opt.out + "/README.md"};
  for (const Developer& d : developers) targets.push_back(TokenPath(opt, d));
  for (const std::string& t : targets) {
    std::error_code ec;
    if (fs::symlink_status(t, ec).type() != fs::file_type::not_found) {
      return Fail(kCmd, t + " already exists: nothing is overwritten (choose another --out)",
                  kExitFailure);
    }
  }
  return kExitOk;
}

int IssueTokens(const SetupOptions& opt, const std::vector<Developer>& developers) {
  if (developers.empty()) return kExitOk;
  if (Status dir = MakeDir(opt.out + "/tokens"); !dir.ok()) {
    return Fail(kCmd, dir.error(), kExitFailure);
  }
  ::chmod((opt.out + "/tokens").c_str(), 0700);
  auto store = OpenTokenStore(opt.store, kCmd);
  if (!store.ok()) return Fail(kCmd, store.error(), kExitFailure);
  std::string issued;
  for (const Developer& d : developers) {
    auto fail = [&](const Error& e) {
      return Fail(kCmd,
                  e.message + (issued.empty() ? std::string()
                                              : "; tokens already issued (revoke them with "
                                                "`interlock token revoke`): " +
                                                    issued),
                  kExitFailure);
    };
    const TokenRequest request = RequestFor(opt, d);
    const std::string path = TokenPath(opt, d);
    // The file first (exclusive, 0600), so a token is never issued that cannot be kept.
    Result<int> fd = CreateNewFile(path, 0600);
    if (!fd.ok()) return fail(fd.error());
    Result<std::string> token = CreateToken(**store, request);
    if (!token.ok()) {
      ::close(*fd);
      ::unlink(path.c_str());
      return fail(token.error());
    }
    if (Status f = WriteAndClose(*fd, path, *token + "\n"); !f.ok()) {
      issued += (issued.empty() ? "" : ", ") + d.name;
      return fail(f.error());
    }
    issued += (issued.empty() ? "" : ", ") + d.name;
  }
  return kExitOk;
}

int RunSetup(const SetupOptions& opt) {
  auto hook_url = ClaudeCodeHookUrl(opt.url);
  if (!hook_url.ok()) return Fail(kCmd, hook_url.error());
  auto developers = ParseDevelopers(opt);
  if (!developers.ok()) return Fail(kCmd, developers.error());
  if (int rc = Validate(opt, *developers); rc != kExitOk) return rc;
  if (Status dir = MakeDir(opt.out); !dir.ok()) return Fail(kCmd, dir.error(), kExitFailure);
  ManagedSettingsOptions settings;
  settings.hook_url = *hook_url;
  settings.token_env = opt.token_env;
  settings.timeout_seconds = opt.hook_timeout;
  if (Status s = WriteNewFile(opt.out + "/managed-settings.json",
                              IndentedJson(ManagedSettings(settings)), 0644);
      !s.ok()) {
    return Fail(kCmd, s.error(), kExitFailure);
  }
  if (int rc = IssueTokens(opt, *developers); rc != kExitOk) return rc;
  if (Status s = WriteNewFile(opt.out + "/README.md", Readme(opt, *hook_url, *developers), 0644);
      !s.ok()) {
    return Fail(kCmd, s.error(), kExitFailure);
  }
  std::cout << "wrote " << opt.out << "/managed-settings.json (hooks post to " << *hook_url
            << ")\n";
  for (const Developer& d : *developers) {
    std::cout << "wrote " << TokenPath(opt, d) << " (agent " << opt.agent << ", mode 0600)\n";
  }
  std::cout << "wrote " << opt.out << "/README.md (what to deploy where)\n";
  return kExitOk;
}

void AddClaudeCode(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "claude-code", "Roll Interlock out to every developer's Claude Code (docs/claude-code.md)");
  cmd->require_subcommand(1);
  auto [setup, opt] = AddSubcommand<SetupOptions>(
      *cmd, "setup",
      "Write the managed settings (HTTP hooks to the daemon) and one agent token per developer "
      "into --out, with a README of what to deploy where",
      exit_code, &RunSetup);
  setup
      ->add_option("--url", opt->url,
                   "The daemon's URL as developers' machines reach it (https unless loopback)")
      ->required();
  setup->add_option("--out", opt->out, "Directory to write into (created; never overwritten)")
      ->required();
  setup->add_option("--developer", opt->developer_specs,
                    "NAME[:ROOT,...]: a developer to issue a token to, with the workspace roots "
                    "bound to it (repeatable)");
  setup->add_option("--developers", opt->developers_file,
                    "File with one NAME[:ROOT,...] a line ('#' comments)");
  setup
      ->add_option("--agent", opt->agent,
                   "The agent id of every developer's token (its policy decides)")
      ->capture_default_str();
  setup->add_option("--policy,--policies", opt->policies,
                    "Policy file or directory the daemon loads (repeatable): --agent must be "
                    "defined there");
  setup->add_flag("--force", opt->force, "Issue the tokens without the --policy check");
  AddStoreFlag(setup, &opt->store.store);
  setup->add_flag("--create", opt->store.create, "Make the missing directories of --store (0700)");
  AddAuditKeyFlags(setup, &opt->store.keys_dir, &opt->store.checkpoints);
  setup
      ->add_option("--token-env", opt->token_env,
                   "Environment variable holding the token on developers' machines")
      ->capture_default_str();
  setup
      ->add_option("--hook-timeout", opt->hook_timeout,
                   "Seconds Claude Code waits for a deciding hook before it blocks the tool")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
}

const CommandRegistration kRegisterClaudeCode("claude-code", &AddClaudeCode);

}  // namespace
}  // namespace interlock::cli
