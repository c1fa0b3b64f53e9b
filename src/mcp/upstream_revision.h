// Upstream revisions: what the gateway needs to speak to an MCP server of the 2026-07-28
// revision ("modern": no initialize, every request carries its protocol version and the
// client's capabilities in `_meta`) as well as to one of 2025-11-25 and earlier ("legacy":
// the initialize handshake). docs/mcp.md#revisions.
//
// The gateway learns the upstream's era once per upstream (a stdio process, an HTTP
// session) with the probe the specification gives (basic/versioning#backward-compatibility):
// `server/discover` with the modern version in `_meta`. A DiscoverResult naming 2026-07-28
// is a modern server; an UnsupportedProtocolVersionError (-32022) naming a legacy revision
// the gateway speaks is a dual-era server taken as legacy; one naming none is a modern server
// the gateway cannot speak to (its error is passed to the client as it came); any other
// error, or no answer within the bound, is a legacy server.
//
// Pure functions of JSON values; no I/O, no state. Thread-safe.
#ifndef INTERLOCK_MCP_UPSTREAM_REVISION_H_
#define INTERLOCK_MCP_UPSTREAM_REVISION_H_

#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "mcp/revision.h"

namespace interlock::mcp {

// The revision names the server side needs as constants (revision.h names them all;
// the _meta keys and error codes are revision.h's).
inline constexpr std::string_view kModernRevision = "2026-07-28";
inline constexpr std::string_view kLatestLegacyRevision = "2025-11-25";

// A legacy revision the gateway speaks to clients and servers (initialize era).
bool IsLegacyRevision(std::string_view version);

enum class UpstreamEra { kUnknown, kLegacy, kModern };

// What the answer to the gateway's server/discover probe says about the server.
struct ProbeVerdict {
  enum class Kind {
    kModern,       // speaks 2026-07-28: no initialize, stamp every request
    kLegacy,       // fall back to initialize
    kUnsupported,  // modern, but not 2026-07-28 and no legacy revision: `error` says so
  } kind = Kind::kLegacy;
  boost::json::object error;  // kUnsupported: the server's own error object, as it came
};

// `response`: the server's JSON-RPC response to the probe, or null when none came in time.
ProbeVerdict ClassifyDiscoverResponse(const boost::json::value& response);

// The probe itself: server/discover with `id`, the modern version and the client's
// capabilities and identity (`client_info` may be null: Interlock's own is sent).
boost::json::object DiscoverRequest(const boost::json::value& id,
                                    const boost::json::object& client_capabilities,
                                    const boost::json::value& client_info);

// Adds the per-request `_meta` a modern server requires (protocol version, client
// capabilities, client info) to the request `request`, keeping values the request already
// carries. A request without params gets them.
void StampModernMeta(boost::json::object& request, const boost::json::object& client_capabilities,
                     const boost::json::value& client_info);

// The capabilities of a legacy client as a modern server is told them: as declared, less the
// 2025 tasks capability (tasks are not created through Interlock). What the server then asks
// with input_required (elicitation, sampling, roots) the gateway puts to the client as the
// server-to-client requests the client knows (gateway.h).
boost::json::object ModernCapabilitiesOfLegacyClient(const boost::json::object& capabilities);

// The InitializeResult a legacy client gets from a modern server's DiscoverResult:
// protocolVersion `client_version` when the gateway speaks it (else the latest legacy one),
// the server's capabilities (without the tasks extension, see gateway.h), serverInfo from
// `_meta` (a placeholder when absent) and instructions.
boost::json::object InitializeResultFromDiscover(const boost::json::object& discover_result,
                                                 std::string_view client_version);

// Removes the fields of a modern result a legacy client does not know (resultType, ttlMs,
// cacheScope) from `result`; `result` must not be input_required (see IsInputRequired).
void ToLegacyResult(boost::json::object& result);

// resultType "input_required": the server asks the client for input (multi round-trip).
bool IsInputRequired(const boost::json::object& result);

// resultType "task": the server turned the request into a task (io.modelcontextprotocol/tasks).
bool IsTaskResult(const boost::json::object& result);

// The tasks extension's identifier (io.modelcontextprotocol/tasks; docs/mcp.md#tasks).
inline constexpr char kTasksExtension[] = "io.modelcontextprotocol/tasks";

// Whether the 2026-07-28 request `request` declares the tasks extension in its `_meta`
// client capabilities (`extensions["io.modelcontextprotocol/tasks"]`, an object).
bool DeclaresTasksExtension(const boost::json::object& request);

// Removes the tasks extension (and the 2025 `tasks` capability) from the client capabilities
// in `request`'s `_meta`. Applied to every request the gateway sends a modern server except
// a 2026-07-28 client's own tools/call and tasks/* (docs/mcp.md#tasks): a server is told the
// client follows tasks only where the gateway follows them too, so a task's result never
// comes back past the gateway's result handling.
void WithoutTasksExtension(boost::json::object& request);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_UPSTREAM_REVISION_H_
