// The console's asset texts, one per file (ui_page_html.cc, ui_style_css.cc, ui_app_js.cc,
// ui_console_js.cc), registered by ui_assets.cc. Internal to the server module.
#ifndef INTERLOCK_SERVER_UI_ASSETS_INTERNAL_H_
#define INTERLOCK_SERVER_UI_ASSETS_INTERNAL_H_

#include <string_view>

namespace interlock::server {

extern const std::string_view kUiIndexHtml;
extern const std::string_view kUiAppCss;
extern const std::string_view kUiAppJs;
extern const std::string_view kUiConsoleJs;

}  // namespace interlock::server

#endif  // INTERLOCK_SERVER_UI_ASSETS_INTERNAL_H_
