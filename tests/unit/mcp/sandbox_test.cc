// The sandbox's view (mcp/sandbox.h) without running bwrap: which write directories are
// refused for reaching what Interlock trusts, which of the server's own files are bound,
// and the bwrap options every sandbox carries.
#include "mcp/sandbox.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;

class SandboxViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::canonical(tmp_.path()).string();
    for (const char* d : {"home/.local/state/interlock", "home/proj/data", "elsewhere/state",
                          "keys", "pkg/node_modules/@x/server/dist", "bin"}) {
      fs::create_directories(root_ + "/" + d);
    }
    std::ofstream(root_ + "/home/.local/state/interlock/interlock.db") << "db";
    std::ofstream(root_ + "/pkg/node_modules/@x/server/dist/index.js") << "js";
    std::ofstream(root_ + "/home/proj/server.js") << "js";
    fs::create_directory_symlink(root_ + "/home", root_ + "/home-link");
    // A state directory reached through a symlink that lives in the project.
    fs::create_directory_symlink(root_ + "/elsewhere/state", root_ + "/home/proj/state-link");
  }
  ::interlock::testing::TempDir tmp_{"sandbox-view"};
  std::string root_;
};

// Tests that a write directory holding, equal to, inside, or holding a symlink on the way
// to a trusted path is refused with a message naming both, and that a sibling is not
// (the rename-the-parent attack: a server that may write a parent can plant a store).
TEST_F(SandboxViewTest, WriteDirThatCouldReplaceWhatInterlockTrustsIsRefused) {
  const std::string store = root_ + "/home/.local/state/interlock/interlock.db";
  const std::vector<TrustedPath> trusted = {
      {"the store", store},
      {"the audit keys and checkpoints", root_ + "/keys"},
      {"the policy", root_ + "/home/proj/state-link/policy.yaml"},
      {"the missing config", root_ + "/home/.config/interlock/config.yaml"}};
  struct Case {
    std::string write;
    bool refused;
    std::string names;
  };
  const std::vector<Case> cases = {
      {root_ + "/home", true, "the store"},         // the attack: ~ holds ~/.local/state
      {root_ + "/home-link", true, "the store"},    // the same through a symlink
      {root_ + "/home/.local", true, "the store"},  // an ancestor
      {root_ + "/home/.local/state/interlock", true, "the store"},  // its own directory
      {root_ + "/keys", true, "audit keys"},                        // the trusted directory itself
      {root_ + "/home/proj", true, "the policy"},                   // holds a symlink on the way
      {root_ + "/elsewhere", true, "the policy"},                   // holds where the symlink leads
      {root_ + "/home/.config", true, "the missing config"},  // not yet created: still refused
      {root_, true, ""},                                      // everything
      {"/", true, ""},
      {root_ + "/home/proj/data", false, ""},
      {root_ + "/pkg", false, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.write);
    Status s = CheckWriteDirs({c.write}, trusted, "--sandbox-write");
    EXPECT_EQ(!s.ok(), c.refused) << (s.ok() ? "" : s.error().message);
    if (!s.ok()) {
      EXPECT_NE(s.error().message.find("--sandbox-write " + c.write), std::string::npos)
          << s.error().message;
      EXPECT_NE(s.error().message.find(c.names), std::string::npos) << s.error().message;
    }
  }
  // Inside a trusted directory: refused too, and said so.
  Status inside = CheckWriteDirs({root_ + "/keys/sub"}, trusted, "sandbox.write");
  ASSERT_FALSE(inside.ok());
  EXPECT_NE(inside.error().message.find("lies inside the audit keys"), std::string::npos)
      << inside.error().message;
}

// Tests that the default trusted set names the store with its -wal, -shm and -journal
// files, its keys, the default state directory and the interlock program itself.
TEST_F(SandboxViewTest, TrustedPathsCoverTheStoreItsFilesKeysAndPrograms) {
  const std::string store = root_ + "/s/interlock.db";
  std::vector<std::string> paths;
  for (const TrustedPath& t : InterlockTrustedPaths(store)) paths.push_back(t.path);
  for (const std::string& p :
       {store, store + "-wal", store + "-shm", store + "-journal", store + ".keys"}) {
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
  }
  auto def = std::find_if(paths.begin(), paths.end(), [](const std::string& p) {
    return p.find("/interlock") != std::string::npos && p.find("state") != std::string::npos;
  });
  EXPECT_NE(def, paths.end());
  char exe[4096] = {};
  ASSERT_GT(::readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  EXPECT_NE(std::find(paths.begin(), paths.end(), std::string(exe)), paths.end());
}

// Tests that the server's own files are bound read-only: a script's directory, the whole
// tree of a script inside node_modules, never a directory holding $HOME, nothing under
// the system directories, and that the program is resolved on the host's PATH.
TEST_F(SandboxViewTest, ServerOwnFilesAreBoundNotTheirParents) {
  std::string program;
  EXPECT_EQ(ServerFilePaths({"/bin/sh", "-c", "true"}, &program), std::vector<std::string>{});
  EXPECT_EQ(program, "/bin/sh");
  EXPECT_EQ(
      ServerFilePaths({"node", root_ + "/pkg/node_modules/@x/server/dist/index.js"}, &program),
      std::vector<std::string>{root_ + "/pkg"});
  EXPECT_EQ(program.front(), '/');
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home != nullptr ? old_home : "";
  ::setenv("HOME", (root_ + "/home/proj").c_str(), 1);
  EXPECT_EQ(ServerFilePaths({"node", root_ + "/home/proj/server.js"}, &program),
            std::vector<std::string>{root_ + "/home/proj/server.js"});  // the file alone
  ::setenv("HOME", saved.c_str(), 1);
}

bool Has(const std::vector<std::string>& argv, const std::vector<std::string>& seq) {
  return std::search(argv.begin(), argv.end(), seq.begin(), seq.end()) != argv.end();
}

// Tests that every sandbox runs the server in its own user namespace as 65534 with every
// capability dropped, in a new session, killed with Interlock, on an empty root rather
// than the host's `/`, with HOME and the proxy set and the root read-only.
TEST_F(SandboxViewTest, EverySandboxDropsPrivilegeAndStartsFromAnEmptyRoot) {
  SandboxSpec spec;
  spec.bwrap = "/usr/bin/bwrap";
  spec.bridge = root_ + "/bin/interlock-sandbox-bridge";
  spec.socket_dir = root_ + "/sock";
  spec.write_dirs = {root_ + "/home/proj/data"};
  spec.read_paths = {root_ + "/home/proj"};
  spec.disable_userns = true;
  const auto a = SandboxArgv(spec, {"/bin/sh", "-c", "true"});
  EXPECT_TRUE(Has(a, {"--unshare-user"}));
  EXPECT_TRUE(Has(a, {"--uid", "65534", "--gid", "65534"}));
  EXPECT_TRUE(Has(a, {"--cap-drop", "ALL"}));
  EXPECT_TRUE(Has(a, {"--new-session"}));
  EXPECT_TRUE(Has(a, {"--die-with-parent"}));
  EXPECT_TRUE(Has(a, {"--disable-userns"}));
  EXPECT_FALSE(Has(a, {"--ro-bind", "/", "/"}));
  EXPECT_TRUE(Has(a, {"--ro-bind", spec.bridge, spec.bridge}));  // wherever it lies
  EXPECT_TRUE(Has(a, {"--setenv", "HOME", kSandboxHome}));
  EXPECT_TRUE(Has(a, {"--setenv", "HTTPS_PROXY", "http://127.0.0.1:3128"}));
  EXPECT_TRUE(Has(a, {"--remount-ro", "/"}));
  // The parent read bind comes before the nested write bind, which it would cover.
  const auto ro = std::search(a.begin(), a.end(), spec.read_paths.begin(), spec.read_paths.end());
  const auto rw = std::find(a.begin(), a.end(), spec.write_dirs[0]);
  EXPECT_LT(ro - a.begin(), rw - a.begin());
}

// Tests that a hidden file inside a hidden directory gets no mask of its own: the empty
// read-only tmpfs over the directory already hides it and holds no mount point for it, so
// bwrap would fail the start (found with a daemon whose server script shares a directory
// with the store: "Can't create file at .../interlock.db.keys/checkpoints.jsonl").
TEST_F(SandboxViewTest, FileMaskInsideAMaskedDirectoryIsLeftToTheDirectory) {
  fs::create_directories(root_ + "/home/proj/interlock.db.keys");
  std::ofstream(root_ + "/home/proj/interlock.db.keys/checkpoints.jsonl") << "c";
  std::ofstream(root_ + "/home/proj/interlock.db") << "db";
  SandboxSpec spec;
  spec.bwrap = "/usr/bin/bwrap";
  spec.bridge = root_ + "/bin/interlock-sandbox-bridge";
  spec.socket_dir = root_ + "/sock";
  spec.read_paths = {root_ + "/home/proj"};
  spec.hide = {root_ + "/home/proj/interlock.db.keys/checkpoints.jsonl",
               root_ + "/home/proj/interlock.db.keys", root_ + "/home/proj/interlock.db"};
  const auto a = SandboxArgv(spec, {"/bin/sh", "-c", "true"});
  const std::string keys = root_ + "/home/proj/interlock.db.keys";
  EXPECT_TRUE(Has(a, {"--tmpfs", keys, "--remount-ro", keys}));
  EXPECT_TRUE(Has(a, {"--ro-bind", "/dev/null", root_ + "/home/proj/interlock.db"}));
  EXPECT_FALSE(Has(a, {"--ro-bind", "/dev/null", keys + "/checkpoints.jsonl"}));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
