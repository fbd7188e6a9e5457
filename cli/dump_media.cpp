#include "cli/dump_media.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "runtime/audio/decode.h"
#include "runtime/core/npy.h"
#include "runtime/models/gemma3n/audio/audio_model.h"
#include "runtime/models/gemma3n/vision/vision_model.h"
#include "runtime/vision/image_decode.h"
#include "runtime/vision/preprocess.h"

namespace gs::cli {
namespace {

using namespace runtime;

bool fail(const std::string& what, const Error& e) {
  std::fprintf(stderr, "error: %s: %s\n", what.c_str(), e.message.c_str());
  return false;
}

bool read_bytes(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

bool ends_with(const std::string& s, const char* suf) {
  const size_t n = std::char_traits<char>::length(suf);
  return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
}

// [3, H, W] pixel values of an image file or a uint8 [H, W, 3] .npy.
Expected<std::vector<float>> load_pixels(const std::string& path, const vision::PreprocessConfig& prep) {
  vision::RgbImage img;
  if (ends_with(path, ".npy")) {
    auto a = read_npy(path);
    if (!a.ok()) return a.error();
    if (a->dtype != DType::kU8 || a->shape.size() != 3 || a->shape[2] != 3)
      return make_error(ErrorCode::kInvalidArgument, path + ": expected uint8 [H, W, 3]");
    img.height = static_cast<int>(a->shape[0]);
    img.width = static_cast<int>(a->shape[1]);
    img.pixels = a->data;
  } else {
    std::vector<uint8_t> bytes;
    if (!read_bytes(path, &bytes)) return make_error(ErrorCode::kNotFound, "cannot read " + path);
    auto d = vision::decode_image(bytes);
    if (!d.ok()) return d.error();
    img = std::move(d).value();
  }
  return vision::preprocess_image(img, prep);
}

// Mono 16 kHz samples of an audio file or a float32 .npy.
Expected<std::vector<float>> load_wave(const std::string& path) {
  if (ends_with(path, ".npy")) {
    auto a = read_npy(path);
    if (!a.ok()) return a.error();
    return a->to_f32();
  }
  std::vector<uint8_t> bytes;
  if (!read_bytes(path, &bytes)) return make_error(ErrorCode::kNotFound, "cannot read " + path);
  audio::quiet_decoder_logs();
  auto d = audio::decode_audio(bytes);
  if (!d.ok()) return d.error();
  return std::move(d->samples);
}

bool dump_images(const gemma3n::TextModel& model, const std::string& dir, const std::vector<std::string>& images,
                 const std::string& out, std::vector<float>* rows) {
  auto prep = vision::load_preprocess_config(dir);
  if (!prep.ok()) return fail("preprocessor_config.json", prep.error());
  auto vm = gemma3n::VisionModel::load(model.store(), model.config(), model.ctx());
  if (!vm.ok()) return fail("vision tower", vm.error());
  std::vector<float> pixels, tower;
  std::vector<int64_t> tshape;
  for (const auto& path : images) {
    auto px = load_pixels(path, *prep);
    if (!px.ok()) return fail(path, px.error());
    auto enc = (*vm)->encode(px->data(), prep->height, prep->width);
    if (!enc.ok()) return fail(path, enc.error());
    pixels.insert(pixels.end(), px->begin(), px->end());
    tower.insert(tower.end(), enc->tower.begin(), enc->tower.end());
    rows->insert(rows->end(), enc->soft_tokens.begin(), enc->soft_tokens.end());
    tshape = {enc->hidden, enc->grid, enc->grid};
  }
  const int64_t n = static_cast<int64_t>(images.size()), D = model.text_config().hidden_size;
  return write_npy_f32(out + "/pixel_values.npy", {n, 3, prep->height, prep->width}, pixels.data()).ok() &&
         write_npy_f32(out + "/vision_tower.npy", {n, tshape[0], tshape[1], tshape[2]}, tower.data()).ok() &&
         write_npy_f32(out + "/vision_soft_tokens.npy", {n, static_cast<int64_t>(rows->size()) / D / n, D}, rows->data()).ok();
}

bool dump_audio(const gemma3n::TextModel& model, const std::vector<std::string>& clips, const std::string& out,
                std::vector<float>* rows) {
  auto am = gemma3n::AudioModel::load(model.store(), model.config(), model.ctx());
  if (!am.ok()) return fail("audio tower", am.error());
  std::vector<float> feats, tower;
  std::vector<uint8_t> fmask, tmask;
  int64_t frames = 0, tokens = 0, mels = 0, adim = 0;
  for (const auto& path : clips) {
    auto wav = load_wave(path);
    if (!wav.ok()) return fail(path, wav.error());
    const auto f = (*am)->features(*wav);
    const auto t = (*am)->tower(f);
    auto enc = (*am)->encode(*wav);
    if (!enc.ok()) return fail(path, enc.error());
    frames = f.frames, mels = f.frames ? static_cast<int64_t>(f.data.size()) / f.frames : 0;
    tokens = t.tokens, adim = t.tokens ? static_cast<int64_t>(t.encodings.size()) / t.tokens : 0;
    feats.insert(feats.end(), f.data.begin(), f.data.end());
    fmask.insert(fmask.end(), f.mask.begin(), f.mask.end());
    tower.insert(tower.end(), t.encodings.begin(), t.encodings.end());
    tmask.insert(tmask.end(), t.pad_mask.begin(), t.pad_mask.end());
    rows->insert(rows->end(), enc->soft_tokens.begin(), enc->soft_tokens.end());
  }
  const int64_t n = static_cast<int64_t>(clips.size()), D = model.text_config().hidden_size;
  if (static_cast<int64_t>(feats.size()) != n * frames * mels || static_cast<int64_t>(tower.size()) != n * tokens * adim) {
    std::fprintf(stderr, "error: clips of different lengths cannot be stacked; dump them one at a time\n");
    return false;
  }
  return write_npy_f32(out + "/audio_features.npy", {n, frames, mels}, feats.data()).ok() &&
         write_npy(out + "/audio_features_mask.npy", DType::kBool, {n, frames}, fmask.data()).ok() &&
         write_npy_f32(out + "/audio_tower.npy", {n, tokens, adim}, tower.data()).ok() &&
         write_npy(out + "/audio_tower_mask.npy", DType::kBool, {n, tokens}, tmask.data()).ok() &&
         write_npy_f32(out + "/audio_soft_tokens.npy", {n, static_cast<int64_t>(rows->size()) / D / n, D}, rows->data()).ok();
}

}  // namespace

bool encode_dump_media(const gemma3n::TextModel& model, const std::string& model_dir,
                       const std::vector<std::string>& images, const std::vector<std::string>& audio,
                       const std::string& out_dir, DumpedMedia* out) {
  if (!images.empty() && !dump_images(model, model_dir, images, out_dir, &out->image_rows)) return false;
  if (!audio.empty() && !dump_audio(model, audio, out_dir, &out->audio_rows)) return false;
  return true;
}

}  // namespace gs::cli
