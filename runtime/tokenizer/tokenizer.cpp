// Encode and decode; loading lives in tokenizer_load.cpp.
#include "runtime/tokenizer/tokenizer.h"

#include "runtime/tokenizer/tokenizer_data.h"
#include "runtime/tokenizer/utf8.h"

namespace gs::runtime {
namespace {

using detail::TokenizerData;

// A section of the input: either one added token or a plain range [begin, end).
struct Section {
  int32_t added_id = -1;
  size_t begin = 0, end = 0;
};

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string normalize(std::string_view in, const TokenizerData& d) {
  std::string s(in);
  for (const auto& st : d.normalizer) {
    if (st.prepend) {
      s.insert(0, st.to);
      continue;
    }
    if (st.from.empty() || s.find(st.from) == std::string::npos) continue;
    std::string out;
    out.reserve(s.size() + s.size() / 2);
    size_t i = 0;
    for (size_t hit; (hit = s.find(st.from, i)) != std::string::npos; i = hit + st.from.size())
      out.append(s, i, hit - i).append(st.to);
    out.append(s, i, std::string::npos);
    s = std::move(out);
  }
  return s;
}

// Pre-tokenisation by a literal pattern (Gemma's Split on ' ' never fires after normalisation).
// Empty pieces are dropped, as in the reference.
void pre_tokenize(std::string_view s, const TokenizerData& d, std::vector<std::string_view>& out) {
  const std::string& pat = d.split_pattern;
  auto emit = [&](size_t b, size_t e) {
    if (e > b) out.push_back(s.substr(b, e - b));
  };
  if (pat.empty()) return emit(0, s.size());
  using B = detail::SplitBehavior;
  size_t start = 0;  // start of the pending piece
  for (size_t from = 0, hit; (hit = s.find(pat, from)) != std::string_view::npos; from = hit + pat.size()) {
    const size_t end = hit + pat.size();
    switch (d.split_behavior) {
      case B::kRemoved: emit(start, hit); start = end; break;
      case B::kIsolated: emit(start, hit); emit(hit, end); start = end; break;
      case B::kMergedWithPrevious: emit(start, end); start = end; break;
      case B::kMergedWithNext: emit(start, hit); start = hit; break;
    }
  }
  emit(start, s.size());
}

// Initial symbols of one word: a vocab id per character, else its <0xHH> byte tokens, else unk.
void initial_ids(std::string_view w, const TokenizerData& d, std::vector<int32_t>& ids) {
  ids.clear();
  size_t i = 0;
  while (i < w.size()) {
    const size_t at = i;
    const uint32_t cp = utf8::next_code_point(w, i);
    const int32_t id = d.char_to_id[cp];
    if (id >= 0) {
      ids.push_back(id);
      continue;
    }
    bool all_bytes = d.byte_fallback;
    for (size_t k = at; k < i && all_bytes; ++k) all_bytes = d.byte_ids[static_cast<uint8_t>(w[k])] >= 0;
    if (all_bytes) {
      for (size_t k = at; k < i; ++k) ids.push_back(d.byte_ids[static_cast<uint8_t>(w[k])]);
    } else if (!(d.fuse_unk && !ids.empty() && ids.back() == d.unk_id)) {
      ids.push_back(d.unk_id);
    }
  }
}

struct WordEncoder {
  const TokenizerData& d;
  std::vector<int32_t> ids;
  bpe::Scratch scratch;

  void word(std::string_view w, std::vector<int32_t>& out) {
    if (w.empty()) return;
    if (d.ignore_merges) {
      const int32_t id = detail::find_piece(d, w);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    initial_ids(w, d, ids);
    bpe::merge(d.merges, ids, scratch, out);
  }

  // Cuts a pre-token before each space symbol that no vocabulary piece can join to the
  // character before it; merges never cross such a cut, so the result is unchanged.
  void pre_token(std::string_view s, std::vector<int32_t>& out) {
    const std::string& sp = d.space_symbol;
    if (sp.empty()) return word(s, out);
    size_t start = 0, i = 0;
    uint32_t prev = 0;
    bool prev_is_space = true;  // nothing to cut before the first character
    while (i < s.size()) {
      const size_t at = i;
      const uint32_t cp = utf8::next_code_point(s, i);
      const bool is_space = s.compare(at, sp.size(), sp) == 0;
      if (is_space && !prev_is_space && !d.joins_space.count(prev)) {
        word(s.substr(start, at - start), out);
        start = at;
      }
      prev = cp;
      prev_is_space = is_space;
    }
    word(s.substr(start), out);
  }
};

// Finds added tokens in `text`; special ones only where `allowed` spans (sorted) permit them.
std::vector<Section> split_added(std::string_view text, const TokenizerData& d,
                                 const std::vector<std::pair<size_t, size_t>>& allowed) {
  std::vector<Section> out;
  size_t start = 0, a = 0;
  for (size_t i = 0; i < text.size();) {
    if (!d.added.may_start(static_cast<uint8_t>(text[i]))) {
      ++i;
      continue;
    }
    while (a < allowed.size() && allowed[a].second <= i) ++a;
    const size_t limit = (a < allowed.size() && allowed[a].first <= i) ? allowed[a].second : 0;
    size_t len = 0;
    const int t = d.added.match(text, i, limit, len);
    if (t < 0) {
      ++i;
      continue;
    }
    if (i > start) out.push_back({-1, start, i});
    out.push_back({t, i, i + len});
    i += len;
    start = i;
  }
  if (start < text.size()) out.push_back({-1, start, text.size()});
  return out;
}

// lstrip / rstrip of added tokens trim the whitespace of their plain neighbours.
void apply_strips(std::string_view text, const TokenizerData& d, std::vector<Section>& secs) {
  for (size_t k = 0; k < secs.size(); ++k) {
    if (secs[k].added_id < 0) continue;
    const AddedToken& t = d.added.tokens()[static_cast<size_t>(secs[k].added_id)];
    if (t.lstrip && k > 0 && secs[k - 1].added_id < 0)
      while (secs[k - 1].end > secs[k - 1].begin && is_ascii_space(text[secs[k - 1].end - 1])) --secs[k - 1].end;
    if (t.rstrip && k + 1 < secs.size() && secs[k + 1].added_id < 0)
      while (secs[k + 1].begin < secs[k + 1].end && is_ascii_space(text[secs[k + 1].begin])) ++secs[k + 1].begin;
  }
}

void flush_bytes(std::string& bytes, std::string& out) {
  if (bytes.empty()) return;
  if (utf8::find_invalid(bytes) == std::string_view::npos) {
    out += bytes;
  } else {
    for (size_t k = 0; k < bytes.size(); ++k) out += utf8::kReplacementChar;
  }
  bytes.clear();
}

}  // namespace

Expected<std::vector<int32_t>> Tokenizer::encode(std::string_view text, bool parse_special) const {
  const TextSegment seg{text, parse_special};
  return encode_segments(std::span<const TextSegment>(&seg, 1));
}

Expected<std::vector<int32_t>> Tokenizer::encode_segments(std::span<const TextSegment> segments) const {
  const TokenizerData& d = *d_;
  std::string joined;
  std::vector<std::pair<size_t, size_t>> allowed;
  for (size_t k = 0; k < segments.size(); ++k) {
    const std::string_view t = segments[k].text;
    if (const size_t bad = utf8::find_invalid(t); bad != std::string_view::npos)
      return make_error(ErrorCode::kInvalidArgument,
                        "text is not valid UTF-8 (bad byte at offset " + std::to_string(bad) +
                            (segments.size() > 1 ? " of part " + std::to_string(k) : std::string()) + ")");
    const size_t b = joined.size();
    joined.append(t);
    if (!segments[k].parse_special || t.empty()) continue;
    if (!allowed.empty() && allowed.back().second == b)
      allowed.back().second = joined.size();
    else
      allowed.emplace_back(b, joined.size());
  }
  std::vector<Section> secs = split_added(joined, d, allowed);
  apply_strips(joined, d, secs);
  std::vector<int32_t> out;
  out.reserve(joined.size() / 3 + 8);
  WordEncoder enc{d, {}, {}};
  std::vector<std::string_view> pre;
  for (const Section& s : secs) {
    if (s.added_id >= 0) {
      out.push_back(d.added.tokens()[static_cast<size_t>(s.added_id)].id);
      continue;
    }
    if (s.end <= s.begin) continue;
    const std::string norm = normalize(std::string_view(joined).substr(s.begin, s.end - s.begin), d);
    pre.clear();
    pre_tokenize(norm, d, pre);
    for (std::string_view p : pre) enc.pre_token(p, out);
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const TokenizerData& d = *d_;
  std::string out, bytes;
  for (const int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= d.pieces.size() || d.pieces[static_cast<size_t>(id)].empty()) continue;
    const auto u = static_cast<size_t>(id);
    if (skip_special && d.special[u]) continue;
    if (d.byte_value[u] >= 0) {
      bytes.push_back(static_cast<char>(d.byte_value[u]));
      continue;
    }
    flush_bytes(bytes, out);
    out += d.decoded[u];
  }
  flush_bytes(bytes, out);
  if (!d.strip_content.empty())
    for (int k = 0; k < d.strip_start && out.compare(0, d.strip_content.size(), d.strip_content) == 0; ++k)
      out.erase(0, d.strip_content.size());
  return out;
}

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  const int32_t id = detail::find_piece(*d_, token);
  if (id < 0) return std::nullopt;
  return id;
}

std::string Tokenizer::token_text(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= d_->pieces.size()) return {};
  return d_->pieces[static_cast<size_t>(id)];
}

std::vector<uint8_t> Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= d_->pieces.size()) return {};
  const auto u = static_cast<size_t>(id);
  if (d_->byte_value[u] >= 0) return {static_cast<uint8_t>(d_->byte_value[u])};
  const std::string& s = d_->decoded[u];
  return std::vector<uint8_t>(s.begin(), s.end());
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(d_->pieces.size()); }
bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < d_->special.size() && d_->special[static_cast<size_t>(id)];
}
int32_t Tokenizer::bos_id() const { return d_->bos_id; }
int32_t Tokenizer::eos_id() const { return d_->eos_id; }
int32_t Tokenizer::unk_id() const { return d_->unk_id; }

}  // namespace gs::runtime
