// /v1/audio/transcriptions and /translations over loopback with a scripted engine: every
// response_format, streaming, each container/codec, long audio split at silences, bad uploads.
// The fake engine answers each clip with "s<clip length in tenths of a second>", so the order
// and the cut positions of the clips are visible in the transcript.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/app.h"
#include "tests/api/fake_backend.h"
#include "tests/audio/audio_files.h"
#include "tests/server/http_client.h"
#include "tests/server/live_server.h"

namespace gs::server {
namespace {

using nlohmann::json;
using test::http_request;

class AudioFakeEngine : public test::FakeEngine {
 public:
  std::atomic<int> audio_tokens{188};
  int media_tokens(runtime::MediaInput::Kind kind) const override {
    return kind == runtime::MediaInput::Kind::kAudio ? audio_tokens.load() : FakeEngine::media_tokens(kind);
  }
};

// Longer clips answer more slowly, so later (shorter) clips often finish first.
test::FakeScript clip_script(const runtime::GenerationRequest& r) {
  test::FakeScript s;
  const size_t n = r.media.empty() ? 0 : r.media[0].data.size();
  s.tokens = test::byte_ids(" s" + std::to_string((n + 800) / 1600) + " ");
  s.tokens.push_back(test::kFakeEot);
  s.delay = std::chrono::milliseconds(static_cast<int>(n / 16000 / 5));
  return s;
}

struct LiveServer : test::BasicLiveServer<AudioFakeEngine> {
  explicit LiveServer(config::ServerConfig cfg = {}) : BasicLiveServer(std::move(cfg)) {
    engine->script = clip_script;  // before any request arrives
  }
};

const std::string kBoundary = "----gs-test-7MA4YWxkTrZu0gW";

std::string multipart(const std::vector<uint8_t>& file, const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::string& filename = "audio.wav") {
  std::string b;
  for (const auto& [k, v] : fields)
    b += "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
  b += "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename +
       "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  b.append(file.begin(), file.end());
  return b + "\r\n--" + kBoundary + "--\r\n";
}

test::HttpResult post(int port, const std::string& body, const std::string& path = "/v1/audio/transcriptions") {
  return http_request(port, "POST", path, body, {{"Content-Type", "multipart/form-data; boundary=" + kBoundary}});
}

std::vector<float> tone(double seconds, int rate = 16000) { return test::sine(rate, 1, seconds, 440.0, 0.5); }

std::vector<uint8_t> wav(const std::vector<float>& pcm, int rate = 16000, int sub = SF_FORMAT_PCM_16) {
  return test::write_sndfile(SF_FORMAT_WAV | sub, rate, 1, pcm);
}

// 70 s of tone with silent gaps at 26-27 s and 55-56 s: clips 0-26.5, 26.5-55.5, 55.5-70.
std::vector<float> long_audio() {
  auto x = tone(70);
  for (double g : {26.0, 55.0})
    for (size_t i = static_cast<size_t>(g * 16000); i < static_cast<size_t>((g + 1) * 16000); ++i) x[i] = 0;
  return x;
}

TEST(AudioEndpoint, JsonTextSrtVtt) {
  LiveServer s;
  const auto file = wav(tone(3));
  auto j = post(s.port, multipart(file, {{"model", "whisper-1"}}));
  ASSERT_EQ(j.status, 200) << j.body;
  EXPECT_EQ(j.headers["content-type"], "application/json");
  const auto body = json::parse(j.body);
  EXPECT_EQ(body["text"], "s30");
  EXPECT_EQ(body["usage"]["type"], "tokens");
  EXPECT_EQ(body["usage"]["output_tokens"], 6);  // " s30 " + end of turn
  EXPECT_EQ(body["usage"]["input_token_details"]["audio_tokens"], 188);

  auto t = post(s.port, multipart(file, {{"response_format", "text"}}));
  ASSERT_EQ(t.status, 200);
  EXPECT_EQ(t.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(t.body, "s30\n");
  auto srt = post(s.port, multipart(file, {{"response_format", "srt"}}));
  ASSERT_EQ(srt.status, 200);
  EXPECT_EQ(srt.body, "1\n00:00:00,000 --> 00:00:03,000\ns30\n\n");
  auto vtt = post(s.port, multipart(file, {{"response_format", "vtt"}}));
  ASSERT_EQ(vtt.status, 200);
  EXPECT_EQ(vtt.headers["content-type"], "text/vtt; charset=utf-8");
  EXPECT_EQ(vtt.body, "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\ns30\n\n");

  const auto seen = s.seen();
  ASSERT_EQ(seen.size(), 4u);
  ASSERT_EQ(seen[0].media.size(), 1u);
  EXPECT_EQ(seen[0].media[0].kind, runtime::MediaInput::Kind::kAudio);
  EXPECT_EQ(seen[0].media[0].data.size(), 48000u);
  EXPECT_EQ(seen[0].sampling.temperature, 0.0f);  // transcription defaults to greedy
  const std::string prompt(seen[0].prompt.begin() + 1, seen[0].prompt.end());  // FakeCodec: bytes after BOS
  EXPECT_NE(prompt.find("Transcribe this audio"), std::string::npos) << prompt;
}

TEST(AudioEndpoint, VerboseJsonLongAudioHasRealTimestamps) {
  LiveServer s;
  auto r = post(s.port, multipart(wav(long_audio()), {{"response_format", "verbose_json"}, {"language", "en"},
                                                      {"timestamp_granularities[]", "segment"}, {"temperature", "0.3"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto v = json::parse(r.body);
  EXPECT_EQ(v["task"], "transcribe");
  EXPECT_EQ(v["language"], "english");
  EXPECT_DOUBLE_EQ(v["duration"].get<double>(), 70.0);
  EXPECT_EQ(v["text"], "s265 s290 s145");
  const auto& segs = v["segments"];
  ASSERT_EQ(segs.size(), 3u);
  for (size_t i = 0; i < segs.size(); ++i) {
    EXPECT_EQ(segs[i]["id"], static_cast<int>(i));
    for (const char* k : {"seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio",
                          "no_speech_prob"})
      EXPECT_TRUE(segs[i].contains(k)) << k;
    EXPECT_LT(segs[i]["start"].get<double>(), segs[i]["end"].get<double>());
    if (i > 0) EXPECT_DOUBLE_EQ(segs[i]["start"].get<double>(), segs[i - 1]["end"].get<double>());
    EXPECT_NEAR(segs[i]["temperature"].get<double>(), 0.3, 1e-6);
    EXPECT_NEAR(segs[i]["avg_logprob"].get<double>(), -0.5, 1e-6);
  }
  EXPECT_DOUBLE_EQ(segs[0]["start"].get<double>(), 0.0);
  EXPECT_GT(segs[0]["end"].get<double>(), 26.0);  // cut inside the first gap
  EXPECT_LT(segs[0]["end"].get<double>(), 27.0);
  EXPECT_GT(segs[1]["end"].get<double>(), 55.0);
  EXPECT_LT(segs[1]["end"].get<double>(), 56.0);
  EXPECT_DOUBLE_EQ(segs[2]["end"].get<double>(), 70.0);
  EXPECT_EQ(segs[1]["text"], "s290");
  EXPECT_EQ(segs[1]["seek"], static_cast<int64_t>(segs[1]["start"].get<double>() * 100 + 0.5));
  EXPECT_EQ(v["usage"]["type"], "duration");
  const auto seen = s.seen();
  ASSERT_EQ(seen.size(), 3u);
  const std::string prompt(seen[0].prompt.begin() + 1, seen[0].prompt.end());
  EXPECT_NE(prompt.find("in English"), std::string::npos) << prompt;
  // The subtitle formats carry the same cue times.
  auto srt = post(s.port, multipart(wav(long_audio()), {{"response_format", "srt"}}));
  EXPECT_NE(srt.body.find("3\n00:00:55,"), std::string::npos) << srt.body;
  EXPECT_NE(srt.body.find(" --> 00:01:10,000\ns145\n"), std::string::npos) << srt.body;
}

TEST(AudioEndpoint, StreamDeltasInClipOrder) {
  LiveServer s;
  auto r = post(s.port, multipart(wav(long_audio()), {{"stream", "true"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  const auto payloads = test::sse_payloads(r.body);
  ASSERT_GE(payloads.size(), 4u);
  std::string deltas;
  for (size_t i = 0; i + 1 < payloads.size(); ++i) {
    const auto e = json::parse(payloads[i]);
    ASSERT_EQ(e["type"], "transcript.text.delta") << payloads[i];
    deltas += e["delta"].get<std::string>();
  }
  const auto done = json::parse(payloads.back());
  EXPECT_EQ(done["type"], "transcript.text.done");
  EXPECT_EQ(done["text"], "s265 s290 s145");
  EXPECT_EQ(deltas, done["text"].get<std::string>());
  EXPECT_EQ(done["usage"]["output_tokens"], 21);  // 3 × (" sNNN " + end of turn)
}

TEST(AudioEndpoint, Translations) {
  LiveServer s;
  auto r = post(s.port, multipart(wav(tone(2)), {{"response_format", "verbose_json"}, {"model", "gemma-test"}}),
                "/v1/audio/translations");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto v = json::parse(r.body);
  EXPECT_EQ(v["task"], "translate");
  EXPECT_EQ(v["language"], "english");
  EXPECT_EQ(v["text"], "s20");
  const auto seen = s.seen();
  ASSERT_EQ(seen.size(), 1u);
  const std::string prompt(seen[0].prompt.begin() + 1, seen[0].prompt.end());
  EXPECT_NE(prompt.find("Translate this audio into English"), std::string::npos) << prompt;
}

TEST(AudioEndpoint, EveryContainerAndCodec) {
  LiveServer s;
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
  };
  const auto mono44 = test::sine(44100, 1, 2.0, 440.0);
  const auto stereo48 = test::sine(48000, 2, 2.0, 440.0);
  std::vector<Case> cases = {
      {"wav-u8", wav(tone(2), 16000, SF_FORMAT_PCM_U8)},
      {"wav-16", test::write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, mono44)},
      {"wav-24", test::write_sndfile(SF_FORMAT_WAV | SF_FORMAT_PCM_24, 48000, 2, stereo48)},
      {"wav-32", wav(tone(2), 16000, SF_FORMAT_PCM_32)},
      {"wav-float", test::write_sndfile(SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, stereo48)},
      {"flac", test::write_sndfile(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1, mono44)},
      {"ogg-vorbis", test::write_sndfile(SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, 1, mono44)},
      {"ogg-opus", test::write_sndfile(SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, 2, stereo48)},
      {"mp3", test::write_sndfile(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, 1, mono44)},
      {"webm-opus", test::write_webm_opus(test::sine(48000, 1, 2.0, 440.0))},
  };
  for (const auto& c : cases) {
    ASSERT_GT(c.bytes.size(), 100u) << c.name << ": the test encoder failed";
    auto r = post(s.port, multipart(c.bytes, {{"response_format", "verbose_json"}}, std::string("a.") + c.name));
    ASSERT_EQ(r.status, 200) << c.name << ": " << r.body;
    const double d = json::parse(r.body)["duration"].get<double>();
    EXPECT_GT(d, 1.95) << c.name;  // codecs add priming/padding, never lose a tenth of a second
    EXPECT_LT(d, 2.2) << c.name;
  }
  EXPECT_EQ(s.seen().size(), cases.size());
}

TEST(AudioEndpoint, BadUploadsGive400WithParam) {
  LiveServer s;
  auto param = [](const test::HttpResult& r) {
    const auto e = json::parse(r.body)["error"];
    EXPECT_EQ(e["type"], "invalid_request_error");
    return e["param"].is_null() ? std::string("<null>") : e["param"].get<std::string>();
  };
  auto truncated = wav(tone(2));
  truncated.resize(30);
  for (const auto& bytes : {truncated, std::vector<uint8_t>{'n', 'o', 't', ' ', 'a', 'u', 'd', 'i', 'o', '!', '!', '!'},
                            wav(tone(0.01))}) {
    auto r = post(s.port, multipart(bytes, {}));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(param(r), "file");
    EXPECT_EQ(r.headers["x-should-retry"], "false");
  }
  auto empty = post(s.port, multipart({}, {}));
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(param(empty), "file");
  auto missing = post(s.port, "--" + kBoundary + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--" +
                                  kBoundary + "--\r\n");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(param(missing), "file");
  auto json_body = http_request(s.port, "POST", "/v1/audio/transcriptions", R"({"file":"x"})");
  EXPECT_EQ(json_body.status, 400);
  EXPECT_EQ(param(json_body), "Content-Type");
  auto cut = post(s.port, multipart(wav(tone(1)), {}).substr(0, 500));  // closing boundary missing
  EXPECT_EQ(cut.status, 400);
  EXPECT_EQ(json::parse(cut.body)["error"]["code"], "invalid_multipart");
  auto word = post(s.port, multipart(wav(tone(1)), {{"timestamp_granularities[]", "word"}}));
  EXPECT_EQ(word.status, 400);
  EXPECT_EQ(param(word), "timestamp_granularities[]");
  auto fmt = post(s.port, multipart(wav(tone(1)), {{"response_format", "diarized_json"}}));
  EXPECT_EQ(fmt.status, 400);
  EXPECT_EQ(param(fmt), "response_format");
  EXPECT_TRUE(s.seen().empty());
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
}

TEST(AudioEndpoint, UploadLimitIsSeparateFromBodyLimit) {
  config::ServerConfig cfg;
  cfg.limits.max_body_bytes = 2048;
  cfg.limits.max_upload_bytes = 200 * 1024;
  LiveServer s(cfg);
  const auto file = wav(tone(3));  // 96 KB: above the JSON limit, below the upload limit
  EXPECT_EQ(post(s.port, multipart(file, {})).status, 200);
  EXPECT_EQ(post(s.port, multipart(file, {}), "/v1/chat/completions").status, 413);  // uploads only on /v1/audio/*
  EXPECT_EQ(http_request(s.port, "POST", "/v1/chat/completions", std::string(4096, ' ')).status, 413);
  auto big = post(s.port, multipart(wav(tone(8)), {}));  // 256 KB
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(json::parse(big.body)["error"]["code"], "request_too_large");
  EXPECT_NE(json::parse(big.body)["error"]["message"].get<std::string>().find("max-upload-bytes"), std::string::npos) << big.body;
  // Without Content-Length (chunked) the parser's limit answers.
  std::string chunked = "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" +
                        kBoundary + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 260; ++i) chunked += "400\r\n" + std::string(1024, 'x') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_NE(test::raw_exchange(s.port, chunked).find(" 413 "), std::string::npos);
  EXPECT_EQ(http_request(s.port, "GET", "/health").status, 200);
}

TEST(AudioEndpoint, ModelsModalityQueueAndEngineErrors) {
  LiveServer s;
  const auto file = wav(tone(1));
  EXPECT_EQ(post(s.port, multipart(file, {{"model", "gpt-9"}})).status, 404);
  EXPECT_EQ(post(s.port, multipart(file, {{"model", "gpt-4o-mini-transcribe"}})).status, 200);
  EXPECT_EQ(post(s.port, multipart(file, {{"model", "fake-model:small"}})).headers["x-gemma3n-size"], "fake-model:small");
  s.engine->queue_full = true;
  auto busy = post(s.port, multipart(file, {}));
  EXPECT_EQ(busy.status, 429);
  EXPECT_EQ(busy.headers["retry-after"], "1");
  s.engine->queue_full = false;
  s.engine->script = [](const runtime::GenerationRequest&) {
    test::FakeScript f;
    f.tokens = test::byte_ids("par");
    f.end = runtime::FinishInfo::Reason::kError;
    return f;
  };
  EXPECT_EQ(post(s.port, multipart(file, {})).status, 500);
  auto st = post(s.port, multipart(file, {{"stream", "true"}}));
  ASSERT_EQ(st.status, 200);
  EXPECT_TRUE(json::parse(test::sse_payloads(st.body).back()).contains("error")) << st.body;
  s.engine->audio_tokens = 0;
  auto off = post(s.port, multipart(file, {}));
  EXPECT_EQ(off.status, 400);
  EXPECT_EQ(json::parse(off.body)["error"]["code"], "unsupported_content");
}

TEST(AudioEndpoint, ClipsFitTheModelsAudioSlots) {
  LiveServer s;
  s.engine->audio_tokens = 16;  // a small test model: 16 slots hold ~2.5 s of audio
  auto r = post(s.port, multipart(wav(tone(6)), {{"response_format", "verbose_json"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto segs = json::parse(r.body)["segments"];
  ASSERT_EQ(segs.size(), 3u);
  for (const auto& seg : segs) EXPECT_LE(seg["end"].get<double>() - seg["start"].get<double>(), 16 / 6.25);
  EXPECT_DOUBLE_EQ(segs[2]["end"].get<double>(), 6.0);
  for (const auto& g : s.seen()) EXPECT_LT(g.max_tokens, 32 + 15 * 3);  // short clips get short budgets
}

TEST(AudioEndpoint, SilentClipsAreNotSentToTheModel) {
  LiveServer s;
  auto x = tone(40);
  std::fill(x.begin(), x.begin() + 30 * 16000, 0.0f);  // 30 s of digital silence, then 10 s of tone
  auto r = post(s.port, multipart(wav(x), {{"response_format", "verbose_json"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto v = json::parse(r.body);
  ASSERT_EQ(v["segments"].size(), 2u);
  EXPECT_EQ(v["segments"][0]["text"], "");
  EXPECT_EQ(v["segments"][0]["no_speech_prob"], 1.0);
  EXPECT_EQ(v["text"], "s125");  // the cut sits mid-way in the silent search region (27.5 s)
  EXPECT_EQ(s.seen().size(), 1u);
  auto all_silent = post(s.port, multipart(wav(std::vector<float>(16000, 0.0f)), {}));
  ASSERT_EQ(all_silent.status, 200);
  EXPECT_EQ(json::parse(all_silent.body)["text"], "");
  EXPECT_EQ(s.seen().size(), 1u);
}

}  // namespace
}  // namespace gs::server
