#include "mcp/local_store.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/crypto.h"

namespace interlock::mcp {

namespace fs = std::filesystem;

Result<std::string> DefaultStorePath() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/interlock/interlock.db";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.local/state/interlock/interlock.db";
  }
  return Error::Invalid("neither XDG_STATE_HOME nor HOME is set; pass --store PATH");
}

namespace {

Result<std::string> LoadOrCreateKey(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return Error::Unavailable("cannot read audit key " + path);
    if (key.empty()) return Error::Corrupt("audit key file " + path + " is empty");
    return key;
  }
  const std::string key = RandomBytes(32);
  // Unique temporary name: concurrent first uses (several hook processes) must not
  // interleave; rename is atomic and the first complete key wins.
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error::Unavailable("cannot create audit key file " + path);
    ::chmod(tmp.c_str(), 0600);
    out << key;
    if (!out.flush()) return Error::Unavailable("cannot write audit key file " + path);
  }
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    fs::remove(tmp, ec);
    if (err == EEXIST) return LoadOrCreateKey(path);  // another process won: use its key
    return Error::Unavailable("cannot create audit key file " + path);
  }
  fs::remove(tmp, ec);
  return key;
}

}  // namespace

Result<std::unique_ptr<store::SqliteStore>> OpenLocalStore(const std::string& path) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return Error::Unavailable("cannot create " + parent.string() + ": " + ec.message());
  auto key = LoadOrCreateKey(path + ".key");
  if (!key.ok()) return key.error();
  store::StoreOptions o;
  o.path = path;
  o.audit_key = std::move(key).value();
  auto s = store::SqliteStore::Open(o);
  if (!s.ok()) return s.error();
  return std::move(s).value();
}

}  // namespace interlock::mcp
