#include "policy/writer.h"

#include <algorithm>
#include <exception>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "policy/yaml_reader.h"

namespace interlock::policy {
namespace {

void Emit(YAML::Emitter& out, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      if (n.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& kv : n) {
        out << YAML::Key;
        Emit(out, kv.first);
        out << YAML::Value;
        Emit(out, kv.second);
      }
      out << YAML::EndMap;
      break;
    case YAML::NodeType::Sequence:
      if (n.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& e : n) Emit(out, e);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar:
      // "!" is the non-specific tag of a quoted scalar: keep it a string.
      if (n.Tag() == "!") out << YAML::DoubleQuoted;
      out << n.Scalar();
      break;
    default:
      out << YAML::Null;
  }
}

std::string ItemName(const YAML::Node& item) {
  if (item.IsScalar()) return item.Scalar();
  if (item.IsMap() && item["name"] && item["name"].IsScalar()) return item["name"].Scalar();
  return {};
}

YAML::Node FindTool(YAML::Node allowed, const std::string& name) {
  for (YAML::Node item : allowed) {
    if (ItemName(item) == name && item.IsMap()) return item;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// A new sequence of `seq` without the elements `drop` selects, same style.
template <typename Drop>
YAML::Node Filter(const YAML::Node& seq, Drop drop) {
  YAML::Node out(YAML::NodeType::Sequence);
  out.SetStyle(seq.Style());
  size_t i = 0;
  for (const YAML::Node& e : seq) {
    if (!drop(e, i)) out.push_back(e);
    ++i;
  }
  return out;
}

std::string Decimal(int64_t value, int64_t scale, int digits) {
  std::string frac = std::to_string(value % scale);
  frac.insert(0, static_cast<size_t>(digits) - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return std::to_string(value / scale) + "." + frac;
}

}  // namespace

Result<std::string> ApplyPolicyEdits(std::string_view yaml, const PolicyEdits& edits) {
  try {
    Result<YAML::Node> read = ReadYamlDocument(yaml, "the policy");
    if (!read.ok()) return read.error();
    YAML::Node root = std::move(*read);
    if (!root.IsMap()) return Error::Invalid("the policy is not a mapping");
    YAML::Node tools = root["tools"];
    YAML::Node allowed = tools ? tools["allowed"] : YAML::Node();
    if (allowed && allowed.IsSequence()) {
      for (const auto& rv : edits.remove_values) {
        YAML::Node item = FindTool(allowed, rv.tool);
        if (!item || !item["constraints"]) continue;
        YAML::Node list;
        const std::string marker = ".constraints.allowed_";
        if (auto p = rv.rule.find(marker); p != std::string::npos) {
          list = item["constraints"][rv.rule.substr(p + std::string(".constraints.").size())];
        } else if (item["constraints"]["arguments"] &&
                   item["constraints"]["arguments"][rv.argument]) {
          list = item["constraints"]["arguments"][rv.argument]["one_of"];
        }
        if (!list || !list.IsSequence()) continue;
        const std::set<size_t> drop(rv.indices.begin(), rv.indices.end());
        YAML::Node kept = Filter(list, [&](const YAML::Node&, size_t i) { return drop.count(i); });
        if (kept.size() == 0) continue;  // an empty list would not load; keep it
        list = kept;
      }
      for (const auto& entry : edits.remove_scope_fields) {
        // Not a structured binding: clang 14 (the fuzz build) cannot capture those.
        const std::string& tool = entry.first;
        const auto& fields = entry.second;
        YAML::Node item = FindTool(allowed, tool);
        if (!item || !item["scope"] || !item["scope"].IsSequence()) continue;
        item["scope"] = Filter(item["scope"], [&](const YAML::Node& e, size_t) {
          return e.IsScalar() &&
                 std::find(fields.begin(), fields.end(), e.Scalar()) != fields.end();
        });
      }
      if (!edits.remove_tools.empty()) {
        tools["allowed"] = Filter(allowed, [&](const YAML::Node& e, size_t) {
          const std::string name = ItemName(e);
          return std::find(edits.remove_tools.begin(), edits.remove_tools.end(), name) !=
                 edits.remove_tools.end();
        });
      }
    }
    const bool budgets = edits.max_steps || edits.max_tokens_per_run || edits.max_wall_clock_ms ||
                         edits.max_cost_micros;
    if (budgets) {
      YAML::Node ex = root["execution"];
      if (edits.max_steps) ex["max_steps"] = std::to_string(*edits.max_steps);
      if (edits.max_tokens_per_run) {
        ex["max_tokens_per_run"] = std::to_string(*edits.max_tokens_per_run);
      }
      if (edits.max_wall_clock_ms) {
        ex["max_wall_clock_seconds"] = *edits.max_wall_clock_ms % 1000 == 0
                                           ? std::to_string(*edits.max_wall_clock_ms / 1000)
                                           : Decimal(*edits.max_wall_clock_ms, 1000, 3);
      }
      if (edits.max_cost_micros) {
        ex["max_cost_usd"] = Decimal(*edits.max_cost_micros, 1000000, 6);
      }
    }
    YAML::Emitter out;
    out.SetIndent(2);
    Emit(out, root);
    if (!out.good()) return Error::Internal("cannot write YAML: " + out.GetLastError());
    std::string text;
    std::istringstream lines(edits.header_comment);
    for (std::string l; std::getline(lines, l);) text += "# " + l + "\n";
    text += out.c_str();
    text += "\n";
    return text;
  } catch (const std::exception& e) {
    return Error::Invalid(std::string("cannot edit the policy: ") + e.what());
  }
}

}  // namespace interlock::policy
