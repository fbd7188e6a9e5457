// POST /v1/audio/transcriptions and /v1/audio/translations: the multipart form → a validated
// request. Form values arrive as strings ("true", "0.2"); unknown fields are ignored.
#pragma once
#include <optional>
#include <string>

#include "api/http_types.h"
#include "api/parse/multipart.h"
#include "api/result.h"

namespace gs::api {

enum class TranscriptFormat { kJson, kText, kSrt, kVtt, kVerboseJson };

struct TranscriptionRequest {
  bool translate = false;          // /v1/audio/translations: output in English
  std::string file;                // the uploaded bytes
  std::string filename;
  std::string model;
  std::string language;            // ISO-639-1 code as sent (lower-case), "" = not given
  std::string prompt;
  TranscriptFormat format = TranscriptFormat::kJson;
  float temperature = 0.0f;
  bool stream = false;
};

// 400 for a body that is not multipart/form-data, a missing or empty `file`, and bad values
// (param names the field); 413 when the file part exceeds limits.max_file_bytes.
Result<TranscriptionRequest> parse_transcription_request(const Request& req, bool translate,
                                                         const MultipartLimits& limits);

// "en" → "english" (OpenAI's verbose_json uses the full lower-case name); unknown codes are
// returned as given.
std::string language_name(const std::string& code);

}  // namespace gs::api
