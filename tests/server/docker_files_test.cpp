// docker/Dockerfile and docker/compose.yaml must only reference files that exist in the repo.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "tests/support/test_paths.h"

namespace gs::test {
namespace {

std::string read(const std::string& rel) {
  std::ifstream in(source_path(rel));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DockerFiles, DockerfileReferencesExistingScripts) {
  const std::string df = read("docker/Dockerfile");
  ASSERT_FALSE(df.empty());
  EXPECT_NE(df.find("scripts/install-deps.sh"), std::string::npos);
  EXPECT_NE(df.find("scripts/build.sh"), std::string::npos);
  EXPECT_NE(df.find("bookworm"), std::string::npos);
  EXPECT_NE(df.find("HEALTHCHECK"), std::string::npos);
  EXPECT_NE(df.find("/health"), std::string::npos);
  EXPECT_NE(df.find("USER "), std::string::npos);
  EXPECT_NE(df.find("VOLUME"), std::string::npos);
  // Every repo path the Dockerfile names (scripts/..., docker/..., config/...) must exist.
  std::regex path_re(R"(\b((?:scripts|docker|config)/[A-Za-z0-9_.\-/]+))");
  int checked = 0;
  for (auto it = std::sregex_iterator(df.begin(), df.end(), path_re); it != std::sregex_iterator(); ++it) {
    const std::string p = (*it)[1];
    EXPECT_TRUE(std::filesystem::exists(source_path(p))) << p;
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

TEST(DockerFiles, ComposeReferencesDockerfileAndHealth) {
  const std::string c = read("docker/compose.yaml");
  ASSERT_FALSE(c.empty());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(c, m, std::regex(R"(dockerfile:\s*(\S+))")));
  // compose paths are relative to the build context, which is the repo root (context: ..).
  EXPECT_NE(c.find("context: .."), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(source_path(m[1].str()))) << m[1].str();
  EXPECT_NE(c.find("/health"), std::string::npos);
  EXPECT_NE(c.find("8080"), std::string::npos);
}

TEST(DockerFiles, EntrypointIsExecutableScript) {
  const std::string ep = read("docker/entrypoint.sh");
  ASSERT_FALSE(ep.empty());
  EXPECT_EQ(ep.rfind("#!", 0), 0u);
  const auto perms = std::filesystem::status(source_path("docker/entrypoint.sh")).permissions();
  EXPECT_NE(perms & std::filesystem::perms::owner_exec, std::filesystem::perms::none);
}

}  // namespace
}  // namespace gs::test
