#include "daemon/policy_watcher.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <system_error>

#include "policy/loader.h"

namespace interlock::server {
namespace {

namespace fs = std::filesystem;

// A file's name, the file it resolves to, its size and modification time. The resolved
// path matters where a name is a symlink swapped to a new target: a Kubernetes ConfigMap
// volume's NAME -> ..data/NAME, whose `..data` the kubelet renames to a new directory on
// every update; a new version of the same size and time would otherwise go unseen.
void AddFile(const fs::path& p, std::vector<std::string>* out) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  const auto mtime = fs::last_write_time(p, ec);
  std::error_code rec;
  const fs::path resolved = fs::canonical(p, rec);
  std::ostringstream s;
  s << p.string() << '|' << (rec ? std::string() : resolved.string()) << '|' << (ec ? 0 : size)
    << '|' << (ec ? 0 : mtime.time_since_epoch().count());
  out->push_back(s.str());
}

}  // namespace

PolicyWatcher::PolicyWatcher(std::vector<std::string> paths, core::PolicySource* source,
                             Metrics* metrics, std::chrono::milliseconds poll)
    : paths_(std::move(paths)), source_(source), metrics_(metrics), poll_(poll) {}

PolicyWatcher::~PolicyWatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PolicyWatcher::Start() {
  fingerprint_ = Fingerprint();
  thread_ = std::thread([this] { Run(); });
}

void PolicyWatcher::RequestReload() {
  {
    std::lock_guard lock(mu_);
    reload_requested_ = true;
  }
  cv_.notify_all();
}

std::string PolicyWatcher::Fingerprint() const {
  std::vector<std::string> entries;
  for (const std::string& path : paths_) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& e : fs::directory_iterator(path, ec)) {
        const std::string ext = e.path().extension().string();
        if (ext == ".yaml" || ext == ".yml") AddFile(e.path(), &entries);
      }
    } else {
      AddFile(path, &entries);
    }
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const auto& e : entries) out += e + '\n';
  return out;
}

Status PolicyWatcher::ReloadNow(const char* why) {
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(paths_, &diags, load_options_);
  if (!set.ok()) {
    metrics_->RecordReload(false, set.error().message);
    std::cerr << "interlock: policy reload (" << why
              << ") refused; the last good policy set stays in force:\n"
              << set.error().message << '\n';
    if (recorder_) {
      if (Status r = recorder_(nullptr, why, set.error().message); !r.ok()) {
        std::cerr << "interlock: cannot record the refused policy reload: " << r.error().message
                  << '\n';
      }
    }
    return set.error();
  }
  if (recorder_) {
    if (Status r = recorder_(set->get(), why, ""); !r.ok()) {
      metrics_->RecordReload(false);
      std::cerr << "interlock: policy reload (" << why
                << ") refused: its audit record could not be written and anchored; the last "
                   "good policy set stays in force: "
                << r.error().message << '\n';
      return r.error();
    }
  }
  for (const auto& [id, p] : (*set)->agents) {
    if (std::string w = policy::ShadowWarning(*p); !w.empty()) std::cerr << w << '\n';
  }
  auto previous = source_->Current();
  source_->Replace(*set);
  metrics_->RecordReload(true);
  std::cerr << "interlock: policy reload (" << why << "): " << (*set)->agents.size()
            << " agent(s), sha256 " << (*set)->sha256
            << (previous && previous->sha256 == (*set)->sha256 ? " (unchanged)" : "") << '\n';
  return Status::Ok();
}

void PolicyWatcher::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, poll_, [this] { return stop_ || reload_requested_; });
    if (stop_) return;
    const bool requested = reload_requested_;
    reload_requested_ = false;
    lock.unlock();
    std::string fp = Fingerprint();
    const bool changed = fp != fingerprint_;
    if (requested || changed) {
      fingerprint_ = std::move(fp);
      (void)ReloadNow(requested ? "SIGHUP" : "files changed");
    }
    lock.lock();
  }
}

}  // namespace interlock::server
