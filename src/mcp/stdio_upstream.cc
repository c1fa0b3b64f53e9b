#include <fcntl.h>
#include <unistd.h>

#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/sandbox.h"
#include "mcp/upstream.h"

namespace interlock::mcp {

Result<std::unique_ptr<StdioUpstream>> StdioUpstream::Spawn(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    std::chrono::milliseconds grace, const SandboxSpec* sandbox) {
  auto child = SpawnServer(argv, env, sandbox);
  if (!child.ok()) return child.error();
  auto up = std::unique_ptr<StdioUpstream>(new StdioUpstream(std::move(*child), grace));
  if (up->wake_[0] < 0) return Error::Unavailable("cannot create a pipe for the upstream reader");
  return up;
}

StdioUpstream::StdioUpstream(std::unique_ptr<ChildProcess> child, std::chrono::milliseconds grace)
    : child_(std::move(child)), pid_(child_->pid()), grace_(grace) {
  if (pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
}

StdioUpstream::~StdioUpstream() {
  Close();
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

Status StdioUpstream::Start(UpstreamCallbacks cb) {
  reader_ = std::thread([this, cb = std::move(cb)] {
    LineReader reader(child_->stdout_fd(), kMaxServerMessageBytes, wake_[0]);
    std::string line;
    for (;;) {
      auto s = reader.Next(&line);
      if (s == LineReader::Status::kLine) {
        cb.on_message(line, nullptr);
      } else if (s == LineReader::Status::kOversized) {
        if (cb.on_oversized) cb.on_oversized();
      } else {
        break;
      }
    }
    // (The exit status is not waited for here: Close() owns waiting for the child.)
    if (!closing_.load()) cb.on_closed("the MCP server closed its output");
  });
  return Status::Ok();
}

void StdioUpstream::Send(const boost::json::value& message) {
  std::string line = ToJsonText(message);
  line.push_back('\n');
  std::lock_guard lock(write_mu_);
  if (closing_.load()) return;
  (void)WriteAll(child_->stdin_fd(), line);  // a dead child is seen by the reader
}

void StdioUpstream::Close() {
  std::call_once(closed_once_, [this] {
    {
      std::lock_guard lock(write_mu_);
      closing_.store(true);
      child_->CloseStdin();
    }
    (void)child_->Wait(grace_);
    if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
    if (reader_.joinable()) reader_.join();
    child_.reset();  // SIGTERM, then SIGKILL the process group; always reaped
  });
}

}  // namespace interlock::mcp
