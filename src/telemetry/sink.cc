#include "telemetry/sink.h"

#include <atomic>
#include <chrono>
#include <random>

namespace interlock::telemetry {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes `n` bytes of lower-case hex at `s`; false on any other character.
bool DecodeHex(std::string_view s, uint8_t* out, size_t n) {
  if (s.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    const int hi = HexDigit(s[2 * i]);
    const int lo = HexDigit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& a) {
  for (uint8_t b : a) {
    if (b != 0) return false;
  }
  return true;
}

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }());
  return rng;
}

template <size_t N>
void Fill(std::array<uint8_t, N>* a) {
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t r = Rng()();
      for (size_t j = 0; j < 8 && i + j < N; ++j) (*a)[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
  } while (AllZero(*a));
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(std::string_view v) {
  // version "-" trace-id "-" parent-id "-" flags, then (future versions only) "-" ...
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  uint8_t version = 0;
  if (!DecodeHex(v.substr(0, 2), &version, 1) || version == 0xff) return std::nullopt;
  if (version == 0 && v.size() != 55) return std::nullopt;
  if (v.size() > 55 && v[55] != '-') return std::nullopt;
  TraceContext ctx;
  if (!DecodeHex(v.substr(3, 32), ctx.trace_id.data(), 16) ||
      !DecodeHex(v.substr(36, 16), ctx.span_id.data(), 8) ||
      !DecodeHex(v.substr(53, 2), &ctx.flags, 1)) {
    return std::nullopt;
  }
  if (AllZero(ctx.trace_id) || AllZero(ctx.span_id)) return std::nullopt;
  return ctx;
}

std::string HexId(const uint8_t* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

std::string FormatTraceparent(const TraceContext& ctx) {
  return "00-" + Hex(ctx.trace_id) + "-" + Hex(ctx.span_id) + "-" + HexId(&ctx.flags, 1);
}

TraceId NewTraceId() {
  TraceId id;
  Fill(&id);
  return id;
}

SpanId NewSpanId() {
  SpanId id;
  Fill(&id);
  return id;
}

Sink* NoopSink() {
  static Sink noop;
  return &noop;
}

namespace {
thread_local const TraceContext* current_context = nullptr;
std::atomic<Sink*> default_sink{nullptr};
}  // namespace

Sink* DefaultSink() {
  Sink* s = default_sink.load(std::memory_order_acquire);
  return s != nullptr ? s : NoopSink();
}

void SetDefaultSink(Sink* sink) { default_sink.store(sink, std::memory_order_release); }

const TraceContext* CurrentContext() { return current_context; }

ScopedContext::ScopedContext(const TraceContext* ctx) : previous_(current_context) {
  current_context = ctx;
}

ScopedContext::~ScopedContext() { current_context = previous_; }

int64_t UnixNanosNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace interlock::telemetry
