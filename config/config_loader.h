// Builds a ServerConfig from command-line flags, GEMMA3N_* environment variables and an optional
// JSON file, with precedence flags > env > file > defaults. Errors throw ConfigError.
#pragma once
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/server_config.h"

namespace gs::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks up an environment variable; injectable so tests need not touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_env();

struct LoadOutcome {
  ServerConfig config;
  bool exit_now = false;              // --help / --version: print `message`, exit with exit_code
  int exit_code = 0;
  std::string message;
};

// args excludes argv[0]. Throws ConfigError on unknown flags, bad values or an unreadable file.
LoadOutcome load_config(const std::vector<std::string>& args, const EnvLookup& env);

// The --help text (every flag with its env var and file key).
std::string help_text();

}  // namespace gs::config
