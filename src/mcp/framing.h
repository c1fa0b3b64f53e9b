// JSON-RPC 2.0 framing for MCP's stdio transport: one message per line, UTF-8, no
// embedded newlines (MCP 2025-06-18 and 2025-11-25, "Transports / stdio").
//
// Every message is parsed strictly (common/json.h: duplicate keys, depth, size, invalid
// UTF-8 are errors) before the gateway looks at it, so the gateway and the upstream can
// never read two different messages out of one line. Batches (top-level arrays) were
// removed from MCP in 2025-06-18; both versions Interlock speaks reject them, so a batch
// is classified kBatch and answered with an Invalid Request error by the gateway.
// Thread-safety: free functions are safe anywhere; a LineReader belongs to one thread.
#ifndef INTERLOCK_MCP_FRAMING_H_
#define INTERLOCK_MCP_FRAMING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/fd_lines.h"
#include "interlock/result.h"

namespace interlock::mcp {

// JSON-RPC error codes used by the gateway.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

// Lines longer than these are rejected (consumed whole, never half-forwarded).
inline constexpr size_t kMaxClientMessageBytes = 4 << 20;   // 4 MiB
inline constexpr size_t kMaxServerMessageBytes = 32 << 20;  // 32 MiB (file contents)
inline constexpr size_t kMaxMessageDepth = 128;

enum class MessageKind { kRequest, kNotification, kResponse, kBatch };

struct Message {
  MessageKind kind = MessageKind::kRequest;
  boost::json::value doc;  // the whole parsed message
  // For requests and notifications: doc["method"]. For requests and responses: doc["id"]
  // (a string or a number; null only for error responses to unparseable requests).
  std::string method;
  boost::json::value id;
};

// The largest integer id accepted (2^53 - 1, and its negative): every integer up to it is
// exactly a JavaScript number, so no SDK on either side can round one id into another.
inline constexpr int64_t kMaxExactId = (int64_t{1} << 53) - 1;

// Parses and classifies one line (without its '\n'). Errors are kInvalidArgument whose
// message says why; *rpc_code (when given) is set to the JSON-RPC code to answer with:
// kParseError for a line that is not JSON, kInvalidRequest for JSON that is not a valid
// JSON-RPC 2.0 message. An "id" must be a string or an integer within +-kMaxExactId
// (a fraction, an exponent, or a larger integer is kInvalidRequest).
Result<Message> ParseMessage(std::string_view line, size_t max_bytes, int* rpc_code = nullptr);

// The methods of the MCP specification (2025-06-18 and 2025-11-25, tasks/* included) by
// direction: what a client may send a server and what a server may send a client. The
// gateway forwards exactly these (plus GatewayOptions::forward_methods); see docs/mcp.md.
bool IsClientRequestMethod(std::string_view method);
bool IsClientNotificationMethod(std::string_view method);
bool IsServerRequestMethod(std::string_view method);
bool IsServerNotificationMethod(std::string_view method);

// True when a lenient server could take `method` for tools/call: once ASCII letters are
// lower-cased, fullwidth letters and digits mapped to ASCII and every other character
// dropped (whitespace, invisible and format characters, separators), it reads
// "toolscall". Holds for "tools/call" itself, "Tools/Call", " tools/call",
// "tools/call\u200b", "tools.call". `method` must be valid UTF-8.
bool LooksLikeToolsCall(std::string_view method);

// A method name an operator may add to the forwarded ones (--forward-method,
// forward_methods:): 1 to 128 printable ASCII characters without spaces, and never one
// that LooksLikeToolsCall (tool calls are decided, never forwarded by configuration).
Status ValidForwardMethod(std::string_view method);

// Map key for a JSON-RPC id: its canonical JSON ("7", "\"a\"").
std::string IdKey(const boost::json::value& id);

// {"jsonrpc":"2.0","id":id,"error":{"code":code,"message":message}}
boost::json::object ErrorResponse(const boost::json::value& id, int code, std::string_view message);
// {"jsonrpc":"2.0","id":id,"result":result}
boost::json::object ResultResponse(const boost::json::value& id, boost::json::value result);

// Reads newline-delimited lines from a file descriptor, bounded in size. Blocks in
// poll(2) on `fd` and on `wake_fd` (when >= 0): readable wake_fd makes Next() return
// kClosed, so another thread can stop the reader.
class LineReader {
 public:
  enum class Status { kLine, kOversized, kClosed };
  LineReader(int fd, size_t max_bytes, int wake_fd = -1)
      : fd_(fd), max_(max_bytes), wake_fd_(wake_fd) {}
  // kLine: *line holds the next line (without '\n'; a trailing '\r' removed).
  // kOversized: a line longer than max_bytes was consumed and dropped.
  // kClosed: end of input, a read error or a wake-up.
  Status Next(std::string* line);

 private:
  int fd_;
  size_t max_;
  int wake_fd_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool dropping_ = false;
};

// Writes all of `data` to fd (common/fd_lines.h).
using ::interlock::WriteAll;

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_FRAMING_H_
