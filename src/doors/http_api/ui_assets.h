// The operator console and reviewer page (/ui/, docs/console.md): plain HTML, CSS and JavaScript
// files under src/doors/http_api/ui/, embedded into the binary at build time (ui/embed.cmake), so
// the daemon serves them byte for byte without files on disk. Thread-safety: immutable data.
#ifndef INTERLOCK_DOORS_HTTP_API_UI_ASSETS_H_
#define INTERLOCK_DOORS_HTTP_API_UI_ASSETS_H_

#include <string_view>

namespace interlock::server {

struct UiAsset {
  std::string_view content_type;
  std::string_view body;
};

// The asset at `path` below /ui/ (a console page such as "", "runs", "runs/{id}", "audit",
// "kill", "metrics", or "index.html", "app.css", "app.js", "console.js"); nullptr if none.
const UiAsset* FindUiAsset(std::string_view path);

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_HTTP_API_UI_ASSETS_H_
