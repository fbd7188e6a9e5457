// gemma3n-cli dump: logits.npy [seq, vocab] and hidden_states.npy [layers+1, N, 1, seq, D] for ids.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/dump_media.h"
#include "cli/model_options.h"
#include "runtime/core/npy.h"

namespace gs::cli {

int cmd_dump(int argc, char** argv) {
  CLI::App app{"Run one prefill over token ids and write logits.npy and hidden_states.npy"};
  ModelOptions mo;
  std::string ids_path, out_dir;
  std::vector<std::string> images, audio;
  add_model_options(app, &mo);
  app.add_option("--image", images, "image file (PNG/JPEG/WebP/GIF/BMP or uint8 [H,W,3] .npy), repeatable");
  app.add_option("--audio", audio, "audio file (WAV/FLAC/MP3/OGG or float32 16 kHz .npy), repeatable");
  app.add_option("--ids", ids_path, "token ids: int64 .npy, 1-D or [1, seq]")->required();
  app.add_option("--out", out_dir, "output directory")->required();
  CLI11_PARSE(app, argc, argv);

  std::vector<int32_t> ids;
  if (!read_ids(ids_path, &ids)) return 1;
  auto lm = load_model(mo);
  if (!lm) return 1;
  const auto& c = lm->model->text_config();
  std::filesystem::create_directories(out_dir);
  DumpedMedia media;
  if (!encode_dump_media(*lm->model, mo.model_dir, images, audio, out_dir, &media)) return 1;
  runtime::gemma3n::StepBatch b;
  size_t ni = 0, na = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    b.add(ids[i], static_cast<int32_t>(i), 0, true);
    const float* soft = nullptr;
    if (ids[i] == lm->model->config().image_token_id && (ni + 1) * c.hidden_size <= media.image_rows.size())
      soft = media.image_rows.data() + (ni++) * c.hidden_size;
    if (ids[i] == lm->model->config().audio_token_id && (na + 1) * c.hidden_size <= media.audio_rows.size())
      soft = media.audio_rows.data() + (na++) * c.hidden_size;
    b.soft_embeddings.push_back(soft);
  }
  if (ni * c.hidden_size != media.image_rows.size() || na * c.hidden_size != media.audio_rows.size()) {
    std::fprintf(stderr, "error: the ids have %zu image and %zu audio placeholders; the media give %zu and %zu rows\n", ni,
                 na, media.image_rows.size() / c.hidden_size, media.audio_rows.size() / c.hidden_size);
    return 1;
  }
  auto kv = lm->model->new_sequence(lm->plan);
  runtime::SequenceKv* kvs[] = {kv.get()};
  runtime::gemma3n::StepOutput out;
  out.capture_hidden = true;
  auto st = lm->model->forward(b, lm->plan, kvs, &out);
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
    return 1;
  }
  const int64_t T = static_cast<int64_t>(ids.size());
  auto w1 = runtime::write_npy_f32(out_dir + "/logits.npy", {T, c.vocab_size}, out.logits.data());
  const int64_t layers = static_cast<int64_t>(lm->plan.layers.size()) + 1;
  auto w2 = runtime::write_npy_f32(out_dir + "/hidden_states.npy", {layers, c.altup_num_inputs, 1, T, c.hidden_size},
                                   out.hidden.data());
  if (!w1.ok() || !w2.ok()) {
    std::fprintf(stderr, "error: cannot write to %s\n", out_dir.c_str());
    return 1;
  }
  return 0;
}

}  // namespace gs::cli
