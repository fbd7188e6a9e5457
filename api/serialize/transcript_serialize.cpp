#include "api/serialize/transcript_serialize.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace gs::api {
namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json token_usage(const Transcript& t) {
  return {{"type", "tokens"},
          {"input_tokens", t.input_tokens},
          {"output_tokens", t.output_tokens},
          {"total_tokens", t.input_tokens + t.output_tokens},
          {"input_token_details", {{"text_tokens", t.input_tokens - t.audio_tokens}, {"audio_tokens", t.audio_tokens}}}};
}

json verbose_body(const Transcript& t) {
  json segs = json::array();
  for (const auto& s : t.segments)
    segs.push_back({{"id", s.id},
                    {"seek", s.seek},
                    {"start", s.start},
                    {"end", s.end},
                    {"text", s.text},
                    {"tokens", s.tokens},
                    {"temperature", s.temperature},
                    {"avg_logprob", s.avg_logprob},
                    {"compression_ratio", s.compression_ratio},
                    {"no_speech_prob", s.no_speech_prob}});
  return {{"task", t.translate ? "translate" : "transcribe"},
          {"language", t.language},
          {"duration", t.duration},
          {"text", t.text},
          {"segments", std::move(segs)},
          {"usage", {{"type", "duration"}, {"seconds", std::ceil(t.duration)}}}};
}

// Numbered cues for srt; a WEBVTT header and unnumbered cues for vtt. Empty segments are left out.
std::string subtitles(const Transcript& t, bool vtt) {
  std::string out = vtt ? "WEBVTT\n\n" : "";
  int n = 0;
  for (const auto& s : t.segments) {
    if (s.text.empty()) continue;
    if (!vtt) out += std::to_string(++n) + "\n";
    out += subtitle_timestamp(s.start, vtt ? '.' : ',') + " --> " + subtitle_timestamp(s.end, vtt ? '.' : ',') + "\n";
    out += s.text + "\n\n";
  }
  return out;
}

Response text_response(std::string body, const char* content_type) {
  Response r;
  r.content_type = content_type;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::string subtitle_timestamp(double seconds, char decimal_sep) {
  const int64_t ms = std::llround(std::max(0.0, seconds) * 1000.0);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld%c%03lld", static_cast<long long>(ms / 3600000),
                static_cast<long long>(ms / 60000 % 60), static_cast<long long>(ms / 1000 % 60), decimal_sep,
                static_cast<long long>(ms % 1000));
  return buf;
}

double repetition_ratio(const std::string& text) {
  std::istringstream in(text);
  std::set<std::string> distinct;
  size_t words = 0;
  for (std::string w; in >> w; ++words) distinct.insert(w);
  return distinct.empty() ? 0.0 : static_cast<double>(words) / static_cast<double>(distinct.size());
}

Response transcript_response(const Transcript& t, TranscriptFormat format) {
  switch (format) {
    case TranscriptFormat::kText: return text_response(t.text + "\n", "text/plain; charset=utf-8");
    case TranscriptFormat::kSrt: return text_response(subtitles(t, false), "text/plain; charset=utf-8");
    case TranscriptFormat::kVtt: return text_response(subtitles(t, true), "text/vtt; charset=utf-8");
    case TranscriptFormat::kVerboseJson: return Response::json(200, dump(verbose_body(t)));
    case TranscriptFormat::kJson: break;
  }
  return Response::json(200, dump({{"text", t.text}, {"usage", token_usage(t)}}));
}

std::string transcript_delta_frame(const std::string& delta) {
  return "data: " + dump({{"type", "transcript.text.delta"}, {"delta", delta}}) + "\n\n";
}

std::string transcript_done_frame(const Transcript& t) {
  return "data: " + dump({{"type", "transcript.text.done"}, {"text", t.text}, {"usage", token_usage(t)}}) + "\n\n";
}

}  // namespace gs::api
