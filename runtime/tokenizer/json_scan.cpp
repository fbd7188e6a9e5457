#include "runtime/tokenizer/json_scan.h"

#include <cstring>

#include "runtime/tokenizer/utf8.h"

namespace gs::runtime::json_scan {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_hex4(std::string_view s, size_t pos, uint32_t& out) {
  if (pos + 4 > s.size()) return false;
  out = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = hex_value(s[pos + k]);
    if (h < 0) return false;
    out = (out << 4) | static_cast<uint32_t>(h);
  }
  return true;
}

// Handles the character after a backslash; pos points at it.
bool read_escape(std::string_view s, size_t& pos, std::string& out) {
  const char e = s[pos++];
  switch (e) {
    case '"': out.push_back('"'); return true;
    case '\\': out.push_back('\\'); return true;
    case '/': out.push_back('/'); return true;
    case 'b': out.push_back('\b'); return true;
    case 'f': out.push_back('\f'); return true;
    case 'n': out.push_back('\n'); return true;
    case 'r': out.push_back('\r'); return true;
    case 't': out.push_back('\t'); return true;
    case 'u': break;
    default: return false;
  }
  uint32_t cp;
  if (!read_hex4(s, pos, cp)) return false;
  pos += 4;
  if (cp >= 0xD800 && cp <= 0xDBFF) {  // high surrogate: a low one must follow
    uint32_t lo;
    if (pos + 6 > s.size() || s[pos] != '\\' || s[pos + 1] != 'u' || !read_hex4(s, pos + 2, lo) ||
        lo < 0xDC00 || lo > 0xDFFF)
      return false;
    pos += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
    return false;
  }
  utf8::append_code_point(out, cp);
  return true;
}

}  // namespace

void skip_ws(std::string_view s, size_t& pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t'))
    ++pos;
}

bool expect(std::string_view s, size_t& pos, char c) {
  skip_ws(s, pos);
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

bool read_string(std::string_view s, size_t& pos, std::string& out) {
  out.clear();
  if (pos >= s.size() || s[pos] != '"') return false;
  ++pos;
  while (pos < s.size()) {
    // Copy the plain run up to the next quote or backslash in one go.
    size_t run = pos;
    while (run < s.size() && s[run] != '"' && s[run] != '\\') {
      if (static_cast<unsigned char>(s[run]) < 0x20) return false;
      ++run;
    }
    out.append(s.data() + pos, run - pos);
    pos = run;
    if (pos >= s.size()) return false;
    if (s[pos] == '"') {
      ++pos;
      return true;
    }
    ++pos;  // backslash
    if (pos >= s.size() || !read_escape(s, pos, out)) return false;
  }
  return false;
}

bool read_int(std::string_view s, size_t& pos, long long& out) {
  skip_ws(s, pos);
  bool neg = false;
  if (pos < s.size() && s[pos] == '-') {
    neg = true;
    ++pos;
  }
  const size_t start = pos;
  long long v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (v > (1LL << 40)) return false;  // far beyond any vocabulary size
    v = v * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == start) return false;
  out = neg ? -v : v;
  return true;
}

bool skip_value(std::string_view s, size_t& pos) {
  skip_ws(s, pos);
  long depth = 0;
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '"') {
      // Skip without unescaping: jump over escapes, stop at the closing quote.
      ++pos;
      while (pos < s.size() && s[pos] != '"') pos += (s[pos] == '\\') ? 2 : 1;
      if (pos >= s.size()) return false;
      ++pos;
    } else if (c == '{' || c == '[') {
      ++depth;
      ++pos;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) return false;
      ++pos;
    } else if (depth == 0 && (c == ',' || c == ':')) {
      return false;
    } else {
      ++pos;
    }
    if (depth == 0) {
      // A scalar ends at a delimiter; a container ends at its closing bracket.
      if (c == '}' || c == ']' || c == '"') return true;
      while (pos < s.size() && !std::strchr(",}] \n\r\t", s[pos])) ++pos;
      return true;
    }
  }
  return false;
}

bool find_member(std::string_view s, size_t obj_pos, std::string_view key, size_t& value_begin,
                 size_t& value_end) {
  size_t pos = obj_pos;
  if (!expect(s, pos, '{')) return false;
  std::string name;
  skip_ws(s, pos);
  if (pos < s.size() && s[pos] == '}') return false;
  while (pos < s.size()) {
    skip_ws(s, pos);
    if (!read_string(s, pos, name) || !expect(s, pos, ':')) return false;
    skip_ws(s, pos);
    const size_t begin = pos;
    if (!skip_value(s, pos)) return false;
    if (name == key) {
      value_begin = begin;
      value_end = pos;
      return true;
    }
    skip_ws(s, pos);
    if (pos < s.size() && s[pos] == ',') {
      ++pos;
      continue;
    }
    return false;  // '}' (key absent) or garbage
  }
  return false;
}

}  // namespace gs::runtime::json_scan
