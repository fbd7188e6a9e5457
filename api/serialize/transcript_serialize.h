// OpenAI wire shapes of /v1/audio/transcriptions and /translations: json, text, srt, vtt,
// verbose_json bodies and the transcript.text.delta / transcript.text.done stream events.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "api/http_types.h"
#include "api/parse/transcription_parse.h"

namespace gs::api {

struct TranscriptSegment {
  int id = 0;
  int64_t seek = 0;                // start in 10 ms frames (Whisper's unit)
  double start = 0, end = 0;       // seconds, the clip's real position in the input
  std::string text;
  std::vector<int32_t> tokens;
  float temperature = 0;
  double avg_logprob = 0;
  double compression_ratio = 0;    // words / distinct words: > ~2.4 flags a repetition loop
  double no_speech_prob = 0;       // 1 for a digitally silent clip (not sent to the model), else 0
};

struct Transcript {
  bool translate = false;
  std::string language;            // full lower-case name ("english"), "unknown" if not given
  double duration = 0;             // seconds
  std::string text;
  std::vector<TranscriptSegment> segments;
  int input_tokens = 0, audio_tokens = 0, output_tokens = 0;
};

// The complete 200 response for `format` (Content-Type included).
Response transcript_response(const Transcript& t, TranscriptFormat format);
// "data: {...}\n\n" frames of the stream.
std::string transcript_delta_frame(const std::string& delta);
std::string transcript_done_frame(const Transcript& t);

// 00:01:02,345 (srt) / 00:01:02.345 (vtt).
std::string subtitle_timestamp(double seconds, char decimal_sep);
double repetition_ratio(const std::string& text);

}  // namespace gs::api
