// ToolCatalog: the MCP server's tools as the Gateway last listed them (tools/list), and what
// the agent may see of them (ToolViewSource). A page of the server's tools/list is read once
// (ReadPage: each tool's compiled inputSchema and outputSchema, its pin, its annotation
// labels, its x-mcp-header declarations, whether the client is shown it) and filtered in
// place for the client; the pages of one listing become the catalog when the last arrives
// (AddPage). The Gateway asks it about a tool it decides, checks or denies (Find).
// Thread-safety: ToolViewSource, any thread. ReadPage is a static function that asks the
// view and the pins (it may block) and holds no lock. A ToolCatalog is not synchronized:
// its owner (the Gateway) calls it with its own lock (Gateway::mu_) held, because whether
// a listing is in flight (StartLoad, StopLoading) changes in the same hold as the request
// at the server (Gateway::pending_) and the upstream's end (Gateway::OnUpstreamClosed);
// the owner also keeps the condition variable its waiters wait on.
#ifndef INTERLOCK_MCP_GATEWAY_CATALOG_H_
#define INTERLOCK_MCP_GATEWAY_CATALOG_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/result.h"
#include "mcp/json_schema.h"
#include "mcp/pins.h"

namespace interlock::mcp {

// What the agent may see of the MCP server's tools (engine::ViewTool): the gateway asks
// for every tools/list page and for a result's structuredContent. Implementations:
// PolicyToolView (a local PolicySource; standalone and in-daemon) and DaemonEnforcer (the
// daemon's POST /v1/tools/view, so `interlock mcp --daemon` needs no policy file).
// Thread-safety: any thread.
class ToolViewSource {
 public:
  struct Entry {
    bool visible = false;
    std::optional<std::vector<std::string>> scope;
  };
  using View = std::map<std::string, Entry, std::less<>>;
  virtual ~ToolViewSource() = default;
  // The view of each of `tools`; a tool missing from the answer is not visible. An error
  // (daemon unreachable, ...) means nothing is visible (the gateway fails closed).
  virtual Result<View> ViewTools(const std::vector<std::string>& tools) = 0;
};

class ToolCatalog {
 public:
  // One tool as the server defined it, read once.
  struct Entry {
    boost::json::value definition;
    // Unset when inputSchema is absent; one the gateway cannot read: `false` (no arguments).
    std::optional<JsonSchema> schema;
    bool shown = false;  // in the tools/list the client received
    bool has_output_schema = false;
    std::optional<JsonSchema> output_schema;  // unset when absent or unusable
    bool pin_ok = false;                      // false: changed definition or pin store error
    std::vector<std::string> labels;          // AnnotationLabels(definition)
    // Why its x-mcp-header declarations are invalid (param_headers.h): not shown, calls
    // refused. Empty: valid or none.
    std::string param_headers_invalid;
  };
  // The tools of one tools/list page, in the server's order, shown or not.
  struct Page {
    std::vector<std::pair<std::string, Entry>> tools;
    bool last = true;  // no nextCursor: the listing ends with it
  };

  // Reads the page `result` (a tools/list result) and filters it in place: the client keeps
  // only the tools the agent's view (`view`, asked once for the page's names) shows whose
  // pin (`pins`, for `agent_id`) holds and whose x-mcp-header declarations are valid. Fail
  // closed: without the view no tool is shown; a tool without a string name is dropped.
  // Nullopt when the result holds no `tools` array (then nothing changes). No lock held.
  static std::optional<Page> ReadPage(boost::json::object& result, ToolViewSource& view,
                                      PinStore& pins, const std::string& agent_id);

  // The rest: with the owner's lock held.
  // The tool `tool` of the last complete listing, or null (the pointer is good while the
  // owner's lock is held and nothing else changes the catalog).
  const Entry* Find(std::string_view tool) const;
  // Whether the last listing completed and no list_changed came since.
  bool complete() const { return complete_; }
  // A listing by the gateway itself is in flight.
  bool loading() const { return loading_; }
  // True: no listing was in flight and the caller sends one now (loading from here on).
  bool StartLoad();
  // The gateway's listing ended (its last page, an error, the upstream gone).
  void StopLoading() { loading_ = false; }
  // The server's tools changed (notifications/tools/list_changed): the next call lists again.
  void MarkStale() { complete_ = false; }
  // Adds a page read by ReadPage (the first page of a listing starts afresh); true when it
  // was the last, and the listing is now the catalog (the owner wakes its waiters).
  bool AddPage(Page page, bool first_page);

 private:
  std::map<std::string, Entry, std::less<>> tools_;
  std::map<std::string, Entry, std::less<>> next_;  // the listing being read
  bool complete_ = false;
  bool loading_ = false;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_GATEWAY_CATALOG_H_
