#include "policy/yaml_reader.h"

#include "policy/yaml_tree.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <sstream>
#include <utility>

#include <yaml-cpp/eventhandler.h>

namespace interlock {
namespace {

// Walks the events of the documents, counting them and, in the first, remembering the
// keys of every open mapping: a key seen twice in one mapping is a problem. Keys are
// compared as the scalars they are written as (`1` and "1" are the same key to every
// reader of ours); an alias or a collection as a key is not compared.
class StrictChecker final : public YAML::EventHandler {
 public:
  int documents() const { return documents_; }
  const YAML::Mark& second_document() const { return second_; }
  std::vector<YamlProblem>& problems() { return problems_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_ = mark;
    frames_.clear();
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Leaf(mark, nullptr); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Leaf(mark, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    Leaf(mark, &value);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    bool map = false;
    bool at_key = true;               // a mapping: the next node is a key
    std::string name;                 // how the path names this collection
    size_t items = 0;                 // a sequence: items so far
    std::map<std::string, int> keys;  // a mapping: key -> 1-based line first written
    std::string key;                  // a mapping: the key whose value comes next
  };

  std::string Path() const {
    std::string p;
    for (const Frame& f : frames_) p += f.name;
    return p.empty() ? "the document" : p;
  }

  // How the node about to start is named in the path, and whether it is a mapping key.
  std::string ChildName(bool* is_key) {
    *is_key = false;
    if (frames_.empty()) return "";
    Frame& f = frames_.back();
    if (!f.map) return "[" + std::to_string(f.items) + "]";
    if (f.at_key) {
      *is_key = true;
      return "";
    }
    return (frames_.size() == 1 ? "" : ".") + f.key;
  }

  // A node has ended: the parent mapping now waits for the other half of its pair.
  void Ended() {
    if (frames_.empty()) return;
    Frame& f = frames_.back();
    if (f.map) {
      f.at_key = !f.at_key;
    } else {
      ++f.items;
    }
  }

  void Leaf(const YAML::Mark& mark, const std::string* value) {
    if (documents_ == 1 && !frames_.empty() && frames_.back().map && frames_.back().at_key) {
      Frame& f = frames_.back();
      f.key = value != nullptr ? *value : std::string();
      if (value != nullptr) {
        auto [at, inserted] = f.keys.emplace(*value, mark.line + 1);
        if (!inserted) {
          problems_.push_back({YamlProblem::Kind::kDuplicateKey, mark.line + 1, mark.column + 1,
                               "duplicate key '" + *value + "' in " + Path() +
                                   " (first written at line " + std::to_string(at->second) +
                                   "); YAML would silently keep only one"});
        }
      }
    }
    Ended();
  }

  void Open(bool map) {
    bool is_key = false;
    std::string name = ChildName(&is_key);
    if (is_key) frames_.back().key.clear();  // a collection as a key: never compared
    Frame f;
    f.map = map;
    f.name = std::move(name);
    frames_.push_back(std::move(f));
  }

  void Close() {
    if (!frames_.empty()) frames_.pop_back();
    Ended();
  }

  int documents_ = 0;
  YAML::Mark second_ = YAML::Mark::null_mark();
  std::vector<Frame> frames_;
  std::vector<YamlProblem> problems_;
};

YamlProblem SyntaxProblem(const YAML::Mark& m, std::string message) {
  const bool known = !m.is_null() && m.line >= 0;
  return {YamlProblem::Kind::kSyntax, known ? m.line + 1 : 0, known ? m.column + 1 : 0,
          "invalid YAML: " + std::move(message)};
}

}  // namespace

YamlDocument ReadYaml(std::string_view text) {
  YamlDocument doc;
  StrictChecker checker;
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser events(in);
    while (doc.documents < 2 && events.HandleNextDocument(checker)) ++doc.documents;
    if (doc.documents == 1 && checker.problems().empty()) {
      doc.root = YAML::Load(std::string(text));
    }
  } catch (const YAML::Exception& e) {
    doc.problems = {SyntaxProblem(e.mark, e.msg)};
    return doc;
  } catch (const std::exception& e) {
    doc.problems = {SyntaxProblem(YAML::Mark::null_mark(), e.what())};
    return doc;
  }
  if (doc.documents > 1) {
    const YAML::Mark& m = checker.second_document();
    doc.problems = {{YamlProblem::Kind::kMultipleDocuments, m.is_null() ? 0 : m.line + 1,
                     m.is_null() ? 0 : m.column + 1, "the file holds more than one YAML document"}};
    return doc;
  }
  doc.problems = std::move(checker.problems());
  return doc;
}

std::string YamlWhere(std::string_view file, const YAML::Mark& mark) {
  std::string s(file);
  if (!mark.is_null() && mark.line >= 0) {
    s += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  return s + ": ";
}

Result<YAML::Node> ReadYamlDocument(std::string_view text, std::string_view file) {
  YamlDocument doc = ReadYaml(text);
  if (doc.problems.empty()) return std::move(doc.root);
  const YamlProblem& p = doc.problems.front();
  std::string where(file);
  if (p.line > 0) where += ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
  return Error::Invalid(where + ": " + p.message);
}

// Copies a yaml-cpp tree into plain values (YamlNode), so nothing outside this module
// needs yaml-cpp's types.
class YamlTreeBuilder {
 public:
  static constexpr int kMaxDepth = 256;  // deeper nesting is refused, not recursed into

  static Result<YamlNode> Build(const YAML::Node& n, std::string_view file, int depth = 0) {
    YamlNode out;
    const YAML::Mark m = n.Mark();
    if (!m.is_null() && m.line >= 0) {
      out.line_ = m.line + 1;
      out.column_ = m.column + 1;
    }
    if (depth > kMaxDepth) {
      return Error::Invalid(YamlWhere(file, out) + "nested deeper than " +
                            std::to_string(kMaxDepth) + " levels");
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar:
        out.kind_ = YamlNode::Kind::kScalar;
        out.scalar_ = n.Scalar();
        out.quoted_ = n.Tag() == "!";  // yaml-cpp tags every non-plain scalar "!"
        break;
      case YAML::NodeType::Sequence:
        out.kind_ = YamlNode::Kind::kSequence;
        for (const YAML::Node& item : n) {
          Result<YamlNode> child = Build(item, file, depth + 1);
          if (!child.ok()) return child.error();
          out.items_.push_back(std::move(child).value());
        }
        break;
      case YAML::NodeType::Map:
        out.kind_ = YamlNode::Kind::kMap;
        for (const auto& kv : n) {
          Result<YamlNode> key = Build(kv.first, file, depth + 1);
          if (!key.ok()) return key.error();
          Result<YamlNode> value = Build(kv.second, file, depth + 1);
          if (!value.ok()) return value.error();
          out.entries_.push_back(YamlNode::Entry{std::move(key).value(), std::move(value).value()});
        }
        break;
      default:  // null or undefined
        out.kind_ = YamlNode::Kind::kNull;
        break;
    }
    return out;
  }
};

Result<YamlNode> ReadYamlTree(std::string_view text, std::string_view file) {
  Result<YAML::Node> root = ReadYamlDocument(text, file);
  if (!root.ok()) return root.error();
  try {
    return YamlTreeBuilder::Build(*root, file);
  } catch (const std::exception& e) {
    return Error::Invalid(std::string(file) + ": invalid YAML: " + e.what());
  }
}

std::string YamlWhere(std::string_view file, const YamlNode& node) {
  std::string s(file);
  if (node.line() > 0) s += ":" + std::to_string(node.line()) + ":" + std::to_string(node.column());
  return s + ": ";
}

boost::json::value YamlScalarJson(const YamlNode& scalar) {
  const std::string& s = scalar.Scalar();
  if (scalar.Quoted()) return boost::json::string(s);
  if (s == "true") return true;
  if (s == "false") return false;
  // A number only when the whole text reads as one and starts like one: `inf`, `nan`,
  // `0x10` and `+1` stay strings.
  const bool numeric =
      !s.empty() &&
      (std::isdigit(static_cast<unsigned char>(s[0])) ||
       (s[0] == '-' && s.size() > 1 && std::isdigit(static_cast<unsigned char>(s[1]))));
  if (numeric) {
    const char* end = s.data() + s.size();
    int64_t i = 0;
    if (auto [p, ec] = std::from_chars(s.data(), end, i); ec == std::errc() && p == end) return i;
    double d = 0;
    if (auto [p, ec] = std::from_chars(s.data(), end, d); ec == std::errc() && p == end) return d;
  }
  return boost::json::string(s);
}

Result<boost::json::value> YamlToJson(const YamlNode& node, std::string_view file) {
  switch (node.kind()) {
    case YamlNode::Kind::kNull:
      return boost::json::value(nullptr);
    case YamlNode::Kind::kScalar:
      return YamlScalarJson(node);
    case YamlNode::Kind::kSequence: {
      boost::json::array a;
      for (const YamlNode& item : node.items()) {
        Result<boost::json::value> v = YamlToJson(item, file);
        if (!v.ok()) return v.error();
        a.push_back(std::move(*v));
      }
      return boost::json::value(std::move(a));
    }
    case YamlNode::Kind::kMap: {
      boost::json::object o;
      for (const YamlNode::Entry& e : node.entries()) {
        if (!e.first.IsScalar())
          return Error::Invalid(YamlWhere(file, e.first) + "a key must be a scalar");
        Result<boost::json::value> v = YamlToJson(e.second, file);
        if (!v.ok()) return v.error();
        o[e.first.Scalar()] = std::move(*v);
      }
      return boost::json::value(std::move(o));
    }
  }
  return boost::json::value(nullptr);
}

}  // namespace interlock
