// The one glob matcher of Interlock: tool-name patterns in policies (`mcp__github__*`),
// shell-command words and operands in command constraints, and identity patterns of
// trusted issuers (`spiffe://prod/*`) all match with it, so a pattern means the same
// wherever it is written.
//
// The language is deliberately small: `*` matches any run of bytes, the empty run
// included (also `/` and `.`: there are no path or label separators); every other byte
// matches itself, with no case folding. There is no `?`, no `[...]` class and no escape,
// so a name holding `*` cannot be matched literally except by a pattern that equals it.
// Host suffix rules (`*.example.com` in egress and URL constraints) are not globs: they
// are compiled to a label-anchored suffix by their own parsers (policy/egress.h).
// Thread-safety: pure functions.
#ifndef INTERLOCK_COMMON_GLOB_H_
#define INTERLOCK_COMMON_GLOB_H_

#include <cstddef>
#include <string_view>

namespace interlock {

// Whether `s` matches `pattern`. A pattern without `*` matches only itself. Greedy with
// backtracking to the last star: O(|pattern| * |s|) at worst, allocation free.
bool GlobMatches(std::string_view pattern, std::string_view s);

// Whether some string matches both patterns (either may hold no `*`). Exact: a
// reachability search over the pair of positions, O(|a| * |b|) time and memory.
bool GlobsOverlap(std::string_view a, std::string_view b);

// Whether `s` holds a `*`, i.e. is a pattern rather than a name.
inline bool IsGlob(std::string_view s) { return s.find('*') != std::string_view::npos; }

// The bytes of `pattern` that are not `*`: how specific it is (more is narrower).
size_t GlobLiteralBytes(std::string_view pattern);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_GLOB_H_
