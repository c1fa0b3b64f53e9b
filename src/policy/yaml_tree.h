// YamlNode: a YAML document as the strict reader (policy/yaml_reader.h) read it, as plain
// values: for readers outside the policy module (the server's config file), so yaml-cpp
// stays inside it and every YAML file Interlock reads refuses the same things (a key
// written twice in one mapping, a second document) with the same file:line:column.
//
// A tree of values, built once and then read only: copying is cheap enough for the config
// files it serves (a page of YAML). Thread-safety: a value; any thread may read it.
#ifndef INTERLOCK_POLICY_YAML_TREE_H_
#define INTERLOCK_POLICY_YAML_TREE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock {

class YamlNode {
 public:
  enum class Kind { kNull, kScalar, kSequence, kMap };
  struct Entry;  // a key and its value, in a mapping

  YamlNode() = default;

  Kind kind() const { return kind_; }
  bool IsNull() const { return kind_ == Kind::kNull; }
  bool IsScalar() const { return kind_ == Kind::kScalar; }
  bool IsSequence() const { return kind_ == Kind::kSequence; }
  bool IsMap() const { return kind_ == Kind::kMap; }

  // The text of a scalar as written (quotes removed); "" for any other node.
  const std::string& Scalar() const { return scalar_; }
  // True for a scalar written in quotes (or as a block scalar): a string whatever its text,
  // where a plain `10` or `true` may be read as a number or a boolean.
  bool Quoted() const { return quoted_; }
  // The items of a sequence, the entries of a mapping in document order (empty otherwise).
  const std::vector<YamlNode>& items() const { return items_; }
  const std::vector<Entry>& entries() const { return entries_; }
  // Items of a sequence, entries of a mapping, 0 for a scalar or null.
  size_t size() const;

  // Where the node starts, 1-based; 0 when the parser gave no position.
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  friend class YamlTreeBuilder;  // yaml_reader.cc
  Kind kind_ = Kind::kNull;
  std::string scalar_;
  bool quoted_ = false;
  std::vector<YamlNode> items_;
  std::vector<Entry> entries_;
  int line_ = 0;
  int column_ = 0;
};

struct YamlNode::Entry {
  YamlNode first;   // the key (a scalar in every file we read)
  YamlNode second;  // its value
};

inline size_t YamlNode::size() const {
  return kind_ == Kind::kMap ? entries_.size() : items_.size();
}

// The one document of `text` (a null node for an empty file), or the strict reader's first
// problem as Error::Invalid("file:line:column: message").
Result<YamlNode> ReadYamlTree(std::string_view text, std::string_view file);

// "file:line:column: " for `node` ("file: " when it has no position).
std::string YamlWhere(std::string_view file, const YamlNode& node);

// A scalar as JSON, one reading for every file that holds values in YAML (policy tests,
// properties): a quoted scalar is a string whatever its text; a plain `true`/`false` a
// boolean; a plain integer or number (the whole text, starting with a digit or `-digit`) a
// number; anything else a string.
boost::json::value YamlScalarJson(const YamlNode& scalar);

// A node as JSON: null, scalars as YamlScalarJson, sequences and mappings. A key that is
// not a scalar is Error::Invalid("file:line:column: ...").
Result<boost::json::value> YamlToJson(const YamlNode& node, std::string_view file);

}  // namespace interlock

#endif  // INTERLOCK_POLICY_YAML_TREE_H_
