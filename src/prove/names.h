// The tool names a policy can tell apart. Tool names and patterns (`*` matches any run of
// bytes, policy::ToolPatternMatches) split every possible name into finitely many classes:
// two names matched by exactly the same patterns are decided alike by every rule that
// names tools. NameClasses finds one witness per class that some name falls into,
// exhaustively: a breadth-first search over the product of the patterns' automata.
// Thread-safety: a free function without shared state.
#ifndef INTERLOCK_PROVE_NAMES_H_
#define INTERLOCK_PROVE_NAMES_H_

#include <cstddef>
#include <string>
#include <vector>

namespace interlock::prove {

struct NameClasses {
  // The shortest non-empty name of each class (ties: the byte order of the alphabet),
  // exact names of the policy among them. Sorted.
  std::vector<std::string> witnesses;
  bool complete = true;  // false: the search hit its bound (then witnesses is partial)
};

// Witnesses for the classes `patterns` (names or patterns) induce; `max_states` bounds the
// search.
NameClasses FindNameClasses(const std::vector<std::string>& patterns, size_t max_states = 200000);

}  // namespace interlock::prove

#endif  // INTERLOCK_PROVE_NAMES_H_
