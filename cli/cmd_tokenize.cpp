// gemma3n-cli tokenize / detokenize / chat-template: the tokenizer and the Gemma 3n chat format
// from the command line (stdin in, JSON or text out).
//
//   tokenize      (--model DIR | --tokenizer FILE) [--no-special] [--bos]
//                 stdin: UTF-8 text, used byte for byte (a trailing newline is part of it)
//                 stdout: {"ids":[...]}
//   detokenize    (--model DIR | --tokenizer FILE) [--skip-special]
//                 stdin: {"ids":[...]} or [...]; stdout: the text
//   chat-template --model DIR [--tokenizer FILE] [--no-generation-prompt]
//                 stdin: OpenAI-style messages array (or {"messages": [...]}): role + content as a
//                 string or parts [{type:text,text}, {type:image_url,...}, {type:input_audio,...}]
//                 stdout: {"text":..., "ids":[...]}
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

namespace gs::cli {
namespace {

using nlohmann::json;
using runtime::ChatMessage;
using runtime::ChatPart;

struct TokenizerSource {
  std::string model_dir;
  std::string file;
};

void add_source_options(CLI::App& app, TokenizerSource* s, bool model_required) {
  auto* m = app.add_option("--model", s->model_dir, "model directory (uses DIR/tokenizer.json)");
  auto* f = app.add_option("--tokenizer", s->file, "tokenizer.json file");
  if (model_required) {
    m->required();
  } else {
    m->excludes(f);
  }
}

std::unique_ptr<runtime::Tokenizer> load_tokenizer(const TokenizerSource& s) {
  const std::string path = !s.file.empty() ? s.file : s.model_dir.empty() ? "" : s.model_dir + "/tokenizer.json";
  if (path.empty()) {
    std::fprintf(stderr, "error: give --model DIR or --tokenizer FILE\n");
    return nullptr;
  }
  auto t = runtime::Tokenizer::load(path);
  if (!t) {
    std::fprintf(stderr, "error: %s\n", t.error().message.c_str());
    return nullptr;
  }
  return std::make_unique<runtime::Tokenizer>(std::move(t).value());
}

std::string read_stdin() {
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return s;
}

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

// One OpenAI content part.
bool parse_part(const json& p, ChatPart* out, std::string* err) {
  const std::string type = p.is_object() ? p.value("type", "") : "";
  if (type == "text") {
    if (!p.contains("text") || !p["text"].is_string()) return *err = "text part without a string \"text\"", false;
    *out = {ChatPart::Kind::kText, p["text"].get<std::string>()};
  } else if (type == "image_url" || type == "image") {
    *out = {ChatPart::Kind::kImage, ""};
  } else if (type == "input_audio" || type == "audio") {
    *out = {ChatPart::Kind::kAudio, ""};
  } else {
    return *err = "unsupported content part type '" + type + "'", false;
  }
  return true;
}

bool parse_messages(const json& j, std::vector<ChatMessage>* msgs, std::string* err) {
  const json& arr = j.is_object() && j.contains("messages") ? j["messages"] : j;
  if (!arr.is_array()) return *err = "expected a JSON array of messages", false;
  for (const json& m : arr) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return *err = "each message needs a string \"role\"", false;
    ChatMessage cm{m["role"].get<std::string>(), {}};
    const json content = m.value("content", json());
    if (content.is_string()) {
      cm.parts.push_back({ChatPart::Kind::kText, content.get<std::string>()});
    } else if (content.is_array()) {
      for (const json& p : content) {
        ChatPart part;
        if (!parse_part(p, &part, err)) return false;
        cm.parts.push_back(std::move(part));
      }
    } else if (!content.is_null()) {
      return *err = "message content must be a string, an array of parts or null", false;
    }
    msgs->push_back(std::move(cm));
  }
  return true;
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  CLI::App app{"Tokenize UTF-8 text from stdin; prints {\"ids\":[...]}"};
  TokenizerSource src;
  bool no_special = false, bos = false;
  add_source_options(app, &src, false);
  app.add_flag("--no-special", no_special, "spell special-token strings (<start_of_turn>, ...) as plain text");
  app.add_flag("--bos", bos, "prepend <bos>");
  CLI11_PARSE(app, argc, argv);
  auto tok = load_tokenizer(src);
  if (!tok) return 1;
  auto ids = tok->encode(read_stdin(), !no_special);
  if (!ids) {
    std::fprintf(stderr, "error: %s\n", ids.error().message.c_str());
    return 1;
  }
  if (bos) ids->insert(ids->begin(), tok->bos_id());
  std::printf("{\"ids\":%s}\n", ids_json(*ids).c_str());
  return 0;
}

int cmd_detokenize(int argc, char** argv) {
  CLI::App app{"Decode {\"ids\":[...]} (or a JSON array) from stdin to text"};
  TokenizerSource src;
  bool skip_special = false;
  add_source_options(app, &src, false);
  app.add_flag("--skip-special", skip_special, "leave out special tokens");
  CLI11_PARSE(app, argc, argv);
  auto tok = load_tokenizer(src);
  if (!tok) return 1;
  std::vector<int32_t> ids;
  try {
    const json j = json::parse(read_stdin());
    ids = (j.is_object() ? j.at("ids") : j).get<std::vector<int32_t>>();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: expected {\"ids\":[...]} or a JSON array of ints: %s\n", e.what());
    return 1;
  }
  const std::string text = tok->decode(ids, skip_special);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

int cmd_chat_template(int argc, char** argv) {
  CLI::App app{"Render a JSON messages array from stdin in the Gemma 3n chat format; prints {\"text\",\"ids\"}"};
  TokenizerSource src;
  bool no_prompt = false;
  add_source_options(app, &src, true);
  app.add_flag("--no-generation-prompt", no_prompt, "do not end with <start_of_turn>model");
  CLI11_PARSE(app, argc, argv);
  auto tok = load_tokenizer(src);
  if (!tok) return 1;
  auto opt = runtime::chat_options_for_model(src.model_dir, *tok);
  if (!opt) {
    std::fprintf(stderr, "error: %s\n", opt.error().message.c_str());
    return 1;
  }
  opt->add_generation_prompt = !no_prompt;
  std::vector<ChatMessage> msgs;
  std::string err;
  try {
    if (!parse_messages(json::parse(read_stdin()), &msgs, &err)) {
      std::fprintf(stderr, "error: %s\n", err.c_str());
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: invalid JSON: %s\n", e.what());
    return 1;
  }
  auto r = runtime::render_chat(msgs, *tok, *opt);
  if (!r) {
    std::fprintf(stderr, "error: %s\n", r.error().message.c_str());
    return 1;
  }
  const json text = r->text;
  std::printf("{\"text\":%s,\"ids\":%s}\n", text.dump().c_str(), ids_json(r->ids).c_str());
  return 0;
}

}  // namespace gs::cli
