// SpawnServer (mcp/sandbox.h): apart from sandbox.cc, which the bridge program links alone.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "mcp/child_process.h"
#include "mcp/sandbox.h"

namespace interlock::mcp {
namespace {

// bwrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread* that
// spawned bwrap ends, not the process: a staging server started on a rehearsal's own
// thread was killed as soon as that rehearsal ended. Every sandboxed spawn runs on this
// one thread, which lives as long as the process (never destroyed, never joined).
class SpawnThread {
 public:
  static SpawnThread& Instance() {
    static SpawnThread* const instance = new SpawnThread();
    return *instance;
  }

  // Runs `task` on the thread and returns once it has run.
  void Run(const std::function<void()>& task) {
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    {
      std::lock_guard lock(mu_);
      tasks_.push_back([&task, &done] {
        task();
        done.set_value();
      });
    }
    cv_.notify_one();
    finished.wait();
  }

 private:
  SpawnThread() {
    std::thread([this] { Loop(); }).detach();
  }
  [[noreturn]] void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
};

}  // namespace

Result<std::unique_ptr<ChildProcess>> SpawnServer(const std::vector<std::string>& server,
                                                  const std::map<std::string, std::string>& env,
                                                  const SandboxSpec* sandbox) {
  if (sandbox == nullptr) return ChildProcess::Spawn(server, env);
  SandboxLaunch launch;
  if (Status s = launch.Prepare(); !s.ok()) return s.error();
  const std::vector<std::string> argv = SandboxArgv(*sandbox, server);
  Result<std::unique_ptr<ChildProcess>> child = Error::Internal("not spawned");
  SpawnThread::Instance().Run([&] { child = ChildProcess::Spawn(argv, env, launch.child_fds()); });
  if (!child.ok()) return child.error();
  launch.AfterSpawn();
  if (Status s = launch.AwaitReady(sandbox->bwrap, kSandboxSetupTimeout); !s.ok()) {
    child->reset();  // kills what bwrap left, if anything
    return s.error();
  }
  return child;
}

}  // namespace interlock::mcp
