#include "common/fd_lines.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// A pipe closed on destruction.
struct Pipe {
  Pipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  ~Pipe() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  void CloseWrite() {
    close(fds[1]);
    fds[1] = -1;
  }
  int fds[2] = {-1, -1};
};

// Tests that lines are split at '\n', a last line without one is read, and the end of
// input ends the reading.
TEST(FdLineReaderTest, SplitsLinesAndReadsTheLastUnterminatedOne) {
  Pipe p;
  ASSERT_TRUE(WriteAll(p.fds[1], "one\ntwo\n\nthree"));
  p.CloseWrite();
  FdLineReader reader(p.fds[0]);
  ASSERT_TRUE(reader.ok());
  std::string line;
  bool oversized = true;
  auto never = [] { return true; };
  ASSERT_TRUE(reader.ReadLine(100, &line, &oversized, never));
  EXPECT_EQ(line, "one");
  EXPECT_FALSE(oversized);
  ASSERT_TRUE(reader.ReadLine(100, &line, &oversized, never));
  EXPECT_EQ(line, "two");
  ASSERT_TRUE(reader.ReadLine(100, &line, &oversized, never));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(reader.ReadLine(100, &line, &oversized, never));
  EXPECT_EQ(line, "three");
  EXPECT_FALSE(reader.ReadLine(100, &line, &oversized, never));
}

// Tests that a line longer than the bound is consumed whole and reported oversized, and
// the next line is read intact (one hostile line cannot desynchronise the stream).
TEST(FdLineReaderTest, OversizedLineIsConsumedWholeAndTheStreamStaysInStep) {
  Pipe p;
  std::thread writer([&] {
    ASSERT_TRUE(WriteAll(p.fds[1], std::string(200000, 'x') + "\nnext\n"));
    p.CloseWrite();
  });
  FdLineReader reader(p.fds[0]);
  std::string line;
  bool oversized = false;
  auto go_on = [] { return true; };
  ASSERT_TRUE(reader.ReadLine(10, &line, &oversized, go_on));
  EXPECT_TRUE(oversized);
  EXPECT_EQ(line, std::string(10, 'x'));
  ASSERT_TRUE(reader.ReadLine(10, &line, &oversized, go_on));
  EXPECT_FALSE(oversized);
  EXPECT_EQ(line, "next");
  writer.join();
}

// Tests that `would_block` runs before a read that would wait, and that its false ends
// the reading without waiting.
TEST(FdLineReaderTest, WouldBlockRunsBeforeAWaitAndCanEndIt) {
  Pipe p;
  ASSERT_TRUE(WriteAll(p.fds[1], "a\n"));
  FdLineReader reader(p.fds[0]);
  std::string line;
  bool oversized = false;
  int asked = 0;
  auto would_block = [&] {
    ++asked;
    return false;
  };
  ASSERT_TRUE(reader.ReadLine(100, &line, &oversized, would_block));
  EXPECT_EQ(asked, 0);  // input was waiting
  EXPECT_FALSE(reader.ReadLine(100, &line, &oversized, would_block));
  EXPECT_EQ(asked, 1);
}

// Tests that Stop() from another thread ends a read that waits for input that never
// comes (a closed output must not hang the reader).
TEST(FdLineReaderTest, StopEndsAWaitingRead) {
  Pipe p;  // nothing is ever written, the write end stays open
  FdLineReader reader(p.fds[0]);
  std::thread stopper([&] { reader.Stop(); });
  std::string line;
  bool oversized = false;
  EXPECT_FALSE(reader.ReadLine(100, &line, &oversized, [] { return true; }));
  stopper.join();
}

// Tests that the writer holds small output until flushed, and reports a write to a
// closed reader as a failure that sticks.
TEST(FdLineWriterTest, BuffersUntilFlushAndReportsAFailedWrite) {
  Pipe p;
  FdLineWriter out(p.fds[1]);
  out.buffer() = "hello\n";
  EXPECT_TRUE(out.MaybeFlush());  // small: still buffered
  EXPECT_EQ(out.buffer(), "hello\n");
  ASSERT_TRUE(out.Flush());
  char buf[16] = {};
  ASSERT_EQ(read(p.fds[0], buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "hello\n");

  Pipe closed;
  close(closed.fds[0]);
  closed.fds[0] = -1;
  signal(SIGPIPE, SIG_IGN);
  FdLineWriter dead(closed.fds[1]);
  dead.buffer() = "x";
  EXPECT_FALSE(dead.Flush());
  dead.buffer() = "y";
  EXPECT_FALSE(dead.Flush());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
