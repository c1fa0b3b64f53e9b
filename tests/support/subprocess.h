// Runs a program to completion with given stdin, capturing stdout, stderr and exit code.
// For tests only: bounded by a timeout after which the child is killed.
#ifndef INTERLOCK_TESTS_SUPPORT_SUBPROCESS_H_
#define INTERLOCK_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace interlock::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or the timeout
  std::string out;
  std::string err;
  bool timed_out = false;
};

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs a setup script (`/bin/sh SCRIPT`, e.g. scripts/setup-node-tests.sh, which installs
// pinned npm packages; the scripts are idempotent and lock-protected) at most once per
// process, bounded by 5 minutes. Returns "" when it succeeded, else what it printed on
// stderr. Test suites call it from SetUpTestSuite and assert on it in SetUp.
std::string RunSetupScriptOnce(const std::string& script);

// Starts `argv` (argv[0] a path) in the background with its stdout and stderr appended to
// `log_path`. The child gets SIGTERM when the calling thread ends, so a test killed by
// ctest's timeout leaves no daemon behind (start daemons from the test's own thread).
// Returns the child's pid, or -1 when fork fails; the caller waits for it.
pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path);

// A self-signed P-256 certificate for loopback TLS tests, made with the openssl CLI:
// DIR/NAME.pem and DIR/NAME.key; `san` is the subjectAltName, e.g. "IP:127.0.0.1".
// `error` is empty when openssl succeeded, else what it printed.
struct TestCert {
  std::string cert;
  std::string key;
  std::string error;
};
TestCert MakeSelfSignedCert(const std::string& dir, const std::string& name,
                            const std::string& san);

// A test CA (DIR/ca.pem) and a certificate for IP:127.0.0.1 it signed (DIR/server.pem,
// DIR/server.key), for servers whose clients insist on a CA (node's NODE_EXTRA_CA_CERTS).
struct TestCa {
  std::string ca, cert, key, error;
};
TestCa MakeTestCa(const std::string& dir);

// A long-running child (a test identity provider such as tests/idp/idp.mjs) in its own
// process group: its stdin stays open (such a server exits when it closes) and its first
// stdout line is read on demand; the group is killed (SIGKILL) and reaped on destruction.
class ServiceChild {
 public:
  explicit ServiceChild(const std::vector<std::string>& argv);
  ~ServiceChild();
  ServiceChild(const ServiceChild&) = delete;
  ServiceChild& operator=(const ServiceChild&) = delete;
  // The first line of stdout, without its newline; what arrived by `timeout` or the end of
  // the output otherwise.
  std::string FirstLine(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_SUBPROCESS_H_
