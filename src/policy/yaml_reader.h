// The one strict YAML reader: every YAML file Interlock reads (agent policies, the
// server's config file, the policy text `drift --suggest` rewrites) goes through it, so
// they all refuse the same things with the same positions.
//
// Stricter than YAML lets a parser be, because a file that says two things must not
// silently mean one: a key written twice in one mapping is an error (yaml-cpp keeps both
// and a reader would take whichever it met last), as is more than one document. Every
// problem carries its 1-based line and column. Documents are counted over the event
// parser with a bounded loop, never with YAML::LoadAll (which loops forever on inputs such
// as "\n,\n" in yaml-cpp 0.7).
//
// yaml-cpp lives in the policy module: this header is for the module's own files (the
// policy loader, the drift rewriter). Any other reader takes the same document as plain
// values with ReadYamlTree (policy/yaml_tree.h); tools/check_layers.py enforces both.
// Thread-safety: pure functions.
#ifndef INTERLOCK_POLICY_YAML_READER_H_
#define INTERLOCK_POLICY_YAML_READER_H_

#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "interlock/result.h"

namespace interlock {

struct YamlProblem {
  enum class Kind { kSyntax, kMultipleDocuments, kDuplicateKey };
  Kind kind = Kind::kSyntax;
  int line = 0;  // 1-based; 0 when the parser gave no position
  int column = 0;
  std::string message;  // without the position
};

struct YamlDocument {
  YAML::Node root;    // the one document; a null node when there is none
  int documents = 0;  // 0 (empty text or only comments), 1, or 2 meaning "more than one"
  // Empty: `root` is the whole file. Otherwise nothing may be read from `root`. Every
  // duplicate key is listed, in document order.
  std::vector<YamlProblem> problems;
};

YamlDocument ReadYaml(std::string_view text);

// "file:line:column: " for a node of a document ReadYaml returned.
std::string YamlWhere(std::string_view file, const YAML::Mark& mark);

// The document in `text`, or the first problem as Error::Invalid("file:line:column:
// message"). More than one document is a problem; none is a null node.
Result<YAML::Node> ReadYamlDocument(std::string_view text, std::string_view file);

}  // namespace interlock

#endif  // INTERLOCK_POLICY_YAML_READER_H_
