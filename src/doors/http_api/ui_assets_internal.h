// The console's asset bytes, one per file under src/doors/http_api/ui/ (index.html, app.css,
// app.js, console.js), defined by ui_assets_data.cc, which src/doors/http_api/ui/embed.cmake
// generates at build time, and registered by ui_assets.cc. Internal to the server module.
#ifndef INTERLOCK_DOORS_HTTP_API_UI_ASSETS_INTERNAL_H_
#define INTERLOCK_DOORS_HTTP_API_UI_ASSETS_INTERNAL_H_

#include <string_view>

namespace interlock::server {

extern const std::string_view kUiIndexHtml;  // ui/index.html: one document for every page
extern const std::string_view kUiAppCss;     // ui/app.css: readable at 390 px and on a desktop
extern const std::string_view kUiAppJs;      // ui/app.js: sign-in, navigation, approvals
extern const std::string_view kUiConsoleJs;  // ui/console.js: runs, audit, kill, metrics, ...

}  // namespace interlock::server

#endif  // INTERLOCK_DOORS_HTTP_API_UI_ASSETS_INTERNAL_H_
