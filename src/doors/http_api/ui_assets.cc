// The operator console (docs/console.md) and its reviewer page (docs/approvals.md#the-page).
// Kept dependency-free on purpose: one HTML document for every page, one stylesheet, two
// scripts, each a real file under src/doors/http_api/ui/ (edited and linted as such, embedded at
// build time); every value from the API is inserted with textContent (never innerHTML), and the
// token lives in sessionStorage and travels only in the Authorization header.
#include "doors/http_api/ui_assets.h"

#include <algorithm>
#include <array>
#include <utility>

#include "doors/http_api/ui_assets_internal.h"

namespace interlock::server {
namespace {

const std::array<std::pair<std::string_view, UiAsset>, 4>& Assets() {
  static const std::array<std::pair<std::string_view, UiAsset>, 4> kAssets = {{
      {"index.html", {"text/html; charset=utf-8", kUiIndexHtml}},
      {"app.css", {"text/css; charset=utf-8", kUiAppCss}},
      {"app.js", {"text/javascript; charset=utf-8", kUiAppJs}},
      {"console.js", {"text/javascript; charset=utf-8", kUiConsoleJs}},
  }};
  return kAssets;
}

// The console's pages, all served by the one document: "", "runs", "runs/{run_id}",
// "audit", "kill", "metrics", "governance".
bool IsPage(std::string_view path) {
  if (path.empty() || path == "runs" || path == "audit" || path == "kill" || path == "metrics" ||
      path == "governance") {
    return true;
  }
  constexpr std::string_view kRun = "runs/";
  if (path.substr(0, kRun.size()) != kRun) return false;
  const std::string_view id = path.substr(kRun.size());
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

}  // namespace

const UiAsset* FindUiAsset(std::string_view path) {
  if (IsPage(path)) path = "index.html";
  for (const auto& [name, asset] : Assets()) {
    if (name == path) return &asset;
  }
  return nullptr;
}

}  // namespace interlock::server
