// The ext_authz door's wire pieces below HTTP/2 (gRPC's PROTOCOL-HTTP2 for one unary call),
// apart from the server's sockets so that they are tested and fuzzed alone
// (fuzz/ext_authz_check): a request's length-prefixed message read from its DATA frames
// within bounds, the same framing for an answer, and a CheckRequest read into the door's
// HttpAttributes.
#ifndef INTERLOCK_DOORS_EXT_AUTHZ_GRPC_MESSAGE_H_
#define INTERLOCK_DOORS_EXT_AUTHZ_GRPC_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "doors/ext_authz/door.h"
#include "envoy/service/auth/v3/external_auth.pb.h"

namespace interlock::doors::ext_authz {

// A message's prefix: a compressed flag (1 byte) and its length (4 bytes, big-endian).
inline constexpr size_t kGrpcPrefixBytes = 5;

// One unary request's message, read as its DATA frames come, in pieces of any size.
class GrpcMessageReader {
 public:
  // Why the request is refused (kNone: read so far within bounds).
  enum class Refusal {
    kNone,
    kCompressed,     // the flag says compressed: only identity is taken
    kTooLarge,       // the prefix names more than max_bytes
    kSecondMessage,  // bytes past the one message
    kNoRoom,         // the caller's `room` (its connection's budget) is spent
  };

  explicit GrpcMessageReader(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Takes the next `len` bytes, keeping at most `room` more of the message. After a
  // refusal the reader takes nothing more (every later call repeats it).
  Refusal Feed(const uint8_t* data, size_t len, size_t room);
  // At the request's end: exactly one whole message was read.
  bool Complete() const;
  // The message read so far (whole once Complete()).
  std::string_view message() const { return body_; }
  // Bytes of the message held (what the caller's room was charged).
  size_t held() const { return body_.size(); }
  // Forgets the message (its memory released).
  void Drop() { std::string().swap(body_); }

 private:
  const size_t max_bytes_;
  uint8_t prefix_[kGrpcPrefixBytes] = {};
  size_t prefix_have_ = 0;
  size_t length_ = 0;  // the message's, once the prefix is read
  std::string body_;
  Refusal refused_ = Refusal::kNone;
};

// `message` with its prefix (uncompressed): an answer's DATA, or a client's request.
std::string FramedGrpcMessage(std::string_view message);

// What the gateway forwarded, as the door reads it: headers from header_map when sent, else
// from headers (names lower-cased; a repeated header joined with "," as Envoy joins it); the
// body from raw_body when set, else body; a body cut by the gateway (x-envoy-auth-partial-body:
// true, or shorter than the size it names) marked partial.
HttpAttributes AttributesOf(const envoy::service::auth::v3::CheckRequest& request);

}  // namespace interlock::doors::ext_authz

#endif  // INTERLOCK_DOORS_EXT_AUTHZ_GRPC_MESSAGE_H_
