// libFuzzer target for the daemon config loader (daemon/config.h LoadServerConfig). The
// loader reads a path, so each input is written to one scratch file first. Checks that
// every input ends in a value (no crash, no hang) and that an error says what is wrong.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/config.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

// One scratch directory per fuzzing process, removed when it exits.
class Scratch {
 public:
  Scratch() {
    char dir[] = "/tmp/fuzz_server_config.XXXXXX";
    Check(mkdtemp(dir) != nullptr, "scratch directory");
    dir_ = dir;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string file() const { return dir_ + "/interlock.yaml"; }

 private:
  std::string dir_;
};

const std::string& ScratchPath() {
  static const Scratch scratch;
  static const std::string path = scratch.file();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = ScratchPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    Check(static_cast<bool>(out), "scratch write");
  }
  interlock::server::ServerConfig config;
  const interlock::Status s = interlock::server::LoadServerConfig(path, &config);
  if (!s.ok()) Check(!s.error().message.empty(), "errors carry a message");
  return 0;
}
