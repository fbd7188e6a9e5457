// multipart/form-data (RFC 7578 / RFC 2046) as an incremental state machine: feed() takes the
// body in chunks of any size (one byte at a time works), finish() checks that the closing
// delimiter arrived. The result does not depend on how the body was split. Text fields and file
// parts have separate size caps; the first error is kept and later input is ignored.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/result.h"

namespace gs::api {

struct MultipartLimits {
  size_t max_field_bytes = 64 * 1024;          // a part without filename (form values)
  size_t max_file_bytes = size_t{25} << 20;    // a part with a filename (413 above it)
  size_t max_header_bytes = 8 * 1024;          // the header block of one part
  size_t max_parts = 64;
};

struct MultipartPart {
  std::string name;                 // Content-Disposition name
  std::optional<std::string> filename;
  std::string content_type;         // as sent ("" if absent)
  std::string data;
  bool is_file() const { return filename.has_value(); }
};

// The boundary parameter of a Content-Type header; 400 (param "Content-Type") if the media type
// is not multipart/form-data or the boundary is missing or invalid. Quoted boundaries allowed.
Result<std::string> multipart_boundary(std::string_view content_type);

class MultipartParser {
 public:
  MultipartParser(std::string boundary, MultipartLimits limits = {});

  // Consumes `chunk`. Returns the (sticky) error, if any.
  std::optional<ApiError> feed(std::string_view chunk);
  // End of body: error unless the closing delimiter was seen.
  std::optional<ApiError> finish();

  const std::vector<MultipartPart>& parts() const { return parts_; }
  std::vector<MultipartPart> take_parts() { return std::move(parts_); }

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kEpilogue };
  bool step();                        // one transition; false when more input is needed
  bool step_preamble();
  bool step_after_delimiter();
  bool step_headers();
  bool step_body();
  std::optional<ApiError> parse_part_headers(std::string_view block, MultipartPart& part) const;
  void append_data(std::string_view bytes);
  void set_error(ApiError e);

  std::string delimiter_;             // "\r\n--" + boundary
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  std::string buf_;                   // unconsumed input
  size_t pos_ = 0;                    // start of unconsumed input in buf_
  std::vector<MultipartPart> parts_;
  std::optional<ApiError> error_;
};

// Parses a whole body (convenience for callers that already hold it), fed in `chunk` pieces.
Result<std::vector<MultipartPart>> parse_multipart(std::string_view body, std::string_view content_type,
                                                  const MultipartLimits& limits = {}, size_t chunk = 64 * 1024);

}  // namespace gs::api
