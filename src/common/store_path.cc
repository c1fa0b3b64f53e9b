#include "common/store_path.h"

#include <cstdlib>

namespace interlock {

Result<std::string> DefaultStorePath() {
  if (const char* env = std::getenv("INTERLOCK_STORE"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  return StateDirStorePath();
}

Result<std::string> StateDirStorePath() {
  return StateDirPath("interlock.db", "; pass --store PATH");
}

Result<std::string> StateDirPath(std::string_view name, std::string_view unset_hint) {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/interlock/" + std::string(name);
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/state/interlock/" + std::string(name);
  }
  return Error::Invalid("neither XDG_STATE_HOME nor HOME is set" + std::string(unset_hint));
}

}  // namespace interlock
