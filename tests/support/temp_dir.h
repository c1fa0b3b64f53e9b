// TempDir: a fresh temporary directory for one test, removed with all it holds on destruction.
// The one temp-dir helper of the test suites (unit, integration, browser): made with mkdtemp
// under the system temp dir ($TMPDIR, else /tmp), so parallel tests and processes never share
// one. Not thread-safe to destroy while another thread still writes into it.
#ifndef INTERLOCK_TESTS_SUPPORT_TEMP_DIR_H_
#define INTERLOCK_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace interlock::testing {

class TempDir {
 public:
  // `prefix` names the directory (PREFIX-XXXXXX), to tell a leftover's owner. Throws
  // std::runtime_error when no directory can be made (the test then fails, it does not skip).
  explicit TempDir(std::string_view prefix = "interlock-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // PATH/NAME; nothing is created.
  std::string File(std::string_view name) const;
  // Writes `content` to PATH/NAME (parent directories made as needed) and returns that path.
  std::string Write(std::string_view name, std::string_view content) const;

 private:
  std::string path_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_TEMP_DIR_H_
