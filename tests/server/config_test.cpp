#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "config/config_loader.h"
#include "tests/support/test_paths.h"

namespace gs::config {
namespace {

EnvLookup env_of(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

std::string write_file(const std::string& text) {
  const std::string p = test::temp_dir("config") + "/server.json";
  std::ofstream(p) << text;
  return p;
}

TEST(ConfigLoader, DefaultsWithNothingSet) {
  auto out = load_config({}, env_of({}));
  EXPECT_FALSE(out.exit_now);
  EXPECT_EQ(out.config.host, "127.0.0.1");
  EXPECT_EQ(out.config.port, 8080);
  EXPECT_EQ(out.config.runtime.weights, "auto");
  EXPECT_TRUE(out.config.runtime.model_dir.empty());
}

TEST(ConfigLoader, PrecedenceFlagsOverEnvOverFile) {
  const std::string file = write_file(R"({"port": 1111, "host": "0.0.0.0", "threads": 3, "api-key": "file"})");
  auto out = load_config({"--config", file, "--port", "3333"},
                         env_of({{"GEMMA3N_PORT", "2222"}, {"GEMMA3N_HOST", "127.0.0.2"}}));
  EXPECT_EQ(out.config.port, 3333);          // flag
  EXPECT_EQ(out.config.host, "127.0.0.2");   // env over file
  EXPECT_EQ(out.config.runtime.threads, 3);  // file over default
  EXPECT_EQ(out.config.api_key, "file");
  auto via_env = load_config({}, env_of({{"GEMMA3N_CONFIG", file}}));
  EXPECT_EQ(via_env.config.port, 1111);
}

TEST(ConfigLoader, AllIssueFlagsAreAccepted) {
  auto out = load_config({"--model", "/m", "--host", "::1", "--port", "0", "--weights", "q8", "--threads", "4",
                          "--api-key", "k", "--cors-origin", "*", "--max-body-bytes", "4096", "--max-queue", "3",
                          "--max-batch", "2", "--port-file", "/tmp/p"},
                         env_of({}));
  const ServerConfig& c = out.config;
  EXPECT_EQ(c.runtime.model_dir, "/m");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.runtime.weights, "q8");
  EXPECT_EQ(c.runtime.threads, 4);
  EXPECT_EQ(c.api_key, "k");
  EXPECT_EQ(c.cors_origin, "*");
  EXPECT_EQ(c.limits.max_body_bytes, 4096);
  EXPECT_EQ(c.runtime.max_queue, 3);
  EXPECT_EQ(c.runtime.max_batch, 2);
  EXPECT_EQ(c.port_file, "/tmp/p");
}

TEST(ConfigLoader, BadValuesAreErrors) {
  EXPECT_THROW(load_config({"--port", "70000"}, env_of({})), ConfigError);
  EXPECT_THROW(load_config({"--port", "12x"}, env_of({})), ConfigError);
  EXPECT_THROW(load_config({"--weights", "fp8"}, env_of({})), ConfigError);
  EXPECT_THROW(load_config({"--no-such-flag"}, env_of({})), ConfigError);
  EXPECT_THROW(load_config({}, env_of({{"GEMMA3N_THREADS", "-1"}})), ConfigError);
  EXPECT_THROW(load_config({"--config", write_file(R"({"prot": 1})")}, env_of({})), ConfigError);
  EXPECT_THROW(load_config({"--config", write_file("not json")}, env_of({})), ConfigError);
  EXPECT_THROW(load_config({"--config", "/nonexistent/x.json"}, env_of({})), ConfigError);
}

TEST(ConfigLoader, HelpListsEveryFlagAndEnvVar) {
  auto out = load_config({"--help"}, env_of({}));
  EXPECT_TRUE(out.exit_now);
  EXPECT_EQ(out.exit_code, 0);
  for (const char* f : {"--model", "--host", "--port", "--weights", "--threads", "--api-key", "--cors-origin",
                        "--max-body-bytes", "--max-queue", "--max-batch", "--port-file", "--config", "GEMMA3N_PORT"})
    EXPECT_NE(out.message.find(f), std::string::npos) << f;
}

TEST(ConfigLoader, ExampleFileLoadsAndCoversEveryKey) {
  auto out = load_config({"--config", test::source_path("config/server.example.json")}, env_of({}));
  EXPECT_EQ(out.config.port, 8080);
  // Every flag in --help appears as a key in the example file.
  std::ifstream in(test::source_path("config/server.example.json"));
  const std::string example((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string help = help_text();
  for (size_t p = help.find("  --"); p != std::string::npos; p = help.find("  --", p + 1)) {
    const size_t e = help.find(' ', p + 4);
    const std::string key = help.substr(p + 4, e - p - 4);
    if (key == "config" || key == "help") continue;
    EXPECT_NE(example.find("\"" + key + "\""), std::string::npos) << key;
  }
}

}  // namespace
}  // namespace gs::config
