// Parity of the audio path against the Hugging Face reference on the tiny random fixture
// (tests/fixtures/gemma3n-tiny, float32 reference).
//
// Tolerances: the log-mel features allow 1e-3. Our FFT is float32 (FFTW float plan) while the
// reference's rfft may be float64 (NumPy 1.x); float32 FFT round-off is ~1e-7 of a frame's peak
// magnitude, which is a large relative error in weak mel bands, and ln() turns relative into absolute
// error: measured 4e-5 (clip A) and 2.2e-4 (clip B's weak 150 Hz band at ln(mel) = -7). Encoder
// stages, tower outputs and soft tokens allow 1e-4 absolute: the reference's own float32 vs float64
// difference is 1.4e-6 (audio_tower_f32_vs_f64_maxdiff), values are O(1) after RMS norms, and we
// measure 4e-6..7e-6.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "runtime/audio/decode.h"
#include "runtime/models/gemma3n/audio/audio_embedder.h"
#include "runtime/models/gemma3n/audio/audio_model.h"
#include "tests/audio/audio_files.h"
#include "tests/audio/audio_test_util.h"

namespace gs::runtime::gemma3n {
namespace {

using test::golden_bool;
using test::golden_f32;
using test::max_abs_diff;

constexpr double kFeatureTol = 1e-3;
constexpr double kTowerTol = 1e-4;

struct Tiny {
  ComputeContext ctx{2};
  WeightStore store;
  Gemma3nConfig config;
  std::unique_ptr<AudioModel> model;
};

Tiny& tiny() {
  static Tiny* t = [] {
    auto* t = new Tiny;
    auto store = WeightStore::open(test::fixture_path("gemma3n-tiny/model"));
    EXPECT_TRUE(store.ok()) << store.error().message;
    t->store = std::move(store.value());
    auto cfg = load_config(test::fixture_path("gemma3n-tiny/model"));
    EXPECT_TRUE(cfg.ok()) << cfg.error().message;
    t->config = cfg.value();
    auto m = AudioModel::load(t->store, t->config, t->ctx);
    EXPECT_TRUE(m.ok()) << m.error().message;
    t->model = std::move(m.value());
    return t;
  }();
  return *t;
}

std::vector<float> waveform_a() { return golden_f32("gemma3n-tiny/golden/audio_waveform.npy"); }
std::vector<float> waveform_b() { return golden_f32("gemma3n-tiny/golden/audio_batch_waveform_b.npy"); }

TEST(TinyAudio, LogMelFeaturesAndMaskMatchReference) {
  const AudioFeatures f = tiny().model->features(waveform_a());
  ASSERT_EQ(f.frames, 197);
  EXPECT_LT(max_abs_diff(f.data, golden_f32("gemma3n-tiny/golden/audio_input_features.npy")), kFeatureTol);
  EXPECT_EQ(f.mask, golden_bool("gemma3n-tiny/golden/audio_input_features_mask.npy"));
}

TEST(TinyAudio, BatchFeaturesPadToLongestAndMaskTheShortClip) {
  const std::vector<float> a = waveform_a(), b = waveform_b();
  const std::span<const float> clips[2] = {a, b};
  const auto fs = tiny().model->feature_extractor().extract_batch(clips);
  ASSERT_EQ(fs.size(), 2u);
  const auto gold = golden_f32("gemma3n-tiny/golden/audio_batch_input_features.npy");
  const auto gmask = golden_bool("gemma3n-tiny/golden/audio_batch_input_features_mask.npy");
  ASSERT_EQ(gold.size(), 2u * 197 * 128);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(fs[i].frames, 197);
    EXPECT_LT(max_abs_diff(fs[i].data.data(), gold.data() + i * 197 * 128, 197 * 128), kFeatureTol) << i;
    EXPECT_EQ(fs[i].mask, std::vector<uint8_t>(gmask.begin() + i * 197, gmask.begin() + (i + 1) * 197)) << i;
  }
  EXPECT_LT(std::count(fs[1].mask.begin(), fs[1].mask.end(), 1), 197);  // B's tail is masked
}

TEST(TinyAudio, SscpAndConformerBlocksMatchReference) {
  AudioFeatures f;
  f.data = golden_f32("gemma3n-tiny/golden/audio_input_features.npy");
  f.frames = 197;
  f.mask.assign(197, 1);
  AudioTowerTrace trace;
  tiny().model->tower(f, &trace);
  EXPECT_LT(max_abs_diff(trace.sscp, golden_f32("gemma3n-tiny/golden/audio_debug_sscp_output.npy")), kTowerTol);
  ASSERT_EQ(trace.blocks.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const auto g = golden_f32("gemma3n-tiny/golden/audio_debug_conformer" + std::to_string(i) + "_output.npy");
    EXPECT_LT(max_abs_diff(trace.blocks[i], g), kTowerTol) << "conformer " << i;
  }
}

TEST(TinyAudio, TowerOutputMaskAndSoftTokensMatchReference) {
  const AudioFeatures f = tiny().model->features(waveform_a());
  const AudioTowerOutput t = tiny().model->tower(f);
  ASSERT_EQ(t.tokens, 13);
  EXPECT_LT(max_abs_diff(t.encodings, golden_f32("gemma3n-tiny/golden/audio_tower_output.npy")), kTowerTol);
  EXPECT_EQ(t.pad_mask, golden_bool("gemma3n-tiny/golden/audio_tower_mask.npy"));
  const std::vector<float> soft = tiny().model->soft_tokens(t);
  EXPECT_LT(max_abs_diff(soft, golden_f32("gemma3n-tiny/golden/audio_soft_tokens.npy")), kTowerTol);
}

TEST(TinyAudio, PaddedBatchTowerMatchesReference) {
  const auto feats = golden_f32("gemma3n-tiny/golden/audio_batch_input_features.npy");
  const auto fmask = golden_bool("gemma3n-tiny/golden/audio_batch_input_features_mask.npy");
  const auto gold = golden_f32("gemma3n-tiny/golden/audio_batch_tower_output.npy");
  const auto gmask = golden_bool("gemma3n-tiny/golden/audio_batch_tower_mask.npy");
  for (int i = 0; i < 2; ++i) {
    AudioFeatures f;
    f.frames = 197;
    f.data.assign(feats.begin() + i * 197 * 128, feats.begin() + (i + 1) * 197 * 128);
    f.mask.assign(fmask.begin() + i * 197, fmask.begin() + (i + 1) * 197);
    const AudioTowerOutput t = tiny().model->tower(f);
    ASSERT_EQ(t.tokens, 13);
    EXPECT_LT(max_abs_diff(t.encodings.data(), gold.data() + i * 13 * 64, 13 * 64), kTowerTol) << i;
    EXPECT_EQ(t.pad_mask, std::vector<uint8_t>(gmask.begin() + i * 13, gmask.begin() + (i + 1) * 13)) << i;
  }
  EXPECT_GT(std::count(gmask.begin() + 13, gmask.end(), 1), 0);  // the batch really pads clip B
}

TEST(TinyAudio, EncodePadsToTheAudioSlotsWithTheLastHardToken) {
  auto e = tiny().model->encode(waveform_a());
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ(e->n_tokens, 16);
  EXPECT_EQ(e->n_audio_tokens, 13);
  EXPECT_EQ(e->text_hidden, 128);
  EXPECT_LT(max_abs_diff(e->soft_tokens, golden_f32("gemma3n-tiny/golden/mm_audio_features_padded.npy")), kTowerTol);
  // The padding row is the hard path of text id vocab_size - 1 (= 271, audio row 7).
  auto hard = tiny().model->hard_token(271);
  ASSERT_TRUE(hard.ok());
  EXPECT_EQ(hard.value(), tiny().model->padding_embedding());
  EXPECT_FALSE(tiny().model->hard_token(263).ok());  // a vision id
  EXPECT_FALSE(tiny().model->hard_token(272).ok());
}

TEST(TinyAudio, EncodeBatchPadsLikeTheReferenceBatch) {
  const std::vector<float> a = waveform_a(), b = waveform_b();
  const std::span<const float> clips[2] = {a, b};
  auto batch = tiny().model->encode_batch(clips);
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_LT(max_abs_diff((*batch)[0].soft_tokens, golden_f32("gemma3n-tiny/golden/mm_audio_features_padded.npy")),
            kTowerTol);
  // Row B: the reference batch tower output through embed_audio, then padding rows.
  const auto gold = golden_f32("gemma3n-tiny/golden/audio_batch_tower_output.npy");
  const auto gmask = golden_bool("gemma3n-tiny/golden/audio_batch_tower_mask.npy");
  AudioTowerOutput t;
  t.tokens = 13;
  t.encodings.assign(gold.begin() + 13 * 64, gold.end());
  t.pad_mask.assign(gmask.begin() + 13, gmask.end());
  const std::vector<float> soft = tiny().model->soft_tokens(t);
  const AudioEncoding& eb = (*batch)[1];
  EXPECT_EQ(eb.n_audio_tokens, std::count(t.pad_mask.begin(), t.pad_mask.end(), 0));
  for (int i = 0; i < 16; ++i) {
    const bool real = i < 13 && !t.pad_mask[i];
    const float* want = real ? soft.data() + i * 128 : tiny().model->padding_embedding().data();
    EXPECT_LT(max_abs_diff(eb.soft_tokens.data() + i * 128, want, 128), kTowerTol) << "row " << i;
  }
  const std::vector<float> empty;
  const std::span<const float> with_empty[2] = {a, empty};
  EXPECT_FALSE(tiny().model->encode_batch(with_empty).ok());
}

TEST(TinyAudio, DecodedFilesFeedTheEncoder) {
  // A float WAV of waveform A decodes bit-exactly, so the whole path reproduces the reference.
  const std::vector<float> a = waveform_a();
  auto wav = audio::decode_audio(test::write_sndfile(SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, a));
  ASSERT_TRUE(wav.ok()) << wav.error().message;
  ASSERT_EQ(wav->samples, a);
  auto e = tiny().model->encode(wav->samples);
  ASSERT_TRUE(e.ok());
  EXPECT_LT(max_abs_diff(e->soft_tokens, golden_f32("gemma3n-tiny/golden/mm_audio_features_padded.npy")), kTowerTol);
  // A 44.1 kHz stereo FLAC goes through downmix and resampling to the same 2 s token count.
  auto flac = audio::decode_audio(test::write_sndfile(SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 44100, 2,
                                                      test::sine(44100, 2, 2.0, 440.0)));
  ASSERT_TRUE(flac.ok()) << flac.error().message;
  auto ef = tiny().model->encode(flac->samples);
  ASSERT_TRUE(ef.ok());
  EXPECT_EQ(ef->n_audio_tokens, 13);
}

TEST(TinyAudio, TooShortAudioIsAnError) {
  std::vector<float> wav(300, 0.1f);
  auto e = tiny().model->encode(wav);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(tiny().model->encode({}).ok());
}

TEST(TinyAudio, PadSoftTokensRejectsTooManyTokens) {
  std::vector<float> soft(3 * 2, 1.0f), pad(2, 0.0f);
  std::vector<uint8_t> mask = {0, 1, 0};
  auto ok = pad_audio_soft_tokens(soft, 3, mask, pad, 4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), (std::vector<float>{1, 1, 0, 0, 1, 1, 0, 0}));
  EXPECT_FALSE(pad_audio_soft_tokens(soft, 3, mask, pad, 2).ok());
}

TEST(TinyAudio, ReportsParamsAndResidentBytes) {
  EXPECT_EQ(tiny().model->params(), 216136 + 8832);  // MANIFEST parameter counts
  EXPECT_EQ(tiny().model->resident_bytes(), size_t{216136 + 8832} * 4);
}

TEST(TinyAudio, ShapeMismatchIsAnErrorNamingTheTensor) {
  Gemma3nConfig cfg = tiny().config;
  cfg.audio_config_json = R"({"hidden_size": 32, "conf_num_attention_heads": 4, "conf_num_hidden_layers": 2,
                              "sscp_conv_channel_size": [16, 8], "vocab_offset": 264, "vocab_size": 8})";
  auto m = AudioModel::load(tiny().store, cfg, tiny().ctx);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("model.audio_tower."), std::string::npos) << m.error().message;
  cfg.audio_config_json = R"({"hidden_size": "x"})";
  EXPECT_FALSE(AudioModel::load(tiny().store, cfg, tiny().ctx).ok());
}

TEST(TinyAudioGroup, LoadsOnceOnConcurrentFirstUseAndReloadsAfterUnload) {
  AudioModelGroup group(tiny().store, tiny().config, tiny().ctx);
  EXPECT_FALSE(group.loaded());
  EXPECT_EQ(group.resident_bytes(), 0u);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] { ok += group.get().ok() ? 1 : 0; });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(group.load_count(), 1);
  EXPECT_TRUE(group.loaded());
  EXPECT_EQ(group.params(), 216136 + 8832);
  auto held = group.get().value();
  group.unload();
  EXPECT_FALSE(group.loaded());
  EXPECT_EQ(group.resident_bytes(), 0u);
  EXPECT_TRUE(held->encode(waveform_a()).ok());  // an in-flight user keeps its copy
  auto again = group.get();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(group.load_count(), 2);
  auto e = again.value()->encode(waveform_a());
  ASSERT_TRUE(e.ok());
  EXPECT_LT(max_abs_diff(e->soft_tokens, golden_f32("gemma3n-tiny/golden/mm_audio_features_padded.npy")), kTowerTol);
}

}  // namespace
}  // namespace gs::runtime::gemma3n
