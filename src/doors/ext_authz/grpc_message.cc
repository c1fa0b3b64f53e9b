#include "doors/ext_authz/grpc_message.h"

#include <algorithm>
#include <cstring>

#include "common/text.h"

namespace interlock::doors::ext_authz {

GrpcMessageReader::Refusal GrpcMessageReader::Feed(const uint8_t* data, size_t len, size_t room) {
  if (refused_ != Refusal::kNone) return refused_;
  if (prefix_have_ < kGrpcPrefixBytes) {
    const size_t take = std::min(len, kGrpcPrefixBytes - prefix_have_);
    std::memcpy(prefix_ + prefix_have_, data, take);
    prefix_have_ += take;
    data += take;
    len -= take;
    if (prefix_have_ < kGrpcPrefixBytes) return Refusal::kNone;
    if (prefix_[0] != 0) return refused_ = Refusal::kCompressed;
    length_ = (size_t{prefix_[1]} << 24) | (size_t{prefix_[2]} << 16) | (size_t{prefix_[3]} << 8) |
              size_t{prefix_[4]};
    if (length_ > max_bytes_) return refused_ = Refusal::kTooLarge;
  }
  if (len == 0) return Refusal::kNone;
  if (body_.size() + len > length_) return refused_ = Refusal::kSecondMessage;
  if (len > room) return refused_ = Refusal::kNoRoom;
  body_.append(reinterpret_cast<const char*>(data), len);
  return Refusal::kNone;
}

bool GrpcMessageReader::Complete() const {
  return refused_ == Refusal::kNone && prefix_have_ == kGrpcPrefixBytes && body_.size() == length_;
}

std::string FramedGrpcMessage(std::string_view message) {
  std::string out(kGrpcPrefixBytes, '\0');
  const auto n = static_cast<uint32_t>(message.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  out.append(message);
  return out;
}

HttpAttributes AttributesOf(const envoy::service::auth::v3::CheckRequest& request) {
  const auto& http = request.attributes().request().http();
  HttpAttributes out;
  out.method = http.method();
  out.path = http.path();
  out.host = http.host();
  if (http.header_map().headers_size() > 0) {
    for (const auto& h : http.header_map().headers()) {
      const std::string& value = h.raw_value().empty() ? h.value() : h.raw_value();
      auto [it, fresh] = out.headers.try_emplace(AsciiLower(h.key()), value);
      if (!fresh) it->second.append(",").append(value);  // as Envoy joins a repeated header
    }
  } else {
    for (const auto& [k, v] : http.headers()) out.headers.try_emplace(AsciiLower(k), v);
  }
  out.body = http.raw_body().empty() ? http.body() : http.raw_body();
  auto partial = out.headers.find("x-envoy-auth-partial-body");
  out.partial_body = (partial != out.headers.end() && AsciiLower(partial->second) == "true") ||
                     (http.size() > 0 && static_cast<uint64_t>(http.size()) > out.body.size());
  return out;
}

}  // namespace interlock::doors::ext_authz
