// Tests the console's embedded assets (doors/http_api/ui_assets.h): the daemon serves exactly the
// bytes of the files under src/doors/http_api/ui/, with their content types, and the embedding
// (src/doors/http_api/ui/embed.cmake) carries any byte, so no file content can break the build.
#include "doors/http_api/ui_assets.h"

#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace interlock::server {

// Generated in this test's build from testdata/embed_hostile.txt by the same embed.cmake.
extern const std::string_view kEmbedHostileFixture;

namespace INTERLOCK_TEST_NS {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Tests that every served asset is byte for byte the file under src/doors/http_api/ui/.
TEST(UiAssetsTest, EmbeddedBytesEqualTheFilesInSrcServerUi) {
  const struct {
    const char* name;
    const char* content_type;
  } kFiles[] = {
      {"index.html", "text/html; charset=utf-8"},
      {"app.css", "text/css; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"console.js", "text/javascript; charset=utf-8"},
  };
  for (const auto& f : kFiles) {
    SCOPED_TRACE(f.name);
    const UiAsset* asset = FindUiAsset(f.name);
    ASSERT_NE(asset, nullptr);
    const std::string file =
        ReadFile(std::string(INTERLOCK_SOURCE_DIR) + "/src/doors/http_api/ui/" + f.name);
    ASSERT_FALSE(file.empty());
    EXPECT_EQ(asset->body, file);  // the file as it is now: a stale build fails here
    EXPECT_EQ(asset->content_type, f.content_type);
  }
}

// Tests that every console page is the one document and that nothing else is served.
TEST(UiAssetsTest, PagesAreTheDocumentAndUnknownPathsAreNotFound) {
  const UiAsset* index = FindUiAsset("index.html");
  ASSERT_NE(index, nullptr);
  for (const char* page :
       {"", "runs", "runs/run-1.a:b_c", "audit", "kill", "metrics", "governance"}) {
    EXPECT_EQ(FindUiAsset(page), index) << page;
  }
  for (const char* other : {"embed.cmake", "runs/", "runs/a/b", "../app.js", "ui/app.js",
                            "app.js.map", "APP.JS", "runs/<x>"}) {
    EXPECT_EQ(FindUiAsset(other), nullptr) << other;
  }
}

// Tests that a stray raw-string delimiter `)ui"` (and quotes, backslashes, a trigraph, a NUL,
// bytes above 0x7f, CRLF) in an asset neither breaks the build nor changes a byte served: the
// fixture is embedded by the same generator as the console and compiled into this test.
TEST(UiAssetsTest, StrayRawStringDelimiterInAnAssetCannotBreakTheBuild) {
  const std::string file =
      ReadFile(std::string(INTERLOCK_SOURCE_DIR) + "/tests/unit/server/testdata/embed_hostile.txt");
  ASSERT_NE(file.find(")ui\""), std::string::npos);
  ASSERT_NE(file.find('\0'), std::string::npos);
  EXPECT_EQ(kEmbedHostileFixture, file);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
