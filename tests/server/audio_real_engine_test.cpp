// /v1/audio/transcriptions against the REAL engine on the tiny fixture model (random weights,
// 16 audio slots, no tokenizer): the clips the handler builds are accepted by the engine, the
// audio tower runs once per clip, and the responses keep their shapes. A minimal codec renders
// the prompt with the model's own audio placeholder ids.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/app.h"
#include "tests/audio/audio_files.h"
#include "tests/server/http_client.h"
#include "tests/support/test_paths.h"

namespace gs::server {
namespace {

using nlohmann::json;

// Ids from tests/fixtures/gemma3n-tiny/model/config.json.
constexpr int32_t kBos = 2, kBoa = 255, kAudio = 265, kEoa = 264, kSlots = 16;

class TinyCodec : public api::TextCodec {
 public:
  api::Result<api::TokenizedPrompt> render_chat(const std::vector<api::PromptTurn>& turns) const override {
    api::TokenizedPrompt p;
    p.ids = {kBos, 106, 20, 21};
    for (const auto& t : turns)
      for (const auto& part : t.parts) {
        if (part.kind == api::PromptPart::Kind::kAudio) {
          p.ids.push_back(kBoa);
          p.ids.insert(p.ids.end(), kSlots, kAudio);
          p.ids.push_back(kEoa);
          ++p.num_audio;
        } else {
          for (unsigned char c : part.text.substr(0, 8)) p.ids.push_back(30 + c % 200);
        }
      }
    p.ids.insert(p.ids.end(), {107, 106, 22});
    return p;
  }
  api::Result<std::vector<int32_t>> encode_prompt(std::string_view) const override { return std::vector<int32_t>{kBos}; }
  std::string token_bytes(int32_t id) const override { return "t" + std::to_string(id) + " "; }
  std::unique_ptr<api::StreamDecoder> stream_decoder() const override {
    return std::make_unique<api::ByteStreamDecoder>(*this);
  }
  std::vector<int32_t> stop_token_ids() const override { return {1, 106}; }
  int vocab_size() const override { return 272; }
};

TEST(AudioRealEngine, TinyModelTranscribesClipByClip) {
  runtime::EngineOptions o;
  o.model_dir = test::fixture_path("gemma3n-tiny/model");
  o.threads = 2;
  std::shared_ptr<runtime::Engine> engine = runtime::create_engine(o);
  ASSERT_EQ(engine->media_tokens(runtime::MediaInput::Kind::kAudio), kSlots);
  config::ServerConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.io_threads = 2;
  auto services = std::make_shared<api::Services>(api_settings_from(cfg, "tiny"));
  services->set_backend({engine, std::make_shared<TinyCodec>()});
  App app(cfg, services);
  auto port = app.start();
  ASSERT_TRUE(port.ok());

  const auto wav = test::write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, test::sine(22050, 1, 5.0, 300.0));
  const std::string b = "xYz";
  std::string body = "--" + b + "\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\nverbose_json\r\n--" +
                     b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n";
  body.append(wav.begin(), wav.end());
  body += "\r\n--" + b + "--\r\n";
  auto r = test::http_request(*port, "POST", "/v1/audio/transcriptions", body,
                              {{"Content-Type", "multipart/form-data; boundary=" + b}});
  ASSERT_EQ(r.status, 200) << r.body;
  const auto v = json::parse(r.body);
  EXPECT_DOUBLE_EQ(v["duration"].get<double>(), 5.0);
  const auto& segs = v["segments"];
  ASSERT_EQ(segs.size(), 3u);  // 16 slots hold ~2.4 s: 5 s needs three clips
  int tokens = 0;
  for (const auto& s : segs) {
    EXPECT_LE(s["end"].get<double>() - s["start"].get<double>(), kSlots / 6.25);
    EXPECT_LE(s["avg_logprob"].get<double>(), 0.0);
    tokens += static_cast<int>(s["tokens"].size());
  }
  EXPECT_GT(tokens, 0);
  EXPECT_EQ(v["text"].get<std::string>().substr(0, 1), "t");
  bool audio_loaded = false;
  for (const auto& g : engine->stats().media)
    if (g.name == "audio") audio_loaded = g.loaded;
  EXPECT_TRUE(audio_loaded);
  app.shutdown([&](double s) { engine->shutdown(s); });
}

}  // namespace
}  // namespace gs::server
