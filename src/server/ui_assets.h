// The operator console and reviewer page (/ui/, docs/console.md): plain HTML, CSS and JavaScript
// compiled into the binary (ui_assets.cc), so the daemon serves it without files on disk or a build
// step. Thread-safety: immutable data.
#ifndef INTERLOCK_SERVER_UI_ASSETS_H_
#define INTERLOCK_SERVER_UI_ASSETS_H_

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

#endif  // INTERLOCK_SERVER_UI_ASSETS_H_
