// Staging upstreams for rehearsals (docs/mcp.md#rehearsal): `rehearse: {upstream: NAME}`
// sends a rehearsal to the MCP server configured under NAME (`interlock mcp
// --rehearse-upstream NAME=COMMAND`, or an upstream of the daemon's config) instead of the
// gateway's own. The server is reached like any other (a stdio child or Streamable HTTP,
// ServerSpec), through one client session opened on the first rehearsal and kept, so the
// staging server keeps its state between rehearsals; a session that failed or timed out is
// closed and opened again for the next one. Rehearsals to one staging server run one at a
// time. Thread-safety: any thread.
#ifndef INTERLOCK_MCP_STAGING_H_
#define INTERLOCK_MCP_STAGING_H_

#include <memory>

#include "mcp/gateway.h"
#include "mcp/tool_catalog.h"

namespace interlock::mcp {

std::unique_ptr<RehearsalUpstream> MakeStagingUpstream(ServerSpec spec);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_STAGING_H_
