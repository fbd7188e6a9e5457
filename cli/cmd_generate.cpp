// gemma3n-cli generate: text in, text out, through the same engine the server uses. --prompt is
// wrapped in the chat template as one user turn (--raw: tokenised as is); --chat takes an OpenAI
// style messages JSON file. Tokens are streamed to stdout as they come.
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "runtime/engine/engine.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/incremental_decoder.h"
#include "runtime/tokenizer/tokenizer.h"

namespace gs::cli {
namespace {

class PrintSink : public runtime::EventSink {
 public:
  explicit PrintSink(const runtime::Tokenizer& tok) : dec_(tok) {}
  void on_event(const runtime::TokenEvent& ev) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (ev.kind == runtime::TokenEvent::Kind::kToken) {
      std::fputs(dec_.push(ev.token).c_str(), stdout);
      std::fflush(stdout);
      return;
    }
    std::fputs(dec_.flush().c_str(), stdout);
    std::fputs("\n", stdout);
    if (ev.kind == runtime::TokenEvent::Kind::kFailed) std::fprintf(stderr, "error: %s\n", ev.error.message.c_str());
    else
      std::fprintf(stderr, "[%d prompt + %d completion tokens, ttft %.2f s, total %.2f s, model %s]\n",
                   ev.finish.prompt_tokens, ev.finish.completion_tokens, ev.finish.ttft_s, ev.finish.total_s,
                   ev.finish.model.c_str());
    done_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return done_; });
  }

 private:
  runtime::IncrementalDecoder dec_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
};

bool messages_from_json(const std::string& path, std::vector<runtime::ChatMessage>* out) {
  std::ifstream f(path);
  auto j = nlohmann::json::parse(f, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& m : j) {
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["content"].is_string()) return false;
    out->push_back({m["role"].get<std::string>(), {{runtime::ChatPart::Kind::kText, m["content"].get<std::string>()}}});
  }
  return true;
}

}  // namespace

int cmd_generate(int argc, char** argv) {
  CLI::App app{"Generate text with the engine (chat template, sampling)"};
  runtime::EngineOptions eo;
  std::string prompt, chat_file, tokenizer_path, system;
  bool raw = false;
  runtime::GenerationRequest req;
  req.max_tokens = 128;
  float temperature = 1.0f;
  uint64_t seed = 0;
  app.add_option("--model", eo.model_dir, "model directory (with tokenizer.json)")->required();
  app.add_option("--tokenizer", tokenizer_path, "tokenizer.json (default: MODEL/tokenizer.json)");
  app.add_option("--prompt", prompt, "a user message");
  app.add_option("--system", system, "a system message");
  app.add_option("--chat", chat_file, "OpenAI-style messages JSON file");
  app.add_flag("--raw", raw, "tokenise --prompt as is (no chat template)");
  app.add_option("-n,--max-tokens", req.max_tokens)->capture_default_str();
  app.add_option("--temperature", temperature)->capture_default_str();
  app.add_option("--top-p", req.sampling.top_p)->capture_default_str();
  app.add_option("--top-k", req.sampling.top_k)->capture_default_str();
  app.add_option("--min-p", req.sampling.min_p)->capture_default_str();
  app.add_option("--repetition-penalty", req.sampling.repetition_penalty)->capture_default_str();
  app.add_option("--seed", seed, "sampling seed (0: random)");
  app.add_option("--slice", req.model, "MatFormer size id or slice name");
  app.add_option("--weights", eo.weights)->capture_default_str();
  app.add_option("--threads", eo.threads)->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  req.sampling.temperature = temperature;
  if (seed) req.sampling.seed = seed;

  if (tokenizer_path.empty()) tokenizer_path = eo.model_dir + "/tokenizer.json";
  auto tok = runtime::Tokenizer::load(tokenizer_path);
  if (!tok.ok()) {
    std::fprintf(stderr, "error: %s\n", tok.error().message.c_str());
    return 1;
  }
  if (raw) {
    auto ids = tok->encode(prompt, true);
    if (!ids.ok()) {
      std::fprintf(stderr, "error: %s\n", ids.error().message.c_str());
      return 1;
    }
    req.prompt = *ids;
    req.prompt.insert(req.prompt.begin(), tok->bos_id());
  } else {
    std::vector<runtime::ChatMessage> msgs;
    if (!chat_file.empty() && !messages_from_json(chat_file, &msgs)) {
      std::fprintf(stderr, "error: %s is not a JSON array of {role, content} messages\n", chat_file.c_str());
      return 1;
    }
    if (!system.empty()) msgs.insert(msgs.begin(), {"system", {{runtime::ChatPart::Kind::kText, system}}});
    if (!prompt.empty()) msgs.push_back({"user", {{runtime::ChatPart::Kind::kText, prompt}}});
    auto opt = runtime::chat_options_for_model(eo.model_dir, *tok);
    if (!opt.ok()) {
      std::fprintf(stderr, "error: %s\n", opt.error().message.c_str());
      return 1;
    }
    auto r = runtime::render_chat(msgs, *tok, *opt);
    if (!r.ok()) {
      std::fprintf(stderr, "error: %s\n", r.error().message.c_str());
      return 1;
    }
    req.prompt = r->ids;
  }
  req.stop_tokens = runtime::chat_stop_ids(*tok);
  auto engine = runtime::create_engine(eo);
  auto sink = std::make_shared<PrintSink>(*tok);
  req.sink = sink;
  auto h = engine->submit(std::move(req));
  if (!h.ok()) {
    std::fprintf(stderr, "error: %s\n", h.error().message.c_str());
    return 1;
  }
  sink->wait();
  engine->shutdown(0);
  return 0;
}

}  // namespace gs::cli
