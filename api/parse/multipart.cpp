#include "api/parse/multipart.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace gs::api {
namespace {

ApiError malformed(std::string what) {
  return bad_request("malformed multipart/form-data body: " + std::move(what), std::nullopt, "invalid_multipart");
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

struct HeaderValue {
  std::string value;                                  // before the first ';', lower-case
  std::vector<std::pair<std::string, std::string>> params;  // names lower-case, values unquoted
};

// `type/subtype; a=b; c="quoted \" value"`. Quoted strings may contain ';'. Returns false on an
// unterminated quote.
bool parse_header_value(std::string_view s, HeaderValue& out) {
  size_t i = s.find(';');
  out.value = lower(trim(s.substr(0, i)));
  while (i != std::string_view::npos && i < s.size()) {
    ++i;  // past ';'
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const size_t eq = s.find_first_of("=;", i);
    if (eq == std::string_view::npos || s[eq] == ';') {  // a bare token without value: ignore
      i = eq;
      continue;
    }
    std::string name = lower(trim(s.substr(i, eq - i)));
    size_t j = eq + 1;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    std::string value;
    if (j < s.size() && s[j] == '"') {
      ++j;
      bool closed = false;
      for (; j < s.size(); ++j) {
        if (s[j] == '\\' && j + 1 < s.size()) {
          value += s[++j];
        } else if (s[j] == '"') {
          closed = true;
          ++j;
          break;
        } else {
          value += s[j];
        }
      }
      if (!closed) return false;
      i = s.find(';', j);
    } else {
      i = s.find(';', j);
      value = std::string(trim(s.substr(j, i == std::string_view::npos ? std::string_view::npos : i - j)));
    }
    out.params.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

const std::string* find_param(const HeaderValue& h, std::string_view name) {
  for (const auto& [k, v] : h.params)
    if (k == name) return &v;
  return nullptr;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 5987 ext-value: charset'lang'percent-encoded (filename*=UTF-8''a%20b.wav).
std::string decode_ext_value(const std::string& v) {
  const size_t q = v.find('\'');
  const size_t q2 = q == std::string::npos ? std::string::npos : v.find('\'', q + 1);
  const std::string enc = q2 == std::string::npos ? v : v.substr(q2 + 1);
  std::string out;
  for (size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] == '%' && i + 2 < enc.size() && hex_value(enc[i + 1]) >= 0 && hex_value(enc[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(enc[i + 1]) * 16 + hex_value(enc[i + 2]));
      i += 2;
    } else {
      out += enc[i];
    }
  }
  return out;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
  HeaderValue h;
  if (!parse_header_value(content_type, h) || h.value != "multipart/form-data") {
    return bad_request("this endpoint expects a multipart/form-data body (got Content-Type '" +
                           std::string(content_type.substr(0, 100)) + "')",
                       "Content-Type", "invalid_content_type");
  }
  const std::string* b = find_param(h, "boundary");
  if (!b || b->empty() || b->size() > 70 || b->find_first_of("\r\n") != std::string::npos)
    return bad_request("multipart/form-data Content-Type without a valid boundary", "Content-Type",
                       "invalid_content_type");
  return *b;
}

MultipartParser::MultipartParser(std::string boundary, MultipartLimits limits)
    : delimiter_("\r\n--" + boundary), limits_(limits) {
  // The first delimiter may open the body without a preceding CRLF; pretend there was one.
  buf_ = "\r\n";
}

void MultipartParser::set_error(ApiError e) {
  if (!error_) error_ = std::move(e);
}

std::optional<ApiError> MultipartParser::feed(std::string_view chunk) {
  if (error_ || state_ == State::kEpilogue) return error_;
  buf_.append(chunk);
  while (!error_ && state_ != State::kEpilogue && step()) {
  }
  buf_.erase(0, pos_);  // what is left is at most a header block or a delimiter's length
  pos_ = 0;
  if (state_ == State::kEpilogue) buf_.clear();
  return error_;
}

std::optional<ApiError> MultipartParser::finish() {
  if (error_) return error_;
  if (state_ != State::kEpilogue) set_error(malformed("the body ended before the closing boundary"));
  return error_;
}

bool MultipartParser::step() {
  switch (state_) {
    case State::kPreamble: return step_preamble();
    case State::kAfterDelimiter: return step_after_delimiter();
    case State::kHeaders: return step_headers();
    case State::kBody: return step_body();
    case State::kEpilogue: return false;
  }
  return false;
}

bool MultipartParser::step_preamble() {
  const size_t at = buf_.find(delimiter_, pos_);
  if (at == std::string::npos) {
    // Keep only what could still be the start of a delimiter.
    const size_t avail = buf_.size() - pos_;
    if (avail >= delimiter_.size()) pos_ = buf_.size() - (delimiter_.size() - 1);
    return false;
  }
  pos_ = at + delimiter_.size();
  state_ = State::kAfterDelimiter;
  return true;
}

// After "--boundary": "--" closes the body; otherwise optional blanks then CRLF open a part.
bool MultipartParser::step_after_delimiter() {
  size_t i = pos_;
  while (i < buf_.size() && (buf_[i] == ' ' || buf_[i] == '\t') && i - pos_ < 256) ++i;
  if (i - pos_ >= 256) {
    set_error(malformed("a boundary line is too long"));
    return false;
  }
  if (i + 2 > buf_.size()) return false;
  if (i == pos_ && buf_.compare(i, 2, "--") == 0) {
    state_ = State::kEpilogue;
    pos_ = buf_.size();
    return false;
  }
  if (buf_.compare(i, 2, "\r\n") != 0) {
    set_error(malformed("a boundary delimiter is not followed by CRLF"));
    return false;
  }
  if (parts_.size() >= limits_.max_parts) {
    set_error(malformed("more than " + std::to_string(limits_.max_parts) + " parts"));
    return false;
  }
  pos_ = i + 2;
  state_ = State::kHeaders;
  return true;
}

bool MultipartParser::step_headers() {
  const size_t avail = buf_.size() - pos_;
  if (avail < 2) return false;
  size_t block_end = 0, next = 0;
  if (buf_.compare(pos_, 2, "\r\n") == 0) {  // no headers at all
    block_end = pos_;
    next = pos_ + 2;
  } else {
    const size_t at = buf_.find("\r\n\r\n", pos_);
    if (at == std::string::npos) {
      if (avail > limits_.max_header_bytes) set_error(malformed("a part's header block is too large"));
      return false;
    }
    block_end = at;
    next = at + 4;
  }
  if (next - pos_ > limits_.max_header_bytes) {
    set_error(malformed("a part's header block is too large"));
    return false;
  }
  MultipartPart part;
  if (auto e = parse_part_headers(std::string_view(buf_).substr(pos_, block_end - pos_), part)) {
    set_error(*e);
    return false;
  }
  parts_.push_back(std::move(part));
  pos_ = next;
  state_ = State::kBody;
  return true;
}

bool MultipartParser::step_body() {
  const size_t at = buf_.find(delimiter_, pos_);
  if (at == std::string::npos) {
    const size_t avail = buf_.size() - pos_;
    if (avail >= delimiter_.size()) {
      const size_t safe = avail - (delimiter_.size() - 1);
      append_data(std::string_view(buf_).substr(pos_, safe));
      pos_ += safe;
    }
    return false;
  }
  append_data(std::string_view(buf_).substr(pos_, at - pos_));
  pos_ = at + delimiter_.size();
  state_ = State::kAfterDelimiter;
  return !error_;
}

void MultipartParser::append_data(std::string_view bytes) {
  MultipartPart& p = parts_.back();
  const size_t cap = p.is_file() ? limits_.max_file_bytes : limits_.max_field_bytes;
  if (p.data.size() + bytes.size() > cap) {
    if (p.is_file()) {
      ApiError e = bad_request("the uploaded file is larger than the limit of " + std::to_string(cap) + " bytes",
                               p.name, "request_too_large");
      e.status = 413;
      set_error(std::move(e));
    } else {
      set_error(bad_request("form field '" + p.name.substr(0, 64) + "' is larger than " + std::to_string(cap) +
                                " bytes",
                            p.name.substr(0, 64), "invalid_multipart"));
    }
    return;
  }
  p.data.append(bytes);
}

std::optional<ApiError> MultipartParser::parse_part_headers(std::string_view block, MultipartPart& part) const {
  std::vector<std::pair<std::string, std::string>> headers;
  size_t i = 0;
  while (i < block.size()) {
    size_t e = block.find("\r\n", i);
    if (e == std::string_view::npos) e = block.size();
    const std::string_view line = block.substr(i, e - i);
    i = e + 2;
    if (line.empty()) continue;
    if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {  // obsolete line folding
      headers.back().second += ' ';
      headers.back().second += trim(line);
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return malformed("a part header line has no name");
    headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  bool have_disposition = false;
  for (const auto& [name, value] : headers) {
    if (name == "content-type") {
      part.content_type = value;
    } else if (name == "content-disposition") {
      HeaderValue h;
      if (!parse_header_value(value, h)) return malformed("unterminated quoted string in Content-Disposition");
      if (h.value != "form-data") return malformed("a part's Content-Disposition is not form-data");
      const std::string* n = find_param(h, "name");
      if (!n) return malformed("a part's Content-Disposition has no name");
      part.name = *n;
      if (const std::string* f = find_param(h, "filename")) part.filename = *f;
      else if (const std::string* fx = find_param(h, "filename*")) part.filename = decode_ext_value(*fx);
      have_disposition = true;
    }
  }
  if (!have_disposition) return malformed("a part has no Content-Disposition header");
  return std::nullopt;
}

Result<std::vector<MultipartPart>> parse_multipart(std::string_view body, std::string_view content_type,
                                                  const MultipartLimits& limits, size_t chunk) {
  auto boundary = multipart_boundary(content_type);
  if (!boundary) return boundary.error();
  MultipartParser p(std::move(boundary.value()), limits);
  chunk = std::max<size_t>(chunk, 1);
  for (size_t off = 0; off < body.size(); off += chunk)
    if (auto e = p.feed(body.substr(off, chunk))) return *e;
  if (auto e = p.finish()) return *e;
  return p.take_parts();
}

}  // namespace gs::api
