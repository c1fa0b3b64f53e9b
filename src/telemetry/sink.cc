#include "telemetry/sink.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <vector>

#include "common/text.h"

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

namespace {

bool KeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/';
}

// simple-key = lcalpha 0*255(keychar); multi-tenant-key = tenant-id "@" system-id, tenant-id
// = (lcalpha / DIGIT) 0*240(keychar), system-id = lcalpha 0*13(keychar).
bool ValidTracestateKey(std::string_view k) {
  auto chars_ok = [](std::string_view part) {
    return std::all_of(part.begin(), part.end(), KeyChar);
  };
  const size_t at = k.find('@');
  if (at == std::string_view::npos) {
    return !k.empty() && k.size() <= 256 && k[0] >= 'a' && k[0] <= 'z' && chars_ok(k);
  }
  const std::string_view tenant = k.substr(0, at);
  const std::string_view system = k.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 &&
         ((tenant[0] >= 'a' && tenant[0] <= 'z') || (tenant[0] >= '0' && tenant[0] <= '9')) &&
         chars_ok(tenant) && !system.empty() && system.size() <= 14 && system[0] >= 'a' &&
         system[0] <= 'z' && chars_ok(system);
}

// value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr.
bool ValidTracestateValue(std::string_view v) {
  if (v.empty() || v.size() > 256 || v.back() == ' ') return false;
  return std::all_of(v.begin(), v.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

}  // namespace

bool ValidTracestate(std::string_view v) {
  constexpr size_t kMaxChars = 512;
  constexpr size_t kMaxMembers = 32;
  if (v.size() > kMaxChars) return false;
  std::vector<std::string_view> keys;
  for (std::string_view member : SplitView(v, ',')) {
    while (!member.empty() && (member.front() == ' ' || member.front() == '\t')) {
      member.remove_prefix(1);
    }
    while (!member.empty() && (member.back() == ' ' || member.back() == '\t')) {
      member.remove_suffix(1);
    }
    if (!member.empty()) {
      const size_t eq = member.find('=');
      if (eq == std::string_view::npos) return false;
      const std::string_view key = member.substr(0, eq);
      if (!ValidTracestateKey(key) || !ValidTracestateValue(member.substr(eq + 1))) return false;
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) return false;
      keys.push_back(key);
      if (keys.size() > kMaxMembers) return false;
    }
  }
  return true;
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
