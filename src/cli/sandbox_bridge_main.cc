// interlock-sandbox-bridge: the in-sandbox bridge of `interlock mcp --sandbox` as a small
// program of its own (mcp/sandbox.h), so that the sandbox's start does not pay for the
// whole `interlock` program's start (its libraries and static registrations).
//   interlock-sandbox-bridge --socket PATH --port N [--ready] -- COMMAND [ARGS...]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mcp/sandbox.h"

int main(int argc, char** argv) {
  std::string socket;
  long port = interlock::mcp::kBridgePort;
  bool ready = false;
  int i = 1;
  for (; i < argc; ++i) {
    if (std::strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
      socket = argv[++i];
    } else if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--ready") == 0) {
      ready = true;
    } else if (std::strcmp(argv[i], "--") == 0) {
      ++i;
      break;
    } else {
      break;
    }
  }
  if (socket.empty() || port < 1 || port > 65535 || i >= argc) {
    std::fprintf(stderr,
                 "usage: interlock-sandbox-bridge --socket PATH --port N [--ready] -- COMMAND "
                 "[ARGS...]\n");
    return 2;
  }
  std::vector<std::string> command(argv + i, argv + argc);
  return interlock::mcp::RunSandboxBridge(socket, static_cast<uint16_t>(port), command, ready);
}
