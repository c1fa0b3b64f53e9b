// PolicyWatcher: reloads the policy set on SIGHUP and when the policy files change.
//
// A thread polls the files' names, the files they resolve to (a symlink swapped to a new
// target, as in a Kubernetes ConfigMap volume, is a change), sizes and modification times
// every `poll` interval
// and reloads when they change or when RequestReload() was called (the SIGHUP
// handler). A new set is fully loaded and validated before PolicySource::Replace swaps
// it in atomically; an invalid set is refused with a logged error (every diagnostic) and
// the last good set stays in force. Each attempt is counted in Metrics, and recorded by
// the Recorder (the daemon's audit log): a set is swapped in only after its record was
// written, so a reload whose record fails is refused like an invalid set.
// Thread-safety: RequestReload() from any thread (it only sets a flag and wakes the
// watcher); the destructor stops and joins the thread.
#ifndef INTERLOCK_DAEMON_POLICY_WATCHER_H_
#define INTERLOCK_DAEMON_POLICY_WATCHER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/app/policy_source.h"
#include "daemon/metrics.h"
#include "interlock/result.h"
#include "policy/loader.h"

namespace interlock::server {

class PolicyWatcher {
 public:
  PolicyWatcher(std::vector<std::string> paths, core::PolicySource* source, Metrics* metrics,
                std::chrono::milliseconds poll);
  ~PolicyWatcher();
  PolicyWatcher(const PolicyWatcher&) = delete;
  PolicyWatcher& operator=(const PolicyWatcher&) = delete;

  // Records a load before its set is swapped in (`loaded`, error empty) or a refused one
  // (`loaded` null, `error` the load error). An error refuses the load.
  using Recorder = std::function<Status(const policy::PolicySet* loaded, const char* why,
                                        const std::string& error)>;
  // Call before Start().
  void SetRecorder(Recorder recorder) { recorder_ = std::move(recorder); }
  // What every reload loads with (the daemon's workspace). Call before Start().
  void SetLoadOptions(policy::LoadOptions options) { load_options_ = std::move(options); }

  void Start();
  void RequestReload();

  // Loads and swaps now, on the calling thread. Returns the load error, if any.
  Status ReloadNow(const char* why);

 private:
  std::string Fingerprint() const;
  void Run();

  const std::vector<std::string> paths_;
  core::PolicySource* source_;
  Metrics* metrics_;
  Recorder recorder_;
  policy::LoadOptions load_options_;
  const std::chrono::milliseconds poll_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool reload_requested_ = false;
  std::string fingerprint_;
  std::thread thread_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_POLICY_WATCHER_H_
