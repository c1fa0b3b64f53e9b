#include "common/fd_lines.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace interlock {

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t w = write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(w));
  }
  return true;
}

FdLineReader::FdLineReader(int in_fd) : in_fd_(in_fd) {
  if (pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
}

FdLineReader::~FdLineReader() {
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

void FdLineReader::Stop() {
  stopped_.store(true);
  if (wake_[1] >= 0) {
    const char c = 0;
    while (write(wake_[1], &c, 1) < 0 && errno == EINTR) {
    }
  }
}

bool FdLineReader::InputWaiting() {
  pollfd p = {in_fd_, POLLIN, 0};
  int ready;
  while ((ready = poll(&p, 1, 0)) < 0 && errno == EINTR) {
  }
  return ready != 0;
}

bool FdLineReader::ReadBlock() {
  pollfd p[2] = {{in_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
  for (;;) {
    // Waits for input or Stop(). A non-blocking input (an inherited O_NONBLOCK) is waited
    // on, not taken for its end.
    while (poll(p, 2, -1) < 0 && errno == EINTR) {
    }
    if (stopped_.load() || (p[1].revents & POLLIN) != 0) return false;
    const ssize_t got = read(in_fd_, buf_.get(), kInBlock);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return false;
    size_ = static_cast<size_t>(got);
    return true;
  }
}

bool FdLineWriter::Flush() {
  if (out_.empty() || failed_) return !failed_;
  failed_ = !WriteAll(out_fd_, out_);
  out_.clear();
  return !failed_;
}

}  // namespace interlock
