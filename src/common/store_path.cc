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
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/interlock/interlock.db";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/state/interlock/interlock.db";
  }
  return Error::Invalid("neither XDG_STATE_HOME nor HOME is set; pass --store PATH");
}

}  // namespace interlock
