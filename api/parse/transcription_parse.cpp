#include "api/parse/transcription_parse.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace gs::api {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trimmed(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::optional<ApiError> read_format(const std::string& v, TranscriptFormat& out) {
  static const std::pair<const char*, TranscriptFormat> kFormats[] = {
      {"json", TranscriptFormat::kJson}, {"text", TranscriptFormat::kText}, {"srt", TranscriptFormat::kSrt},
      {"vtt", TranscriptFormat::kVtt}, {"verbose_json", TranscriptFormat::kVerboseJson}};
  for (const auto& [name, f] : kFormats)
    if (v == name) {
      out = f;
      return std::nullopt;
    }
  return bad_request("response_format must be one of json, text, srt, vtt, verbose_json (got '" + v.substr(0, 40) + "')",
                     "response_format", v == "diarized_json" ? "unsupported_value" : "invalid_value");
}

std::optional<ApiError> read_temperature(const std::string& v, float& out) {
  char* end = nullptr;
  const double t = std::strtod(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(t) || t < 0 || t > 2)
    return bad_request("temperature must be a number between 0 and 2", "temperature", "invalid_value");
  out = static_cast<float>(t);
  return std::nullopt;
}

std::optional<ApiError> read_bool(const std::string& v, const char* name, bool& out) {
  const std::string l = lower(v);
  if (l == "true" || l == "1") out = true;
  else if (l == "false" || l == "0" || l.empty()) out = false;
  else return bad_request(std::string(name) + " must be true or false", name, "invalid_value");
  return std::nullopt;
}

// Word timestamps need alignment the model does not produce: refuse rather than invent them.
std::optional<ApiError> read_granularity(const std::string& v) {
  if (v == "segment") return std::nullopt;
  if (v == "word")
    return bad_request("timestamp_granularities[]=word is not supported by this server; use segment",
                       "timestamp_granularities[]", "unsupported_value");
  return bad_request("timestamp_granularities[] values must be segment or word", "timestamp_granularities[]",
                     "invalid_value");
}

std::optional<ApiError> read_language(const std::string& v, std::string& out) {
  if (v.size() > 32) return bad_request("language must be an ISO-639-1 code such as 'en'", "language", "invalid_value");
  for (char c : v)
    if (!std::isalpha(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return bad_request("language must be an ISO-639-1 code such as 'en'", "language", "invalid_value");
  out = lower(v);
  return std::nullopt;
}

std::optional<ApiError> apply_field(const MultipartPart& p, TranscriptionRequest& r) {
  const std::string v = trimmed(p.data);
  if (p.name == "model") r.model = v;
  else if (p.name == "language") return read_language(v, r.language);
  else if (p.name == "prompt") r.prompt = v;
  else if (p.name == "response_format") return read_format(v, r.format);
  else if (p.name == "temperature") return read_temperature(v, r.temperature);
  else if (p.name == "stream") return read_bool(v, "stream", r.stream);
  else if ((p.name == "timestamp_granularities[]" || p.name == "timestamp_granularities") && !r.translate)
    return read_granularity(v);
  return std::nullopt;  // unknown fields (include[], chunking_strategy, ...) are ignored
}

}  // namespace

Result<TranscriptionRequest> parse_transcription_request(const Request& req, bool translate,
                                                         const MultipartLimits& limits) {
  const std::string* ct = req.header("content-type");
  auto parts = parse_multipart(req.body, ct ? *ct : std::string_view("(none)"), limits);
  if (!parts) return parts.error();
  TranscriptionRequest r;
  r.translate = translate;
  bool have_file = false;
  for (MultipartPart& p : parts.value()) {
    if (p.name == "file") {
      if (have_file) return bad_request("send exactly one 'file' part", "file", "invalid_value");
      have_file = true;
      r.file = std::move(p.data);
      r.filename = p.filename.value_or("");
      continue;
    }
    if (auto e = apply_field(p, r)) return *e;
  }
  if (!have_file) return bad_request("the 'file' field (the audio file) is required", "file", "missing_required_parameter");
  if (r.file.empty()) return bad_request("the uploaded file is empty", "file", "invalid_value");
  return r;
}

std::string language_name(const std::string& code) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"en", "english"},   {"zh", "chinese"},   {"de", "german"},     {"es", "spanish"},    {"ru", "russian"},
      {"ko", "korean"},    {"fr", "french"},    {"ja", "japanese"},   {"pt", "portuguese"}, {"tr", "turkish"},
      {"pl", "polish"},    {"ca", "catalan"},   {"nl", "dutch"},      {"ar", "arabic"},     {"sv", "swedish"},
      {"it", "italian"},   {"id", "indonesian"}, {"hi", "hindi"},     {"fi", "finnish"},    {"vi", "vietnamese"},
      {"he", "hebrew"},    {"uk", "ukrainian"}, {"el", "greek"},      {"ms", "malay"},      {"cs", "czech"},
      {"ro", "romanian"},  {"da", "danish"},    {"hu", "hungarian"},  {"ta", "tamil"},      {"no", "norwegian"},
      {"th", "thai"},      {"ur", "urdu"},      {"hr", "croatian"},   {"bg", "bulgarian"},  {"lt", "lithuanian"},
      {"la", "latin"},     {"cy", "welsh"},     {"sk", "slovak"},     {"te", "telugu"},     {"fa", "persian"},
      {"lv", "latvian"},   {"bn", "bengali"},   {"sr", "serbian"},    {"sl", "slovenian"},  {"et", "estonian"},
      {"mk", "macedonian"}, {"sw", "swahili"},  {"gl", "galician"},   {"mr", "marathi"},    {"tl", "tagalog"},
      {"af", "afrikaans"}, {"is", "icelandic"}, {"kk", "kazakh"},     {"ne", "nepali"},     {"ml", "malayalam"},
      {"kn", "kannada"},   {"gu", "gujarati"},  {"pa", "punjabi"},    {"eu", "basque"},     {"hy", "armenian"}};
  for (const auto& [c, name] : kNames)
    if (code == c) return name;
  return code;
}

}  // namespace gs::api
