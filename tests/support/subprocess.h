// Runs a program to completion with given stdin, capturing stdout, stderr and exit code.
// For tests only: bounded by a timeout after which the child is killed.
#ifndef INTERLOCK_TESTS_SUPPORT_SUBPROCESS_H_
#define INTERLOCK_TESTS_SUPPORT_SUBPROCESS_H_

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

// A fresh temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_SUBPROCESS_H_
