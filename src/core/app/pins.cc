#include "core/app/pins.h"

#include <algorithm>
#include <chrono>
#include <span>

#include <boost/json.hpp>

#include "audit/audit_event.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/time.h"

namespace interlock::core {

namespace json = boost::json;

namespace {

constexpr std::string_view kPinAccepted = "pin_accepted";
// Beyond this many lines a side, DefinitionDiff shows both sides whole (the LCS table
// would be too large); tool definitions are far smaller.
constexpr size_t kMaxDiffLines = 4000;

// The hash pins had before outputSchema was part of the definition (migration only).
std::string LegacyHash(const json::value& tool) {
  json::object def;
  if (tool.is_object()) {
    for (const char* key : {"name", "description", "inputSchema"}) {
      if (const json::value* v = tool.get_object().if_contains(key)) def[key] = *v;
    }
  }
  return Sha256Hex(CanonicalJson(def));
}

std::string Now() { return FormatRfc3339(std::chrono::system_clock::now()); }

void PrettyInto(const json::value& v, int indent, std::string* out) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<size_t>(indent + 1) * 2, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out->append("{\n");
    bool first = true;
    for (const auto& kv : v.get_object()) {
      if (!first) out->append(",\n");
      first = false;
      out->append(inner + json::serialize(json::value(kv.key())) + ": ");
      PrettyInto(kv.value(), indent + 1, out);
    }
    out->append("\n" + pad + "}");
  } else if (v.is_array() && !v.get_array().empty()) {
    out->append("[\n");
    bool first = true;
    for (const json::value& e : v.get_array()) {
      if (!first) out->append(",\n");
      first = false;
      out->append(inner);
      PrettyInto(e, indent + 1, out);
    }
    out->append("\n" + pad + "]");
  } else {
    out->append(json::serialize(v));
  }
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

}  // namespace

json::object PinnedDefinition(const json::value& tool) {
  json::object def;
  if (tool.is_object()) {
    for (const char* key : {"name", "description", "inputSchema", "outputSchema"}) {
      if (const json::value* v = tool.get_object().if_contains(key)) def[key] = *v;
    }
  }
  return def;
}

std::string ToolDefinitionHash(const json::value& tool) {
  return Sha256Hex(CanonicalJson(PinnedDefinition(tool)));
}

std::string PrettyJson(std::string_view text) {
  auto v = ParseJsonStrict(text, JsonLimits{8 << 20, 256});
  if (!v.ok()) return std::string(text);
  std::string out;
  PrettyInto(*v, 0, &out);
  return out;
}

std::string DefinitionDiff(std::string_view before, std::string_view after) {
  const std::string a_text = before.empty() ? std::string() : PrettyJson(before);
  const std::string b_text = after.empty() ? std::string() : PrettyJson(after);
  const std::vector<std::string_view> a = Lines(a_text), b = Lines(b_text);
  std::string out;
  auto emit = [&out](std::string_view mark, std::string_view line) {
    out.append(mark);
    out.append(line);
    out.push_back('\n');
  };
  if (a.size() > kMaxDiffLines || b.size() > kMaxDiffLines) {
    for (std::string_view l : a) emit("- ", l);
    for (std::string_view l : b) emit("+ ", l);
    return out;
  }
  // Longest common subsequence of lines, then a walk that prints it in order.
  const size_t n = a.size(), m = b.size();
  std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      emit("  ", a[i]);
      ++i;
      ++j;
    } else if (j < m && (i == n || at(i, j + 1) >= at(i + 1, j))) {
      emit("+ ", b[j++]);
    } else {
      emit("- ", a[i++]);
    }
  }
  return out;
}

PinOutcome DecidePin(const std::optional<PinRow>& row, std::string_view agent_id,
                     std::string_view tool_name, const json::value& tool, std::string_view now) {
  const std::string definition = CanonicalJson(PinnedDefinition(tool));
  const std::string sha256 = Sha256Hex(definition);
  PinOutcome out;
  if (!row) {
    out.state = PinState::kNew;
    out.write = PinRow{std::string(agent_id),
                       std::string(tool_name),
                       sha256,
                       std::string(now),
                       definition,
                       "",
                       "",
                       ""};
    return out;
  }
  // A pin made before definitions were kept matches its legacy hash: re-pin the same
  // definition under the current hash and keep its text.
  const bool same =
      row->sha256 == sha256 || (row->definition.empty() && row->sha256 == LegacyHash(tool));
  if (same) {
    out.state = PinState::kMatch;
    // The server went back to the pinned definition: nothing is pending any more.
    if (!row->changed_sha256.empty() || row->definition.empty() || row->sha256 != sha256) {
      PinRow w = *row;
      w.sha256 = sha256;
      w.definition = definition;
      w.changed_sha256.clear();
      w.changed_at.clear();
      w.changed_definition.clear();
      out.write = std::move(w);
    }
    return out;
  }
  out.state = PinState::kChanged;
  if (row->changed_sha256 != sha256) {
    PinRow w = *row;
    w.changed_sha256 = sha256;
    w.changed_at = std::string(now);
    w.changed_definition = definition;
    out.write = std::move(w);
  }
  return out;
}

Result<PinState> Pins::Check(std::string_view agent_id, std::string_view tool_name,
                             const json::value& tool) {
  // One answer on every backend (libpq would cut such a name at the NUL and read another
  // tool's pin): the tool stays hidden, as on any other Check error.
  if (agent_id.find('\0') != std::string_view::npos ||
      tool_name.find('\0') != std::string_view::npos) {
    return Error::Invalid("tool pins: an agent id or tool name with a NUL byte");
  }
  const std::string now = Now();
  // The common case (a pinned tool the server shows unchanged) needs no write, so no
  // transaction: on PostgreSQL that keeps tools/list off the fleet's writer lock.
  Result<std::optional<PinRow>> current = rows_->Get(agent_id, tool_name);
  if (!current.ok()) return current.error();
  PinOutcome seen = DecidePin(*current, agent_id, tool_name, tool, now);
  if (!seen.write) return seen.state;
  PinState state = seen.state;
  PinSelect select{std::string(agent_id), std::string(tool_name), false};
  Status s = rows_->Update(select, [&](const std::vector<PinRow>& rows) -> Result<PinWrite> {
    std::optional<PinRow> locked;
    for (const PinRow& r : rows) {
      if (r.agent_id == agent_id && r.tool == tool_name) locked = r;
    }
    PinOutcome o = DecidePin(locked, agent_id, tool_name, tool, now);
    state = o.state;
    PinWrite w;
    if (o.write) w.rows.push_back(std::move(*o.write));
    return w;
  });
  if (!s.ok()) return s.error();
  return state;
}

Result<std::vector<PinRow>> Pins::List() { return rows_->List(); }

Result<int> Pins::Accept(std::string_view tool, std::string_view by,
                         std::string_view reviewed_sha256) {
  const TimePoint now = std::chrono::system_clock::now();
  int accepted = 0;
  PinSelect select{"", std::string(tool), true};
  Status s = rows_->Update(select, [&](const std::vector<PinRow>& rows) -> Result<PinWrite> {
    PinWrite w;
    for (const PinRow& r : rows) {
      if (r.changed_sha256.empty() || (!tool.empty() && r.tool != tool)) continue;
      // Checked in the transaction that accepts: a definition that changed again since
      // it was reviewed is never accepted in its place.
      if (!reviewed_sha256.empty() && r.changed_sha256 != reviewed_sha256) {
        return Error::Invalid(
            "tool " + r.tool + " (agent " + r.agent_id +
            "): the pending definition is now sha256 " + r.changed_sha256 + " (changed at " +
            r.changed_at + "), not the reviewed " + std::string(reviewed_sha256) +
            "; nothing accepted: review it again (interlock mcp pins show " + r.tool + ")");
      }
      w.events.push_back(audit::AuditEvent{kPinAccepted, now, "", "", r.agent_id, std::string(by),
                                           json::object{{"agent_id", r.agent_id},
                                                        {"tool", r.tool},
                                                        {"from_sha256", r.sha256},
                                                        {"to_sha256", r.changed_sha256},
                                                        {"by", by}}});
      PinRow p = r;
      p.sha256 = r.changed_sha256;
      p.definition = r.changed_definition;
      p.changed_sha256.clear();
      p.changed_at.clear();
      p.changed_definition.clear();
      w.rows.push_back(std::move(p));
    }
    accepted = static_cast<int>(w.rows.size());
    return w;
  });
  if (!s.ok()) return s.error();
  return accepted;
}

}  // namespace interlock::core
