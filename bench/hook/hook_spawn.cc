// The load generator for a command hook, as Claude Code runs one per tool call: spawns
// COMMAND with INPUT on its stdin, reads its stdout to EOF (the answer) and reaps it;
// the wall time from just before the spawn to the answer's last byte, per run.
//
//   hook_spawn [--warmup N] [--label L] [--same-tool-use 1] RUNS INPUT_FILE -- COMMAND [ARGS...]
//
// Each run is a new tool use, as Claude Code sends one per tool call: the input's
// "tool_use_id" value gets a suffix unique to the run (this process's id and the run's
// number), so a hook that keys its decision on the tool use decides and records every run
// afresh rather than answering a replay. --same-tool-use 1 sends the input unchanged.
//
// Prints one line: `RESULT label=L runs=N p50_ms=.. p90_ms=.. p99_ms=.. mean_ms=..
// min_ms=.. bad=..` (bad: runs that exited non-zero or printed nothing). Runs are
// sequential (a hook per tool call); the command's stderr goes to /dev/null. Not a test:
// the figures depend on the machine; bench/hook/bench-hook.sh runs the floors beside it.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Run {
  double ms = 0;
  bool ok = false;
};

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// One hook invocation. The input is small (a few hundred bytes, under the pipe buffer),
// so it is written whole before the answer is read.
Run SpawnOnce(char* const* argv, const std::string& input) {
  Run run;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return run;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return run;
  }
  const bool wrote = WriteAll(in[1], input);
  close(in[1]);
  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  const auto end = std::chrono::steady_clock::now();
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.ms = std::chrono::duration<double, std::milli>(end - start).count();
  (void)wrote;  // a floor that never reads its stdin closes it early (EPIPE)
  run.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return run;
}

// The input of run `n`: its "tool_use_id" value suffixed "-PID-N" (unchanged without one).
std::string ForRun(const std::string& input, int n) {
  static const std::string kKey = "\"tool_use_id\":\"";
  const size_t at = input.find(kKey);
  if (at == std::string::npos) return input;
  const size_t end = input.find('"', at + kKey.size());
  if (end == std::string::npos) return input;
  std::string out = input;
  out.insert(end, "-" + std::to_string(getpid()) + "-" + std::to_string(n));
  return out;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return sorted[i];
}

int Usage() {
  std::fprintf(stderr,
               "usage: hook_spawn [--warmup N] [--label L] [--same-tool-use 1] RUNS INPUT_FILE -- "
               "COMMAND [ARGS...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a command that never reads its stdin (the floors)
  int warmup = 5;
  bool same_tool_use = false;
  std::string label = "hook";
  int i = 1;
  for (; i + 1 < argc && std::strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0'; i += 2) {
    if (std::strcmp(argv[i], "--warmup") == 0) {
      warmup = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--label") == 0) {
      label = argv[i + 1];
    } else if (std::strcmp(argv[i], "--same-tool-use") == 0) {
      same_tool_use = std::atoi(argv[i + 1]) != 0;
    } else {
      return Usage();
    }
  }
  if (argc - i < 4 || std::strcmp(argv[i + 2], "--") != 0) return Usage();
  const int runs = std::atoi(argv[i]);
  std::ifstream file(argv[i + 1], std::ios::binary);
  if (runs <= 0 || !file) return Usage();
  const std::string input((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  char* const* command = argv + i + 3;

  auto input_of = [&](int n) { return same_tool_use ? input : ForRun(input, n); };
  for (int w = 0; w < warmup; ++w) (void)SpawnOnce(command, input_of(-1 - w));
  std::vector<double> ms;
  int bad = 0;
  double sum = 0;
  for (int r = 0; r < runs; ++r) {
    const Run run = SpawnOnce(command, input_of(r));
    if (!run.ok) ++bad;
    ms.push_back(run.ms);
    sum += run.ms;
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "RESULT label=%s runs=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f min_ms=%.3f "
      "bad=%d\n",
      label.c_str(), runs, Percentile(ms, 0.50), Percentile(ms, 0.90), Percentile(ms, 0.99),
      sum / runs, ms.front(), bad);
  return bad == 0 ? 0 : 1;
}
