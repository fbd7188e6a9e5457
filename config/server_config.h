// Server configuration as plain structs. Filled by config_loader (flags > env > file > defaults);
// knows no runtime or HTTP types so every layer can read it without pulling in the others.
#pragma once
#include <cstdint>
#include <string>

namespace gs::config {

struct LimitsConfig {
  int64_t max_body_bytes = 8 << 20;   // request body limit (413 above it)
  int64_t max_upload_bytes = 25 << 20;  // multipart uploads (audio files): 413 above it
  double header_timeout_s = 10;       // time to receive the request header
  double body_timeout_s = 30;         // time to receive the body once the header is in
  double idle_timeout_s = 60;         // keep-alive: time to wait for the next request
  double sse_heartbeat_s = 15;        // SSE comment after this much silence in a stream
  int max_n = 8;                      // largest accepted `n`
  int max_tokens_cap = 32768;         // largest accepted max_tokens
};

struct RuntimeOptions {
  std::string model_dir;              // empty: the embedded demo model (models/demo)
  std::string weights = "auto";       // f32 | bf16 | q8 | q4 | auto
  int threads = 0;                    // compute threads, 0 = all cores
  int max_batch = 8;
  int max_queue = 64;
  int max_context = 32768;
  std::string default_size;           // MatFormer size id used without a budget
  int64_t memory_budget_bytes = 0;    // weights + KV cache; 0 = unlimited
  bool allow_vision = true, allow_audio = true;   // --modalities
  bool preload_vision = false, preload_audio = false;
  double idle_unload_s = 300;         // drop an idle tower after this long; 0 = never
  int64_t ple_cache_bytes = int64_t{64} << 20;
  std::string custom_slices;          // comma-separated slice JSON files
  std::string cache_dir = "auto";     // convert cache: auto (~/.cache/gemma3n-server), off, or a directory
};

// Where image_url may point besides data: URLs. Both are off by default: fetching URLs or reading
// files on behalf of a client is a server-side request the operator must opt into.
struct MediaSourceConfig {
  bool fetch_remote = false;          // http(s) image URLs
  int64_t fetch_max_bytes = 20 << 20; // largest fetched image
  double fetch_timeout_s = 10;        // whole fetch (connect + headers + body)
  std::string image_dir;              // local paths (file:// or absolute) only under this directory
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: pick a free port (see port_file)
  std::string port_file;              // if set, the bound port is written there once listening
  std::string api_key;                // empty: no authentication
  std::string cors_origin;            // empty: no CORS headers; "*" or an origin
  std::string model_name;             // public model id; empty: the model directory's name
  int io_threads = 2;
  double shutdown_deadline_s = 10;    // on SIGTERM: time in-flight requests get to finish
  int default_max_tokens = 1024;      // when the request gives none
  std::string log_level = "info";
  std::string config_file;            // where the file layer came from (informational)
  LimitsConfig limits;
  RuntimeOptions runtime;
  MediaSourceConfig media_sources;
};

}  // namespace gs::config
