// A minimal, allocation-light JSON scanner used only on tokenizer.json's hot sections.
//
// Why not nlohmann here: the DOM of the 33 MB Gemma tokenizer.json (262k vocab entries, 515k
// merge pairs) alone costs ~0.6 s CPU and ~200 MB peak memory (measured), three times our whole
// load (~0.2 s, tables included); scanning the two big sections in place is cheap. Everything
// else in the file (small) still goes through nlohmann, after the two big values are blanked
// out of a copy of the text.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace gs::runtime::json_scan {

// All functions take the text and a cursor `pos`, advance it on success and return false on
// malformed input (the cursor is then unspecified).
void skip_ws(std::string_view s, size_t& pos);
// Expects s[pos] == '"'; appends the unescaped UTF-8 string to out (cleared first).
bool read_string(std::string_view s, size_t& pos, std::string& out);
// Reads a non-negative or negative integer.
bool read_int(std::string_view s, size_t& pos, long long& out);
// Skips any value (iteratively, so hostile nesting cannot overflow the stack).
bool skip_value(std::string_view s, size_t& pos);
// Expects the character c (after whitespace) and consumes it.
bool expect(std::string_view s, size_t& pos, char c);

// Calls fn(key, pos) for each member of the object at obj_pos ('{'), with pos at the value;
// fn must advance pos past the value and return false to abort.
template <typename Fn>
bool for_each_member(std::string_view s, size_t& pos, Fn&& fn) {
  if (!expect(s, pos, '{')) return false;
  skip_ws(s, pos);
  if (pos < s.size() && s[pos] == '}') return ++pos, true;
  std::string key;
  while (true) {
    skip_ws(s, pos);
    if (!read_string(s, pos, key) || !expect(s, pos, ':')) return false;
    skip_ws(s, pos);
    if (!fn(key, pos)) return false;
    skip_ws(s, pos);
    if (pos < s.size() && s[pos] == ',') {
      ++pos;
      continue;
    }
    if (pos < s.size() && s[pos] == '}') return ++pos, true;
    return false;
  }
}

// Finds the member `key` of the object that starts at obj_pos ('{'). On success sets
// [value_begin, value_end) to the raw text of its value.
bool find_member(std::string_view s, size_t obj_pos, std::string_view key, size_t& value_begin,
                 size_t& value_end);

}  // namespace gs::runtime::json_scan
