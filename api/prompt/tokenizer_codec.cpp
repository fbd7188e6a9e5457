#include "api/prompt/tokenizer_codec.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

namespace gs::api {
namespace {

ApiError template_error(const runtime::Error& e) {
  return bad_request(e.message, "messages", e.code == runtime::ErrorCode::kUnsupported ? "unsupported_content" : "invalid_value");
}

class TokenizerCodec : public TextCodec {
 public:
  TokenizerCodec(runtime::Tokenizer tok, runtime::ChatTemplateOptions opts)
      : tok_(std::move(tok)), opts_(std::move(opts)), stop_ids_(runtime::chat_stop_ids(tok_)) {}

  Result<TokenizedPrompt> render_chat(const std::vector<PromptTurn>& turns) const override {
    std::vector<runtime::ChatMessage> msgs;
    for (const PromptTurn& t : turns) {
      runtime::ChatMessage m{t.role, {}};
      for (const PromptPart& p : t.parts) {
        const auto kind = p.kind == PromptPart::Kind::kText    ? runtime::ChatPart::Kind::kText
                          : p.kind == PromptPart::Kind::kImage ? runtime::ChatPart::Kind::kImage
                                                               : runtime::ChatPart::Kind::kAudio;
        m.parts.push_back({kind, p.text});
      }
      msgs.push_back(std::move(m));
    }
    auto r = runtime::render_chat(msgs, tok_, opts_);
    if (!r) return template_error(r.error());
    return TokenizedPrompt{std::move(r->ids), r->num_images, r->num_audio};
  }

  Result<std::vector<int32_t>> encode_prompt(std::string_view text) const override {
    auto ids = tok_.encode(text, /*parse_special=*/true);
    if (!ids) return bad_request(ids.error().message, "prompt", "invalid_value");
    std::vector<int32_t> out{tok_.bos_id()};
    out.insert(out.end(), ids->begin(), ids->end());
    return out;
  }

  std::string token_bytes(int32_t id) const override {
    const auto b = tok_.token_bytes(id);
    return std::string(b.begin(), b.end());
  }
  std::unique_ptr<StreamDecoder> stream_decoder() const override { return std::make_unique<ByteStreamDecoder>(*this); }
  std::vector<int32_t> stop_token_ids() const override { return stop_ids_; }
  int vocab_size() const override { return tok_.vocab_size(); }

 private:
  runtime::Tokenizer tok_;
  runtime::ChatTemplateOptions opts_;
  std::vector<int32_t> stop_ids_;
};

}  // namespace

runtime::Expected<std::shared_ptr<const TextCodec>> load_tokenizer_codec(const std::string& model_dir) {
  const std::string path = (std::filesystem::path(model_dir) / "tokenizer.json").string();
  if (!std::filesystem::exists(path))
    return runtime::make_error(runtime::ErrorCode::kNotFound, "no tokenizer.json in " + model_dir);
  auto tok = runtime::Tokenizer::load(path);
  if (!tok) return tok.error();
  auto opts = runtime::chat_options_for_model(model_dir, tok.value());
  runtime::ChatTemplateOptions chosen;
  if (opts) {
    chosen = std::move(opts.value());
  } else {
    // Text still works without the media markers; media requests then get a clear 400.
    spdlog::warn("chat template: {}; image/audio prompts are disabled", opts.error().message);
  }
  return std::shared_ptr<const TextCodec>(std::make_shared<TokenizerCodec>(std::move(tok.value()), std::move(chosen)));
}

}  // namespace gs::api
