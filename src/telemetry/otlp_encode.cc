#include "telemetry/otlp_encode.h"

#include <cmath>
#include <cstring>

#include "common/json_write.h"

namespace interlock::telemetry {
namespace {

// ---- protobuf: a message is built bottom-up, each nested message as its own string ----

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

class Proto {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Tag(uint32_t field, WireType w) { Varint((static_cast<uint64_t>(field) << 3) | w); }
  void Uint(uint32_t field, uint64_t v) {
    Tag(field, kVarint);
    Varint(v);
  }
  void Fixed64Raw(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void Fixed64(uint32_t field, uint64_t v) {
    Tag(field, kFixed64);
    Fixed64Raw(v);
  }
  void Double(uint32_t field, double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    Fixed64(field, bits);
  }
  void Fixed32(uint32_t field, uint32_t v) {
    Tag(field, kFixed32);
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void Bytes(uint32_t field, std::string_view b) {
    Tag(field, kLen);
    Varint(b.size());
    out_.append(b);
  }
  void Bytes(uint32_t field, const uint8_t* p, size_t n) {
    Bytes(field, std::string_view(reinterpret_cast<const char*>(p), n));
  }
  void Message(uint32_t field, const Proto& m) { Bytes(field, m.out_); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

Proto AnyValueProto(const AttrValue& v) {
  Proto p;
  if (const auto* s = std::get_if<std::string>(&v)) {
    p.Bytes(1, *s);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    p.Uint(2, *b ? 1 : 0);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    p.Uint(3, static_cast<uint64_t>(*i));
  } else {
    p.Double(4, std::get<double>(v));
  }
  return p;
}

void AttributesProto(uint32_t field, const Attributes& attrs, Proto* out) {
  for (const auto& [key, value] : attrs) {
    Proto kv;
    kv.Bytes(1, key);
    kv.Message(2, AnyValueProto(value));
    out->Message(field, kv);
  }
}

Proto ResourceProto(const ResourceInfo& r) {
  Proto p;
  AttributesProto(1, r.attributes, &p);
  return p;
}

Proto ScopeProto(const ResourceInfo& r) {
  Proto p;
  p.Bytes(1, r.scope_name);
  if (!r.scope_version.empty()) p.Bytes(2, r.scope_version);
  return p;
}

Proto SpanProto(const SpanData& s) {
  Proto p;
  p.Bytes(1, s.trace_id.data(), s.trace_id.size());
  p.Bytes(2, s.span_id.data(), s.span_id.size());
  if (!s.tracestate.empty()) p.Bytes(3, s.tracestate);
  if (s.parent_span_id) p.Bytes(4, s.parent_span_id->data(), s.parent_span_id->size());
  p.Bytes(5, s.name);
  p.Uint(6, static_cast<uint64_t>(s.kind));
  p.Fixed64(7, static_cast<uint64_t>(s.start_unix_ns));
  p.Fixed64(8, static_cast<uint64_t>(s.end_unix_ns));
  AttributesProto(9, s.attributes, &p);
  for (const TraceContext& l : s.links) {
    Proto link;
    link.Bytes(1, l.trace_id.data(), l.trace_id.size());
    link.Bytes(2, l.span_id.data(), l.span_id.size());
    if (!l.tracestate.empty()) link.Bytes(3, l.tracestate);
    p.Message(13, link);
  }
  if (s.status != StatusCode::kUnset) {
    Proto st;
    if (!s.status_message.empty()) st.Bytes(2, s.status_message);
    st.Uint(3, static_cast<uint64_t>(s.status));
    p.Message(15, st);
  }
  return p;
}

Proto LogProto(const LogData& l) {
  Proto p;
  p.Fixed64(1, static_cast<uint64_t>(l.time_unix_ns));
  p.Uint(2, static_cast<uint64_t>(l.severity));
  p.Bytes(3, l.severity == Severity::kInfo   ? "INFO"
             : l.severity == Severity::kWarn ? "WARN"
                                             : "ERROR");
  p.Message(5, AnyValueProto(l.body));
  AttributesProto(6, l.attributes, &p);
  if (l.trace_id) p.Bytes(9, l.trace_id->data(), l.trace_id->size());
  if (l.span_id) p.Bytes(10, l.span_id->data(), l.span_id->size());
  p.Fixed64(11, static_cast<uint64_t>(l.time_unix_ns));
  return p;
}

Proto NumberPointProto(const NumberPoint& n, int64_t start, int64_t now) {
  Proto p;
  p.Fixed64(2, static_cast<uint64_t>(start));
  p.Fixed64(3, static_cast<uint64_t>(now));
  if (n.is_int) {
    p.Fixed64(6, static_cast<uint64_t>(static_cast<int64_t>(n.value)));  // sfixed64
  } else {
    p.Double(4, n.value);
  }
  AttributesProto(7, n.attributes, &p);
  return p;
}

Proto HistogramPointProto(const HistogramPoint& h, int64_t start, int64_t now) {
  Proto p;
  p.Fixed64(2, static_cast<uint64_t>(start));
  p.Fixed64(3, static_cast<uint64_t>(now));
  p.Fixed64(4, h.count);
  p.Double(5, h.sum);
  Proto counts;  // packed repeated fixed64
  for (uint64_t c : h.bucket_counts) counts.Fixed64Raw(c);
  p.Bytes(6, counts.str());
  Proto bounds;  // packed repeated double
  for (double b : h.bounds) {
    uint64_t bits;
    std::memcpy(&bits, &b, sizeof bits);
    bounds.Fixed64Raw(bits);
  }
  p.Bytes(7, bounds.str());
  AttributesProto(9, h.attributes, &p);
  return p;
}

constexpr uint64_t kCumulative = 2;  // AggregationTemporality

Proto MetricProto(const MetricData& m, int64_t start, int64_t now) {
  Proto p;
  p.Bytes(1, m.name);
  if (!m.description.empty()) p.Bytes(2, m.description);
  if (!m.unit.empty()) p.Bytes(3, m.unit);
  Proto data;
  if (m.kind == MetricData::Kind::kHistogram) {
    for (const HistogramPoint& h : m.histogram_points) {
      data.Message(1, HistogramPointProto(h, start, now));
    }
    data.Uint(2, kCumulative);
    p.Message(9, data);
  } else {
    for (const NumberPoint& n : m.points) data.Message(1, NumberPointProto(n, start, now));
    if (m.kind == MetricData::Kind::kSum) {
      data.Uint(2, kCumulative);
      data.Uint(3, m.monotonic ? 1 : 0);
      p.Message(7, data);
    } else {
      p.Message(5, data);
    }
  }
  return p;
}

// Wraps `items` (each a ScopeX field 2 entry) into Export...Request{Resource...{resource,
// Scope...{scope, items}}}.
std::string Envelope(const ResourceInfo& r, Proto items) {
  Proto scoped;
  scoped.Message(1, ScopeProto(r));
  scoped.str().append(items.str());
  Proto resource_level;
  resource_level.Message(1, ResourceProto(r));
  resource_level.Message(2, scoped);
  Proto request;
  request.Message(1, resource_level);
  return std::move(request.str());
}

// ---- JSON ----

void Str(std::string_view s, std::string* out) { AppendJsonString(s, out); }

void JsonDouble(double d, std::string* out) {
  // JSON has no NaN or infinities; the protobuf JSON mapping spells them as strings.
  if (std::isnan(d)) {
    out->append("\"NaN\"");
  } else if (std::isinf(d)) {
    out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    AppendJsonDouble(d, JsonStyle::kReadable, out);
  }
}

void JsonU64String(uint64_t v, std::string* out) {
  out->push_back('"');
  AppendJsonUint(v, out);
  out->push_back('"');
}

void AnyValueJson(const AttrValue& v, std::string* out) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    out->append("{\"stringValue\":");
    Str(*s, out);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out->append(*b ? "{\"boolValue\":true" : "{\"boolValue\":false");
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out->append("{\"intValue\":\"");
    AppendJsonInt(*i, out);
    out->push_back('"');
  } else {
    out->append("{\"doubleValue\":");
    JsonDouble(std::get<double>(v), out);
  }
  out->push_back('}');
}

void AttributesJson(const Attributes& attrs, std::string* out) {
  out->append("\"attributes\":[");
  bool first = true;
  for (const auto& [key, value] : attrs) {
    if (!first) out->push_back(',');
    first = false;
    out->append("{\"key\":");
    Str(key, out);
    out->append(",\"value\":");
    AnyValueJson(value, out);
    out->push_back('}');
  }
  out->push_back(']');
}

template <size_t N>
void IdJson(const char* name, const std::array<uint8_t, N>& id, std::string* out) {
  out->append(",\"").append(name).append("\":\"").append(HexId(id.data(), N)).push_back('"');
}

// {"resourceX":[{"resource":{...},"scopeX":[{"scope":{...},"<items>":[ ... ]}]}]}
template <class Fn>
std::string JsonEnvelope(const ResourceInfo& r, const char* level, const char* scope_level,
                         const char* items, Fn&& write_items) {
  std::string out = "{\"";
  out.append(level).append("\":[{\"resource\":{");
  AttributesJson(r.attributes, &out);
  out.append("},\"").append(scope_level).append("\":[{\"scope\":{\"name\":");
  Str(r.scope_name, &out);
  if (!r.scope_version.empty()) {
    out.append(",\"version\":");
    Str(r.scope_version, &out);
  }
  out.append("},\"").append(items).append("\":[");
  write_items(&out);
  out.append("]}]}]}");
  return out;
}

void SpanJson(const SpanData& s, std::string* out) {
  out->append("{\"name\":");
  Str(s.name, out);
  IdJson("traceId", s.trace_id, out);
  IdJson("spanId", s.span_id, out);
  if (s.parent_span_id) IdJson("parentSpanId", *s.parent_span_id, out);
  if (!s.tracestate.empty()) {
    out->append(",\"traceState\":");
    Str(s.tracestate, out);
  }
  out->append(",\"kind\":");
  AppendJsonInt(static_cast<int>(s.kind), out);
  out->append(",\"startTimeUnixNano\":");
  JsonU64String(static_cast<uint64_t>(s.start_unix_ns), out);
  out->append(",\"endTimeUnixNano\":");
  JsonU64String(static_cast<uint64_t>(s.end_unix_ns), out);
  out->push_back(',');
  AttributesJson(s.attributes, out);
  if (!s.links.empty()) {
    out->append(",\"links\":[");
    for (size_t i = 0; i < s.links.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"traceId\":\"").append(Hex(s.links[i].trace_id));
      out->append("\",\"spanId\":\"").append(Hex(s.links[i].span_id)).append("\"}");
    }
    out->push_back(']');
  }
  out->append(",\"status\":{\"code\":");
  AppendJsonInt(static_cast<int>(s.status), out);
  if (!s.status_message.empty()) {
    out->append(",\"message\":");
    Str(s.status_message, out);
  }
  out->append("}}");
}

void LogJson(const LogData& l, std::string* out) {
  out->append("{\"timeUnixNano\":");
  JsonU64String(static_cast<uint64_t>(l.time_unix_ns), out);
  out->append(",\"observedTimeUnixNano\":");
  JsonU64String(static_cast<uint64_t>(l.time_unix_ns), out);
  out->append(",\"severityNumber\":");
  AppendJsonInt(static_cast<int>(l.severity), out);
  out->append(l.severity == Severity::kInfo   ? ",\"severityText\":\"INFO\""
              : l.severity == Severity::kWarn ? ",\"severityText\":\"WARN\""
                                              : ",\"severityText\":\"ERROR\"");
  out->append(",\"body\":");
  AnyValueJson(l.body, out);
  out->push_back(',');
  AttributesJson(l.attributes, out);
  if (l.trace_id) IdJson("traceId", *l.trace_id, out);
  if (l.span_id) IdJson("spanId", *l.span_id, out);
  out->push_back('}');
}

void PointTimes(int64_t start, int64_t now, std::string* out) {
  out->append("\"startTimeUnixNano\":");
  JsonU64String(static_cast<uint64_t>(start), out);
  out->append(",\"timeUnixNano\":");
  JsonU64String(static_cast<uint64_t>(now), out);
  out->push_back(',');
}

void MetricJson(const MetricData& m, int64_t start, int64_t now, std::string* out) {
  out->append("{\"name\":");
  Str(m.name, out);
  if (!m.description.empty()) {
    out->append(",\"description\":");
    Str(m.description, out);
  }
  if (!m.unit.empty()) {
    out->append(",\"unit\":");
    Str(m.unit, out);
  }
  if (m.kind == MetricData::Kind::kHistogram) {
    out->append(",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[");
    for (size_t i = 0; i < m.histogram_points.size(); ++i) {
      const HistogramPoint& h = m.histogram_points[i];
      out->append(i > 0 ? ",{" : "{");
      PointTimes(start, now, out);
      out->append("\"count\":");
      JsonU64String(h.count, out);
      out->append(",\"sum\":");
      JsonDouble(h.sum, out);
      out->append(",\"bucketCounts\":[");
      for (size_t j = 0; j < h.bucket_counts.size(); ++j) {
        if (j > 0) out->push_back(',');
        JsonU64String(h.bucket_counts[j], out);
      }
      out->append("],\"explicitBounds\":[");
      for (size_t j = 0; j < h.bounds.size(); ++j) {
        if (j > 0) out->push_back(',');
        JsonDouble(h.bounds[j], out);
      }
      out->append("],");
      AttributesJson(h.attributes, out);
      out->push_back('}');
    }
    out->append("]}}");
    return;
  }
  if (m.kind == MetricData::Kind::kSum) {
    out->append(",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":");
    out->append(m.monotonic ? "true" : "false");
    out->append(",\"dataPoints\":[");
  } else {
    out->append(",\"gauge\":{\"dataPoints\":[");
  }
  for (size_t i = 0; i < m.points.size(); ++i) {
    const NumberPoint& n = m.points[i];
    out->append(i > 0 ? ",{" : "{");
    PointTimes(start, now, out);
    if (n.is_int) {
      out->append("\"asInt\":\"");
      AppendJsonInt(static_cast<int64_t>(n.value), out);
      out->append("\",");
    } else {
      out->append("\"asDouble\":");
      JsonDouble(n.value, out);
      out->push_back(',');
    }
    AttributesJson(n.attributes, out);
    out->push_back('}');
  }
  out->append("]}}");
}

template <class T, class Fn>
void JsonList(const std::vector<T>& items, Fn&& one, std::string* out) {
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    one(items[i], out);
  }
}

// One export request of `items`: OTLP/JSON under the signal's names (`level`,
// `scope_level`, `list`), or protobuf with each item as field 2 of the scope.
template <class T, class JsonFn, class ProtoFn>
std::string EncodeSignal(Encoding e, const ResourceInfo& r, const std::vector<T>& items,
                         const char* level, const char* scope_level, const char* list,
                         JsonFn&& json, ProtoFn&& proto) {
  if (e == Encoding::kJson) {
    return JsonEnvelope(r, level, scope_level, list,
                        [&](std::string* out) { JsonList(items, json, out); });
  }
  Proto encoded;
  for (const T& item : items) encoded.Message(2, proto(item));
  return Envelope(r, std::move(encoded));
}

}  // namespace

std::string EncodeTraces(Encoding e, const ResourceInfo& r, const std::vector<SpanData>& spans) {
  return EncodeSignal(e, r, spans, "resourceSpans", "scopeSpans", "spans", SpanJson, SpanProto);
}

std::string EncodeLogs(Encoding e, const ResourceInfo& r, const std::vector<LogData>& logs) {
  return EncodeSignal(e, r, logs, "resourceLogs", "scopeLogs", "logRecords", LogJson, LogProto);
}

std::string EncodeMetrics(Encoding e, const ResourceInfo& r, const std::vector<MetricData>& metrics,
                          int64_t start_unix_ns, int64_t time_unix_ns) {
  return EncodeSignal(
      e, r, metrics, "resourceMetrics", "scopeMetrics", "metrics",
      [&](const MetricData& m, std::string* out) {
        MetricJson(m, start_unix_ns, time_unix_ns, out);
      },
      [&](const MetricData& m) { return MetricProto(m, start_unix_ns, time_unix_ns); });
}

}  // namespace interlock::telemetry
