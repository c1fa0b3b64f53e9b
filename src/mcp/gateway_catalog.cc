// ToolCatalog (gateway_catalog.h): a tools/list page read and filtered, the pages of a
// listing kept.
#include "mcp/gateway_catalog.h"

#include <utility>

#include <boost/json.hpp>

#include "mcp/gateway_internal.h"
#include "mcp/param_headers.h"
#include "mcp/tool_catalog.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::Log;

namespace {

// One tool of a page as the catalog keeps it; `shown` is left for the caller (the view).
ToolCatalog::Entry ReadCatalogEntry(const std::string& tool_name, const json::value& t,
                                    PinStore& pins, const std::string& agent_id) {
  ToolCatalog::Entry e;
  e.definition = t;
  if (const json::value* s = t.get_object().if_contains("inputSchema")) {
    if (auto compiled = JsonSchema::Compile(*s); compiled.ok()) {
      e.schema = std::move(compiled).value();
    } else {
      // An input schema the gateway cannot read: accept no arguments rather than any.
      e.schema = JsonSchema::Compile(json::value(false)).value();
    }
  }
  if (const json::value* s = t.get_object().if_contains("outputSchema")) {
    e.has_output_schema = true;
    if (auto compiled = JsonSchema::Compile(*s); compiled.ok()) {
      e.output_schema = std::move(compiled).value();
    }
  }
  auto pin = pins.Check(agent_id, tool_name, t);
  if (!pin.ok()) {
    Log(pin.error().message);
  } else if (*pin == PinState::kChanged) {
    Log("tool " + tool_name +
        " changed since it was pinned; hidden and blocked until `interlock mcp pins accept`");
  }
  e.pin_ok = pin.ok() && *pin != PinState::kChanged;
  e.labels = AnnotationLabels(t);
  if (const json::value* s = t.get_object().if_contains("inputSchema")) {
    if (auto marked = ParamHeadersOf(*s); !marked.ok()) {
      // A client over HTTP must not offer it (streamable-http#schema-extension): its
      // Mcp-Param-* headers could not be made or checked.
      e.param_headers_invalid = marked.error().message;
      Log("tool " + tool_name + " hidden and blocked: " + e.param_headers_invalid);
    }
  }
  return e;
}

}  // namespace

std::optional<ToolCatalog::Page> ToolCatalog::ReadPage(json::object& result,
                                                       ToolViewSource& view_source, PinStore& pins,
                                                       const std::string& agent_id) {
  json::value* tools = result.if_contains("tools");
  if (tools == nullptr || !tools->is_array()) return std::nullopt;
  std::vector<std::string> names;
  for (const json::value& t : tools->get_array()) {
    const json::value* name = t.is_object() ? t.get_object().if_contains("name") : nullptr;
    if (name != nullptr && name->is_string()) names.emplace_back(name->get_string());
  }
  // Fail closed: without the agent's view no tool is shown.
  Result<ToolViewSource::View> view = view_source.ViewTools(names);
  if (!view.ok()) Log("no tool is shown: the agent's tool view failed: " + view.error().message);
  auto visible = [&view](const std::string& n) {
    if (!view.ok()) return false;
    auto it = view->find(n);
    return it != view->end() && it->second.visible;
  };
  Page page;
  json::array kept;
  for (json::value& t : tools->get_array()) {
    const json::value* name = t.is_object() ? t.get_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) continue;  // malformed: never shown
    std::string tool_name(name->get_string());
    Entry e = ReadCatalogEntry(tool_name, t, pins, agent_id);
    e.shown = e.pin_ok && e.param_headers_invalid.empty() && visible(tool_name);
    if (e.shown) kept.push_back(t);
    page.tools.emplace_back(std::move(tool_name), std::move(e));
  }
  *tools = std::move(kept);
  const json::value* cursor = result.if_contains("nextCursor");
  page.last = cursor == nullptr || cursor->is_null();
  return page;
}

const ToolCatalog::Entry* ToolCatalog::Find(std::string_view tool) const {
  auto it = tools_.find(tool);
  return it == tools_.end() ? nullptr : &it->second;
}

bool ToolCatalog::StartLoad() {
  if (loading_) return false;
  loading_ = true;
  return true;
}

bool ToolCatalog::AddPage(Page page, bool first_page) {
  if (first_page) next_.clear();
  for (auto& [name, entry] : page.tools) next_[name] = std::move(entry);
  if (!page.last) return false;
  tools_ = std::move(next_);
  next_.clear();
  complete_ = true;
  return true;
}

}  // namespace interlock::mcp
