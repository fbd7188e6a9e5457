// One table of options drives all three sources (flags, env, file) and the --help text, so a
// new setting is one row and can never be settable in one source but not another.
#include "config/config_loader.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gs::config {
namespace {

using Setter = std::function<void(ServerConfig&, const std::string&)>;

struct OptionSpec {
  std::string flag;      // "--port"
  std::string key;       // JSON key and env suffix: "port" -> GEMMA3N_PORT
  std::string help;
  Setter set;
};

std::string env_name(const std::string& key) {
  std::string out = "GEMMA3N_";
  for (char c : key) out += (c == '-') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

int64_t parse_int(const std::string& key, const std::string& v, int64_t lo, int64_t hi) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < lo || out > hi)
    throw ConfigError(key + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], got '" + v + "'");
  return out;
}

// "3GiB", "512MiB", "1500000000" -> bytes.
int64_t parse_bytes(const std::string& key, const std::string& v) {
  size_t i = 0;
  while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
  const std::string num = v.substr(0, i), unit = v.substr(i);
  char* end = nullptr;
  const double n = std::strtod(num.c_str(), &end);
  double mul = 0;
  if (unit.empty() || unit == "B") mul = 1;
  else if (unit == "KiB" || unit == "K") mul = 1024.0;
  else if (unit == "MiB" || unit == "M") mul = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") mul = 1024.0 * 1024 * 1024;
  else if (unit == "KB") mul = 1e3;
  else if (unit == "MB") mul = 1e6;
  else if (unit == "GB") mul = 1e9;
  if (num.empty() || end != num.c_str() + num.size() || mul == 0 || !(n >= 0))
    throw ConfigError(key + ": expected a size like 3GiB, 512MiB or a byte count, got '" + v + "'");
  return static_cast<int64_t>(n * mul);
}

double parse_double(const std::string& key, const std::string& v, double lo, double hi) {
  char* end = nullptr;
  double out = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !(out >= lo && out <= hi))
    throw ConfigError(key + ": expected a number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], got '" + v + "'");
  return out;
}

Setter str_field(std::string ServerConfig::*f) {
  return [f](ServerConfig& c, const std::string& v) { c.*f = v; };
}

std::vector<OptionSpec> option_table() {
  std::vector<OptionSpec> t;
  auto add = [&](std::string flag, std::string key, std::string help, Setter s) {
    t.push_back({std::move(flag), std::move(key), std::move(help), std::move(s)});
  };
  add("--model", "model", "model directory (default: the embedded demo model models/demo)",
      [](ServerConfig& c, const std::string& v) { c.runtime.model_dir = v; });
  add("--model-name", "model-name", "public model id (default: the model directory's name)",
      str_field(&ServerConfig::model_name));
  add("--host", "host", "address to listen on (default 127.0.0.1)", str_field(&ServerConfig::host));
  add("--port", "port", "TCP port, 0 = any free port (default 8080)",
      [](ServerConfig& c, const std::string& v) { c.port = static_cast<int>(parse_int("port", v, 0, 65535)); });
  add("--port-file", "port-file", "write the bound port to this file once listening",
      str_field(&ServerConfig::port_file));
  add("--weights", "weights", "weight storage: f32|bf16|q8|q4|auto (default auto)",
      [](ServerConfig& c, const std::string& v) {
        if (v != "f32" && v != "bf16" && v != "q8" && v != "q4" && v != "auto")
          throw ConfigError("weights: expected f32|bf16|q8|q4|auto, got '" + v + "'");
        c.runtime.weights = v;
      });
  add("--threads", "threads", "compute threads, 0 = all cores",
      [](ServerConfig& c, const std::string& v) { c.runtime.threads = static_cast<int>(parse_int("threads", v, 0, 1024)); });
  add("--max-batch", "max-batch", "sequences decoded together (default 8)",
      [](ServerConfig& c, const std::string& v) { c.runtime.max_batch = static_cast<int>(parse_int("max-batch", v, 1, 1024)); });
  add("--max-queue", "max-queue", "waiting requests before 429 (default 64)",
      [](ServerConfig& c, const std::string& v) { c.runtime.max_queue = static_cast<int>(parse_int("max-queue", v, 0, 1 << 20)); });
  add("--max-context", "max-context", "longest prompt + completion in tokens (default 32768)",
      [](ServerConfig& c, const std::string& v) { c.runtime.max_context = static_cast<int>(parse_int("max-context", v, 16, 1 << 24)); });
  add("--default-size", "default-size", "MatFormer size id used when a request names none",
      [](ServerConfig& c, const std::string& v) { c.runtime.default_size = v; });
  add("--memory-budget", "memory-budget", "weights + KV cache budget, e.g. 3GiB (0 = unlimited); work beyond it queues",
      [](ServerConfig& c, const std::string& v) { c.runtime.memory_budget_bytes = parse_bytes("memory-budget", v); });
  add("--modalities", "modalities", "what may ever load: a list of text,vision,audio (default all)",
      [](ServerConfig& c, const std::string& v) {
        c.runtime.allow_vision = c.runtime.allow_audio = false;
        std::stringstream ss(v);
        for (std::string m; std::getline(ss, m, ',');) {
          if (m == "vision" || m == "image") c.runtime.allow_vision = true;
          else if (m == "audio") c.runtime.allow_audio = true;
          else if (m != "text") throw ConfigError("modalities: unknown modality '" + m + "' (text, vision, audio)");
        }
      });
  add("--preload", "preload", "towers to load at start: a list of vision,audio (default none)",
      [](ServerConfig& c, const std::string& v) {
        std::stringstream ss(v);
        for (std::string m; std::getline(ss, m, ',');) {
          if (m == "vision" || m == "image") c.runtime.preload_vision = true;
          else if (m == "audio") c.runtime.preload_audio = true;
          else if (!m.empty()) throw ConfigError("preload: unknown tower '" + m + "' (vision, audio)");
        }
      });
  add("--idle-unload", "idle-unload", "seconds before an unused tower is dropped (default 300, 0 = never)",
      [](ServerConfig& c, const std::string& v) { c.runtime.idle_unload_s = parse_double("idle-unload", v, 0, 1e9); });
  add("--custom-slices", "custom-slices",
      "MatFormer slice files to serve besides the presets, comma-separated ({name, layers_skipped, ffn_hidden_dims})",
      [](ServerConfig& c, const std::string& v) { c.runtime.custom_slices = v; });
  add("--cache-dir", "cache-dir",
      "where quantized weights are cached between starts: auto (~/.cache/gemma3n-server), off, or a directory",
      [](ServerConfig& c, const std::string& v) { c.runtime.cache_dir = v; });
  add("--ple-cache", "ple-cache", "bytes of hot per-layer-embedding rows kept in RAM (default 64MiB)",
      [](ServerConfig& c, const std::string& v) { c.runtime.ple_cache_bytes = parse_bytes("ple-cache", v); });
  add("--api-key", "api-key", "require 'Authorization: Bearer KEY' (/health stays public)",
      str_field(&ServerConfig::api_key));
  add("--cors-origin", "cors-origin", "value of Access-Control-Allow-Origin ('*' or an origin); empty = no CORS",
      str_field(&ServerConfig::cors_origin));
  add("--max-body-bytes", "max-body-bytes", "largest request body in bytes, 413 above (default 8 MiB)",
      [](ServerConfig& c, const std::string& v) { c.limits.max_body_bytes = parse_int("max-body-bytes", v, 1024, int64_t{1} << 34); });
  add("--max-upload-bytes", "max-upload-bytes", "largest multipart upload (audio file) in bytes, 413 above (default 25 MiB)",
      [](ServerConfig& c, const std::string& v) { c.limits.max_upload_bytes = parse_int("max-upload-bytes", v, 1024, int64_t{1} << 34); });
  add("--image-fetch", "image-fetch", "fetch http(s) image_url URLs: on|off (default off)",
      [](ServerConfig& c, const std::string& v) {
        if (v != "on" && v != "off") throw ConfigError("image-fetch: expected on|off, got '" + v + "'");
        c.media_sources.fetch_remote = v == "on";
      });
  add("--image-fetch-max-bytes", "image-fetch-max-bytes", "largest fetched image in bytes (default 20 MiB)",
      [](ServerConfig& c, const std::string& v) { c.media_sources.fetch_max_bytes = parse_int("image-fetch-max-bytes", v, 1024, int64_t{1} << 32); });
  add("--image-fetch-timeout", "image-fetch-timeout", "seconds a whole image fetch may take (default 10)",
      [](ServerConfig& c, const std::string& v) { c.media_sources.fetch_timeout_s = parse_double("image-fetch-timeout", v, 0.1, 600); });
  add("--image-dir", "image-dir", "image_url may name local files under this directory (default: none allowed)",
      [](ServerConfig& c, const std::string& v) { c.media_sources.image_dir = v; });
  add("--header-timeout", "header-timeout", "seconds to receive a request header (default 10)",
      [](ServerConfig& c, const std::string& v) { c.limits.header_timeout_s = parse_double("header-timeout", v, 0.1, 3600); });
  add("--body-timeout", "body-timeout", "seconds to receive a request body (default 30)",
      [](ServerConfig& c, const std::string& v) { c.limits.body_timeout_s = parse_double("body-timeout", v, 0.1, 3600); });
  add("--idle-timeout", "idle-timeout", "seconds a keep-alive connection may idle (default 60)",
      [](ServerConfig& c, const std::string& v) { c.limits.idle_timeout_s = parse_double("idle-timeout", v, 0.1, 86400); });
  add("--sse-heartbeat", "sse-heartbeat", "seconds of silence before an SSE keep-alive comment (default 15)",
      [](ServerConfig& c, const std::string& v) { c.limits.sse_heartbeat_s = parse_double("sse-heartbeat", v, 0.05, 3600); });
  add("--max-n", "max-n", "largest accepted 'n' (default 8)",
      [](ServerConfig& c, const std::string& v) { c.limits.max_n = static_cast<int>(parse_int("max-n", v, 1, 128)); });
  add("--default-max-tokens", "default-max-tokens", "max_tokens when a request gives none (default 1024)",
      [](ServerConfig& c, const std::string& v) { c.default_max_tokens = static_cast<int>(parse_int("default-max-tokens", v, 1, 1 << 24)); });
  add("--io-threads", "io-threads", "HTTP I/O threads (default 2)",
      [](ServerConfig& c, const std::string& v) { c.io_threads = static_cast<int>(parse_int("io-threads", v, 1, 64)); });
  add("--shutdown-deadline", "shutdown-deadline", "seconds in-flight requests get on SIGTERM (default 10)",
      [](ServerConfig& c, const std::string& v) { c.shutdown_deadline_s = parse_double("shutdown-deadline", v, 0, 3600); });
  add("--log-level", "log-level", "trace|debug|info|warn|error (default info)",
      [](ServerConfig& c, const std::string& v) {
        if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error")
          throw ConfigError("log-level: expected trace|debug|info|warn|error, got '" + v + "'");
        c.log_level = v;
      });
  return t;
}

std::string json_scalar_to_string(const std::string& key, const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    std::ostringstream os;
    os << v.get<double>();
    return os.str();
  }
  throw ConfigError("config file: '" + key + "' must be a string or a number");
}

nlohmann::json read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object()) throw ConfigError("config file " + path + " is not a JSON object");
  return j;
}

const char* kConfigHelp = "JSON config file (keys as the flags without '--'; also GEMMA3N_CONFIG)";

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::string help_text() {
  std::ostringstream os;
  os << "Usage: gemma3n-server [--model DIR] [--host 127.0.0.1] [--port 8080] [options]\n\n"
     << "Every option can also come from the environment (GEMMA3N_<NAME>) or a JSON config file;\n"
     << "precedence: flags > environment > file > defaults.\n\nOptions:\n";
  os << "  --config FILE            " << kConfigHelp << "\n";
  for (const OptionSpec& o : option_table()) {
    std::string left = "  " + o.flag + " V";
    left.resize(std::max<size_t>(left.size() + 1, 27), ' ');
    os << left << o.help << "  [env " << env_name(o.key) << "]\n";
  }
  os << "  --help                   this text\n";
  return os.str();
}

LoadOutcome load_config(const std::vector<std::string>& args, const EnvLookup& env) {
  const std::vector<OptionSpec> table = option_table();
  CLI::App app{"gemma3n-server"};
  app.set_help_flag();  // our own --help (CLI11's would not list env vars)
  bool help = false;
  std::string config_path;
  app.add_flag("-h,--help", help);
  app.add_option("--config", config_path);
  std::vector<std::string> flag_values(table.size());
  std::vector<CLI::Option*> flag_opts;
  for (size_t i = 0; i < table.size(); ++i) flag_opts.push_back(app.add_option(table[i].flag, flag_values[i]));

  std::vector<std::string> rev(args.rbegin(), args.rend());  // CLI11 takes them reversed
  try {
    app.parse(rev);
  } catch (const CLI::ParseError& e) {
    throw ConfigError(std::string(e.what()) + " (see --help)");
  }
  LoadOutcome out;
  if (help) {
    out.exit_now = true;
    out.message = help_text();
    return out;
  }
  if (config_path.empty()) config_path = env("GEMMA3N_CONFIG").value_or("");
  nlohmann::json file = config_path.empty() ? nlohmann::json::object() : read_file(config_path);
  out.config.config_file = config_path;

  for (auto it = file.begin(); it != file.end(); ++it) {
    if (it.key().rfind("//", 0) == 0) continue;  // comment keys
    bool known = std::any_of(table.begin(), table.end(), [&](const OptionSpec& o) { return o.key == it.key(); });
    if (!known) throw ConfigError("config file: unknown key '" + it.key() + "'");
  }
  for (size_t i = 0; i < table.size(); ++i) {
    const OptionSpec& o = table[i];
    std::optional<std::string> value;
    if (flag_opts[i]->count() > 0) value = flag_values[i];
    else if (auto e = env(env_name(o.key))) value = *e;
    else if (file.contains(o.key)) value = json_scalar_to_string(o.key, file[o.key]);
    if (value) o.set(out.config, *value);
  }
  return out;
}

}  // namespace gs::config
