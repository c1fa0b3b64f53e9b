// The adversarial shell corpus of shell_command_test.cc (the Claude Code example's rules),
// shared with the bash differential test, which runs every line the rules allow in bash.
#ifndef INTERLOCK_TESTS_UNIT_POLICY_SHELL_CORPUS_H_
#define INTERLOCK_TESTS_UNIT_POLICY_SHELL_CORPUS_H_

#include <ostream>
#include <vector>

namespace interlock::policy {

struct Case {
  const char* name;
  const char* line;
  bool allowed;
  const char* reason;  // substring of the reason when refused
};

const std::vector<Case>& AdversarialShellCorpus();
void PrintTo(const Case& c, std::ostream* os);

}  // namespace interlock::policy

#endif  // INTERLOCK_TESTS_UNIT_POLICY_SHELL_CORPUS_H_
