// libFuzzer target for mcp/upstream_revision.h: whatever a server answers to the
// server/discover probe, and whatever result it sends, the gateway's reading of it never
// crashes, a verdict of "unsupported" always carries the server's -32022, the InitializeResult
// made for a 2025 client always names a 2025 revision and never offers tasks, and a request
// stamped for a modern server always carries the modern version and no tasks extension
// (DeclaresTasksExtension agrees).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "common/json.h"
#include "mcp/upstream_revision.h"

namespace {

namespace json = boost::json;
using namespace interlock::mcp;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto doc = interlock::ParseJsonStrict(input, interlock::JsonLimits{1 << 20, 64});
  if (!doc.ok()) return 0;
  const ProbeVerdict v = ClassifyDiscoverResponse(*doc);
  if (v.kind == ProbeVerdict::Kind::kUnsupported) {
    Check(v.error.at("code") == kUnsupportedProtocolVersion, "unsupported carries -32022");
  }
  if (!doc->is_object()) return 0;
  json::object o = doc->get_object();
  const json::object init = InitializeResultFromDiscover(o, "2025-06-18");
  Check(IsLegacyRevision(init.at("protocolVersion").as_string()), "a 2025 revision");
  Check(!init.at("capabilities").as_object().contains("tasks"), "no tasks offered");
  json::object legacy = o;
  ToLegacyResult(legacy);
  Check(!legacy.contains("resultType"), "no resultType for a 2025 client");
  (void)IsInputRequired(o);
  (void)IsTaskResult(o);
  json::object request = o;
  StampModernMeta(request, json::object{}, json::value());
  WithoutTasksExtension(request);
  const json::value& meta = request.at("params").at("_meta");
  Check(meta.as_object().contains(kMetaProtocolVersion), "the version is stamped");
  const json::value* caps = meta.as_object().if_contains(kMetaClientCapabilities);
  const json::value* ext =
      caps != nullptr && caps->is_object() ? caps->as_object().if_contains("extensions") : nullptr;
  Check(ext == nullptr || !ext->is_object() ||
            !ext->as_object().contains("io.modelcontextprotocol/tasks"),
        "no tasks extension reaches a modern server");
  Check(!DeclaresTasksExtension(request), "a stripped request declares no tasks extension");
  (void)DeclaresTasksExtension(o);
  return 0;
}
