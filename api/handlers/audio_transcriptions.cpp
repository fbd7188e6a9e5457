// POST /v1/audio/transcriptions and /v1/audio/translations: multipart upload → decode (any
// container) → split into ≤ 30 s clips at quiet points → one chat prompt per clip with the audio
// placeholder and the instruction → engine, clips in order → json/text/srt/vtt/verbose_json or a
// transcript.text.delta stream.
#include <algorithm>
#include <cctype>

#include "api/handlers/generate.h"
#include "api/handlers/handlers.h"
#include "api/parse/transcription_parse.h"
#include "api/stream/transcript_job.h"
#include "runtime/audio/decode.h"
#include "runtime/audio/segment.h"

namespace gs::api {
namespace {

constexpr double kMaxAudioSeconds = 1800;   // 30 min: bounds decode memory (115 MB of floats)
constexpr size_t kMinSamples = 1024;        // as Engine::prepare_media
constexpr int kMaxTokensPerClip = 448;      // ~30 s of fast speech is < 200 tokens; leaves room, stops loops
// The audio encoder yields 6.25 soft tokens per second (10 ms mel hop, 4× conv subsampling, 4×
// reduction: 30 s → 188); a clip must fit the model's audio slots (188 for Gemma 3n, fewer in
// small test models), and the encoder reads at most 30 s anyway.
constexpr double kAudioTokensPerSecond = 6.25;

runtime::audio::SegmentOptions clip_options(int audio_slots) {
  runtime::audio::SegmentOptions o;
  const double fit = audio_slots / kAudioTokensPerSecond;
  o.max_clip_s = fit >= 30.0 ? 30.0 : std::max(0.5, fit - 0.2);  // margin for frame rounding
  o.search_s = std::min(5.0, o.max_clip_s / 6);
  return o;
}

// Clients (Open WebUI, LibreChat) send OpenAI's speech model names; they mean "the server's model".
bool is_openai_speech_model(const std::string& m) {
  return m.rfind("whisper", 0) == 0 || m.find("transcribe") != std::string::npos || m.find("tts") != std::string::npos;
}

std::string capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// Gemma 3n was trained for ASR and speech translation; a short direct instruction after the audio
// works best, and "only" keeps the model from adding commentary around the transcript.
std::string instruction(const TranscriptionRequest& r) {
  std::string text;
  if (r.translate) {
    text = "Translate this audio into English. Output only the English translation.";
  } else if (!r.language.empty()) {
    text = "Transcribe this audio in " + capitalized(language_name(r.language)) + ". Output only the transcript.";
  } else {
    text = "Transcribe this audio. Output only the transcript.";
  }
  if (!r.prompt.empty()) text += "\nContext (names, spelling and style to follow): " + r.prompt;
  return text;
}

Result<runtime::audio::DecodedAudio> decode_upload(const std::string& file) {
  runtime::audio::DecodeOptions opt;
  opt.target_rate = TranscriptJob::kSampleRate;
  opt.max_seconds = kMaxAudioSeconds;
  auto a = runtime::audio::decode_audio(std::span(reinterpret_cast<const uint8_t*>(file.data()), file.size()), opt);
  if (!a.ok()) return bad_request("could not decode the audio file: " + a.error().message, "file", "invalid_value");
  if (a->truncated)
    return bad_request("the audio is longer than " + std::to_string(static_cast<int>(kMaxAudioSeconds / 60)) +
                           " minutes; split it into shorter files",
                       "file", "audio_too_long");
  if (a->samples.size() < kMinSamples) return bad_request("the audio is too short (or empty)", "file", "invalid_value");
  return std::move(a.value());
}

Result<ResolvedModel> resolve_audio_model(const Services& s, const Backend& b, const std::string& requested) {
  auto m = resolve_model(s, b, requested);
  if (!m && is_openai_speech_model(requested)) return resolve_model(s, b, "");
  return m;
}

// The answer arrives later: an SSE channel or a pending body, cancelled if the peer leaves.
Response deferred_response(const std::shared_ptr<TranscriptJob>& job, bool stream, const std::string& public_model) {
  Response out;
  out.headers.emplace_back("x-gemma3n-size", public_model);
  // weak: the channel belongs to the job; a strong capture would be a cycle.
  std::weak_ptr<TranscriptJob> weak = job;
  auto cancel = [weak] {
    if (auto j = weak.lock()) j->abort();
  };
  if (stream) {
    out.stream = job->channel();
    out.stream->set_cancel(cancel);
  } else {
    out.pending = job->pending();
    out.pending->set_cancel(cancel);
  }
  return out;
}

Response handle_audio(const Request& req, Services& s, bool translate) {
  MultipartLimits limits;
  limits.max_file_bytes = static_cast<size_t>(std::max<int64_t>(s.settings().max_upload_bytes, 1));
  auto parsed = parse_transcription_request(req, translate, limits);
  if (!parsed) return error_response(parsed.error());
  TranscriptionRequest& r = parsed.value();
  auto backend = s.backend();
  if (!backend || !backend->engine->ready()) return error_response(not_ready_error(s));
  const int audio_tokens = backend->engine->media_tokens(runtime::MediaInput::Kind::kAudio);
  if (audio_tokens <= 0)
    return error_response(bad_request("audio input is not available on this server (model or --modalities)", "file",
                                      "unsupported_content"));
  auto model = resolve_audio_model(s, *backend, r.model);
  if (!model) return error_response(model.error());
  auto audio = decode_upload(r.file);
  if (!audio) return error_response(audio.error());
  r.file.clear();
  r.file.shrink_to_fit();

  PromptTurn turn{"user", {{PromptPart::Kind::kAudio, {}}, {PromptPart::Kind::kText, instruction(r)}}};
  auto prompt = backend->codec->render_chat({turn});
  if (!prompt) return error_response(prompt.error());

  TranscriptPlan plan;
  plan.stream = r.stream;
  plan.format = r.format;
  plan.translate = translate;
  plan.language = translate ? "english" : r.language.empty() ? "unknown" : language_name(r.language);
  plan.prompt = std::move(prompt->ids);
  plan.pcm = std::move(audio->samples);
  plan.clips = runtime::audio::split_into_clips(plan.pcm, clip_options(audio_tokens));
  plan.sampling.temperature = r.temperature;
  plan.sampling.logprobs = true;  // one log-softmax per token, for verbose_json avg_logprob
  plan.max_tokens = std::min(kMaxTokensPerClip, s.settings().limits.max_tokens_cap);
  plan.engine_model = model->engine_model;
  plan.audio_tokens_per_clip = audio_tokens;
  {
    std::lock_guard lk(req.log->mu);
    req.log->model = model->public_model;
  }
  auto job = std::make_shared<TranscriptJob>(std::move(plan), backend->engine, backend->codec, &s.metrics(), req.log);
  if (auto e = job->start()) return error_response(*e);
  return deferred_response(job, r.stream, model->public_model);
}

}  // namespace

// Decoding an upload (up to 30 min of audio) is seconds of work: never on an I/O thread.
Response handle_audio_transcriptions(const Request& req, Services& s) {
  return run_off_io_thread(s.media_workers(), [req_copy = req, &s] { return handle_audio(req_copy, s, false); });
}
Response handle_audio_translations(const Request& req, Services& s) {
  return run_off_io_thread(s.media_workers(), [req_copy = req, &s] { return handle_audio(req_copy, s, true); });
}

}  // namespace gs::api
