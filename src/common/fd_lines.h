// Line input and output on file descriptors, for a pipeline that reads batches of lines
// and must still answer a single interactive line at once (`interlock decide`).
//
// FdLineReader reads an fd in 64 KiB blocks and splits it into lines. `would_block` runs
// before a read that would wait (nothing waiting on the fd): the caller hands over what it
// has then, so the answers to every line read so far go out before it waits for the next.
// Stop(), from another thread, ends a read that waits.
// FdLineWriter buffers output and writes it when the buffer is large, when asked and at
// the end.
// Thread-safety: FdLineReader::Stop() from any thread; everything else from one thread.
#ifndef INTERLOCK_COMMON_FD_LINES_H_
#define INTERLOCK_COMMON_FD_LINES_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace interlock {

// Writes all of `data` to fd (retrying on EINTR and short writes). False on an error
// (EPIPE: nobody reads).
bool WriteAll(int fd, std::string_view data);

class FdLineReader {
 public:
  explicit FdLineReader(int in_fd);
  ~FdLineReader();
  FdLineReader(const FdLineReader&) = delete;
  FdLineReader& operator=(const FdLineReader&) = delete;

  // False when Stop() could not end a wait (no pipe to wake it with): a caller refuses to
  // start rather than risk hanging.
  bool ok() const { return wake_[0] >= 0; }

  // Ends a read that waits, and every later one.
  void Stop();

  // Reads one line of at most `max` bytes (without its '\n'). A longer line is consumed
  // whole and reported as oversized, so one hostile line cannot exhaust memory or
  // desynchronise the stream. False at end of input, on a read error, after Stop() or
  // when `would_block()` answers false, with nothing read. The last line needs no '\n'.
  template <typename WouldBlock>
  bool ReadLine(size_t max, std::string* line, bool* oversized, WouldBlock&& would_block) {
    line->clear();
    *oversized = false;
    bool any = false;
    for (;;) {
      if (pos_ == size_ && !Fill(would_block)) return any;
      any = true;
      const char* begin = buf_.get() + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', size_ - pos_));
      const size_t end = nl == nullptr ? size_ : static_cast<size_t>(nl - buf_.get());
      const size_t take = std::min(end - pos_, max - std::min(max, line->size()));
      line->append(begin, take);
      if (end - pos_ > take) *oversized = true;
      pos_ = end;
      if (nl != nullptr) {
        ++pos_;
        return true;
      }
    }
  }

 private:
  static constexpr size_t kInBlock = 64 * 1024;

  template <typename WouldBlock>
  bool Fill(WouldBlock& would_block) {
    pos_ = size_ = 0;
    if (stopped_.load()) return false;
    if (!InputWaiting() && !would_block()) return false;
    return ReadBlock();
  }
  // Whether a read would return at once (input, end of input or an error).
  bool InputWaiting();
  // Waits for input or Stop() and reads one block: false at the end, on an error or Stop().
  bool ReadBlock();

  int in_fd_;
  int wake_[2] = {-1, -1};
  std::atomic<bool> stopped_{false};
  std::unique_ptr<char[]> buf_{new char[kInBlock]};
  size_t pos_ = 0;
  size_t size_ = 0;
};

class FdLineWriter {
 public:
  explicit FdLineWriter(int out_fd) : out_fd_(out_fd) {}

  // Where the caller appends its output.
  std::string& buffer() { return out_; }
  // Writes the buffer once it holds 64 KiB. False once a write has failed.
  bool MaybeFlush() { return out_.size() < kOutBlock || Flush(); }
  // Writes the buffer. False once a write has failed (what is buffered is dropped).
  bool Flush();

 private:
  static constexpr size_t kOutBlock = 64 * 1024;
  int out_fd_;
  std::string out_;
  bool failed_ = false;
};

}  // namespace interlock

#endif  // INTERLOCK_COMMON_FD_LINES_H_
