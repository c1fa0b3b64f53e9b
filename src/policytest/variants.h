// Adversarial variants of a refused call (`interlock test --adversarial`,
// docs/policy-tests.md "Adversarial variants"): the spellings an attacker would try to get
// the same effect past the policy. Each family is generated from the project's bypass
// knowledge and from the policy's own allowed values (Seeds: a variant that starts with an
// allowed prefix or host and then escapes it). A variant means the same thing to the real
// tool as the original: shell spellings run the same argv in bash (the test
// tests/unit/policytest/variants_bash_test.cc checks it), the others cite the standard or
// the program's documentation (the docs list each family with its source).
// Thread-safety: free functions over values.
#ifndef INTERLOCK_POLICYTEST_VARIANTS_H_
#define INTERLOCK_POLICYTEST_VARIANTS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace interlock::policytest {

// The policy's own allowed values, read from its YAML: path prefixes (`path_prefix`,
// literal prefixes of `pattern`s, `redirect_paths`), hosts (`url.allow`, host-like literals
// of patterns, `hosts`) and allowed shell commands (`shell.allow`, their literal words).
struct Seeds {
  std::vector<std::string> paths;     // absolute, normalised, no trailing slash
  std::vector<std::string> hosts;     // lower case
  std::vector<std::string> commands;  // literal shell commands the policy allows, e.g. "git status"
  // The symbolic links the test file names (TestFile::symlinks): LINK -> TARGET.
  std::vector<std::pair<std::string, std::string>> links;
};

// The seeds of the policy files (or directories) `policy_paths`, with ${workspace} standing
// for `workspace`. Unreadable files give no seeds (the loader reports them).
Seeds CollectSeeds(const std::vector<std::string>& policy_paths, const std::string& workspace);

// The literal prefix of an RE2 pattern, unescaped (`/srv/data.*` -> `/srv/data`,
// `.*docs\.myco\.com.*` -> "" (no prefix)), and its longest literal run
// (`docs.myco.com`).
std::string RegexLiteralPrefix(std::string_view re);
std::string RegexLongestLiteral(std::string_view re);

struct Variant {
  std::string family;  // e.g. "path-dotdot", "url-userinfo", "shell-wrapper", "git-config-case"
  std::string what;    // the variant as text (the changed value, or the tool name)
  boost::json::object call;
};

struct VariantOptions {
  bool case_insensitive_paths = false;  // TestFile::case_insensitive_paths
  size_t max_variants = 256;            // per refused step; the rest is dropped
};

// The variants of `call` ({"tool", "args", ...}), distinct, none equal to `call`, at most
// options.max_variants, in family order; *capped (when given) says whether more were cut.
std::vector<Variant> GenerateVariants(const boost::json::object& call, const Seeds& seeds,
                                      const VariantOptions& options, bool* capped = nullptr);

// A variant of a string value: its family and text.
struct ValueVariant {
  std::string family;
  std::string text;
};

// The families of one value, exposed for the tests. Shell families whose name starts with
// "shell-" run the same argv in bash as `line` (the bash test checks it); "git-" families
// are git's own (docs: git-config(1), git(1)).
std::vector<ValueVariant> ShellVariants(std::string_view line, const Seeds& seeds);
std::vector<ValueVariant> PathVariants(std::string_view path, const Seeds& seeds,
                                       bool case_insensitive);
std::vector<ValueVariant> UrlVariants(std::string_view url, const Seeds& seeds);
std::vector<ValueVariant> ToolNameVariants(std::string_view tool);

// A shell word quoted so that bash reads it as exactly `s` ('...' with '\'' for quotes).
std::string ShellQuote(std::string_view s);

}  // namespace interlock::policytest

#endif  // INTERLOCK_POLICYTEST_VARIANTS_H_
