// MCP protocol revisions as the client side of the gateway sees them.
//
// Legacy revisions (2025-11-25 and earlier) agree on a version once, with `initialize`;
// the modern revision 2026-07-28 has no handshake: every request names its version and
// the client's capabilities in params._meta ("io.modelcontextprotocol/protocolVersion",
// "io.modelcontextprotocol/clientCapabilities"; basic/versioning in the specification).
// This header is the one place that knows the revision names, which of them Interlock
// serves to clients, the _meta keys and the error codes the modern revision adds, so the
// doors (stdio, Streamable HTTP) and the gateway read a request's revision the same way.
// Nothing here is a decision: a revision says how to talk to the client, never who the
// agent is or which run a call belongs to.
// Thread-safety: free functions, no state.
#ifndef INTERLOCK_MCP_REVISION_H_
#define INTERLOCK_MCP_REVISION_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace interlock::mcp {

// How long a retry of a held call (the modern revision's input_required round trips,
// docs/mcp.md#approvals-over-mrtr) waits for the reviewers' verdict before it is answered
// input_required again: under the SDKs' 60 s request timeout. The bounds and default of
// `interlock mcp --approval-retry-wait` and of mcp.approval_retry_wait_seconds.
inline constexpr int kMinRetryWaitSeconds = 1;
inline constexpr int kMaxRetryWaitSeconds = 55;
inline constexpr int kDefaultRetryWaitSeconds = 20;

// Ordered oldest to newest (comparisons mean "older than").
enum class McpRevision { k2024_11_05, k2025_03_26, k2025_06_18, k2025_11_25, k2026_07_28 };

// "2026-07-28" -> k2026_07_28; nullopt for any other string (exact match, no trimming).
std::optional<McpRevision> ParseRevision(std::string_view text);
std::string_view RevisionName(McpRevision r);

// A modern revision: version and capabilities per request, no initialize, no session.
inline bool IsModern(McpRevision r) { return r >= McpRevision::k2026_07_28; }

// The revisions the gateway serves to clients, newest first (server/discover's
// supportedVersions, an UnsupportedProtocolVersion error's data.supported). 2025-03-26
// and 2024-11-05 are accepted in the HTTP header of legacy sessions for old clients but
// are not advertised.
std::span<const McpRevision> SupportedRevisions();
boost::json::array SupportedVersionsJson();
// `version` names one of SupportedRevisions() / a modern revision (exact match).
bool ServedVersion(std::string_view version);
bool ModernVersion(std::string_view version);

// The _meta keys of the modern revision (basic/index#meta).
inline constexpr std::string_view kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kMetaClientCapabilities =
    "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
// The subscriptions/listen request a notification belongs to (basic/patterns/subscriptions).
inline constexpr std::string_view kMetaSubscriptionId = "io.modelcontextprotocol/subscriptionId";

// The error codes the modern revision reserves (basic/index#error-codes).
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingRequiredClientCapability = -32021;
inline constexpr int kUnsupportedProtocolVersion = -32022;

// A message's params._meta, when params and _meta are both objects (else null): where
// every revision carries its per-request keys (progress token, version, subscription).
const boost::json::object* MetaOf(const boost::json::object& message);
boost::json::object* MetaOf(boost::json::object& message);

// The protocol version a request names in params._meta, as sent (nullopt: none, or not a
// string). A present but unknown version is returned too: the caller answers it
// kUnsupportedProtocolVersion.
std::optional<std::string> MetaProtocolVersion(const boost::json::object& request);

// The revision a request is sent under: the modern revision its _meta names, else
// k2025_11_25 (a legacy request, governed by its session's initialize; the caller knows
// which legacy version was negotiated). An unknown version in _meta reads as legacy here;
// callers that must refuse it check MetaProtocolVersion first.
McpRevision ClientRevisionOf(const boost::json::object& request);

// The client capabilities a modern request declares in params._meta (nullptr: none).
const boost::json::object* MetaClientCapabilities(const boost::json::object& request);

// {"jsonrpc":"2.0","id":id,"error":{"code":-32022,"message":"Unsupported protocol
// version","data":{"supported":[...],"requested":requested}}}; `requested` is capped.
boost::json::object UnsupportedVersionError(const boost::json::value& id,
                                            std::string_view requested);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_REVISION_H_
