// Images and audio for the engine: decoding + preprocessing of client bytes (cheap, on the caller's
// thread) and encoding into soft tokens through the lazily loaded vision/audio weight groups
// (expensive, on the engine's media thread). Groups load on first use, at most once under
// concurrency, and are dropped after an idle time; requests in flight hold their own reference.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "runtime/engine/request.h"
#include "runtime/models/gemma3n/audio/audio_model.h"
#include "runtime/models/gemma3n/config.h"
#include "runtime/models/gemma3n/vision/vision_model.h"
#include "runtime/vision/preprocess.h"

namespace gs::runtime {

struct MediaOptions {
  bool allow_image = true, allow_audio = true;   // --modalities
  bool preload_image = false, preload_audio = false;
  double idle_unload_s = 0;                      // 0: keep loaded
};

struct MediaGroupState {
  std::string name;                              // "vision" | "audio"
  bool allowed = true, loaded = false;
  int loads = 0, unloads = 0;
  int64_t params = 0, resident_bytes = 0, mapped_bytes = 0;
  double last_load_s = 0;
};

class MediaRuntime {
 public:
  MediaRuntime(const WeightStore& store, const gemma3n::Gemma3nConfig& cfg, const std::string& model_dir,
               const ComputeContext& ctx, const MediaOptions& opt);
  // Decode + preprocess client bytes. Errors: kInvalidArgument (bad media, disabled modality).
  Expected<MediaInput> prepare(MediaInput::Kind kind, std::span<const uint8_t> bytes) const;
  // Soft tokens [tokens_per_item(kind), text_hidden] for one prepared item (loads its group).
  Expected<std::vector<float>> encode(const MediaInput& m);
  int tokens_per_item(MediaInput::Kind kind) const;
  int32_t placeholder_id(MediaInput::Kind kind) const;
  bool allowed(MediaInput::Kind kind) const { return kind == MediaInput::Kind::kImage ? opt_.allow_image : opt_.allow_audio; }
  // Drops groups unused for longer than the idle time; returns how many were dropped.
  int unload_idle();
  // Drops every group not encoding right now (the memory budget needs the room).
  int unload_for_memory();
  // Bytes held by the loaded towers (counted in the memory budget).
  int64_t resident_bytes() const;
  std::vector<MediaGroupState> states() const;

 private:
  using Clock = std::chrono::steady_clock;
  int unload_if(std::chrono::duration<double> idle, const char* why);
  const WeightStore& store_;
  gemma3n::Gemma3nConfig cfg_;
  MediaOptions opt_;
  vision::PreprocessConfig prep_;
  std::unique_ptr<gemma3n::LazyVisionModel> vision_;
  std::unique_ptr<gemma3n::AudioModelGroup> audio_;
  mutable std::mutex mu_;
  Clock::time_point vision_used_, audio_used_;
  int vision_unloads_ = 0, audio_unloads_ = 0;
  int vision_busy_ = 0, audio_busy_ = 0;  // encodes in flight
  double vision_load_s_ = 0, audio_load_s_ = 0;
};

}  // namespace gs::runtime
