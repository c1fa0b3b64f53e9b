#include "mcp/request_headers.h"

#include <boost/json.hpp>

namespace interlock::mcp {

Status CheckRequestHeaders(const RequestHeaders& headers, const Message& msg, bool modern) {
  const McpBodyKind kind = msg.kind == MessageKind::kRequest        ? McpBodyKind::kRequest
                           : msg.kind == MessageKind::kNotification ? McpBodyKind::kNotification
                                                                    : McpBodyKind::kOther;
  static const boost::json::object kNone;
  const boost::json::object& body = msg.doc.is_object() ? msg.doc.get_object() : kNone;
  return CheckMcpRequestHeaders(headers, kind, msg.method, body, modern);
}

}  // namespace interlock::mcp
