// Loading tokenizer.json. The vocabulary and merges (almost all of the 33 MB) are read by the
// in-place scanner in json_scan.h; the small remainder (added tokens, normaliser,
// pre-tokeniser, decoder) is parsed with nlohmann after those two values are blanked out.
#include <algorithm>
#include <array>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer/json_scan.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/tokenizer/tokenizer_data.h"
#include "runtime/tokenizer/utf8.h"

namespace gs::runtime {
namespace {

using json = nlohmann::json;
using detail::TokenizerData;

Error corrupt(const std::string& msg) { return make_error(ErrorCode::kCorruptFile, "tokenizer.json: " + msg); }
Error unsupported(const std::string& msg) {
  return make_error(ErrorCode::kUnsupported, "tokenizer.json: unsupported " + msg);
}

// Ids index dense per-id tables; this bounds what a hostile file can make us allocate.
constexpr long long kMaxId = 1 << 22;

struct Span {
  size_t begin = 0, end = 0;
};

void set_piece(TokenizerData& d, int32_t id, const std::string& piece) {
  if (static_cast<size_t>(id) >= d.pieces.size()) d.pieces.resize(static_cast<size_t>(id) + 1);
  d.pieces[static_cast<size_t>(id)] = piece;
}

// Reads the model.vocab object at pos (advancing pos past it) and indexes it.
Status read_vocab(std::string_view s, size_t& pos, TokenizerData& d) {
  std::vector<int32_t> order;
  order.reserve(1 << 18);
  const bool ok = json_scan::for_each_member(s, pos, [&](const std::string& k, size_t& p) {
    long long id;
    if (!json_scan::read_int(s, p, id) || id < 0 || id > kMaxId) return false;
    set_piece(d, static_cast<int32_t>(id), k);
    order.push_back(static_cast<int32_t>(id));
    return true;
  });
  if (!ok) return corrupt("malformed model.vocab near byte " + std::to_string(pos));
  if (order.empty()) return corrupt("model.vocab is empty");
  d.vocab_index.build(d.pieces, order);
  return ok_status();
}

// One merge: either ["a", "b"] (tokenizers >= 0.20) or "a b" (older files).
bool read_merge(std::string_view s, size_t& pos, std::string& a, std::string& b) {
  json_scan::skip_ws(s, pos);
  if (pos < s.size() && s[pos] == '[') {
    ++pos;
    json_scan::skip_ws(s, pos);
    if (!json_scan::read_string(s, pos, a) || !json_scan::expect(s, pos, ',')) return false;
    json_scan::skip_ws(s, pos);
    return json_scan::read_string(s, pos, b) && json_scan::expect(s, pos, ']');
  }
  std::string both;
  if (!json_scan::read_string(s, pos, both)) return false;
  const size_t sp = both.find(' ');
  if (sp == std::string::npos) return false;
  a = both.substr(0, sp);
  b = both.substr(sp + 1);
  return true;
}

// Merges are resolved in batches (hash all, prefetch all, then look up and insert) so that the
// three or four cache misses per merge overlap instead of queueing: ~2x faster load.
struct MergeBatch {
  static constexpr int kSize = 64;
  std::array<std::string, kSize * 3> text;  // a, b, a+b per merge
  std::array<uint64_t, kSize * 3> hash{};
  std::array<int32_t, kSize * 3> id{};
  int n = 0;
};

Status flush_merges(MergeBatch& bt, int32_t first_rank, TokenizerData& d) {
  const int m = bt.n * 3;
  for (int i = 0; i < m; ++i) d.vocab_index.prefetch(bt.hash[i]);
  for (int i = 0; i < m; ++i) {
    bt.id[i] = d.vocab_index.find_present(bt.text[i], bt.hash[i]);
    if (bt.id[i] < 0)
      return corrupt("merge #" + std::to_string(first_rank + i / 3) + " uses a piece missing from the vocab");
  }
  for (int k = 0; k < bt.n; ++k) d.merges.prefetch(bt.id[3 * k], bt.id[3 * k + 1]);
  for (int k = 0; k < bt.n; ++k) d.merges.insert(bt.id[3 * k], bt.id[3 * k + 1], first_rank + k, bt.id[3 * k + 2]);
  bt.n = 0;
  return ok_status();
}

// Reads the model.merges array at pos (advancing pos past it); needs the vocabulary.
Status read_merges(std::string_view s, size_t& pos, TokenizerData& d) {
  if (!json_scan::expect(s, pos, '[')) return corrupt("model.merges is not an array");
  json_scan::skip_ws(s, pos);
  if (pos < s.size() && s[pos] == ']') return ++pos, ok_status();
  d.merges.reserve(d.pieces.size() * 2);  // Gemma: 515k merges for 262k pieces
  auto bt = std::make_unique<MergeBatch>();
  int32_t rank = 0;
  while (true) {
    std::string* t = &bt->text[static_cast<size_t>(bt->n) * 3];
    if (!read_merge(s, pos, t[0], t[1])) return corrupt("malformed merge #" + std::to_string(rank));
    t[2].assign(t[0]).append(t[1]);
    for (int k = 0; k < 3; ++k) bt->hash[static_cast<size_t>(bt->n) * 3 + k] = PieceIndex::hash(t[k]);
    ++rank;
    if (++bt->n == MergeBatch::kSize)
      if (Status st = flush_merges(*bt, rank - MergeBatch::kSize, d); !st) return st;
    json_scan::skip_ws(s, pos);
    if (pos < s.size() && s[pos] == ',') {
      ++pos;
      continue;
    }
    if (pos < s.size() && s[pos] == ']') {
      ++pos;
      return flush_merges(*bt, rank - bt->n, d);
    }
    return corrupt("malformed model.merges near byte " + std::to_string(pos));
  }
}

// The literal of a {"String": "..."} pattern; regex patterns are not supported.
Expected<std::string> string_pattern(const json& j, const char* where) {
  if (!j.contains("pattern") || !j["pattern"].is_object() || !j["pattern"].contains("String"))
    return unsupported(std::string(where) + " pattern (only {\"String\": ...} is)");
  return j["pattern"]["String"].get<std::string>();
}

Status read_normalizer(const json& j, TokenizerData& d) {
  if (j.is_null()) return ok_status();
  const std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const auto& step : j.at("normalizers")) {
      Status st = read_normalizer(step, d);
      if (!st) return st;
    }
    return ok_status();
  }
  if (type == "Replace") {
    auto from = string_pattern(j, "normalizer Replace");
    if (!from) return from.error();
    d.normalizer.push_back({false, *from, j.at("content").get<std::string>()});
    return ok_status();
  }
  if (type == "Prepend") {
    d.normalizer.push_back({true, "", j.at("prepend").get<std::string>()});
    return ok_status();
  }
  return unsupported("normalizer type '" + type + "'");
}

Status read_pre_tokenizer(const json& j, TokenizerData& d) {
  if (j.is_null()) return ok_status();
  const std::string type = j.value("type", "");
  if (type != "Split") return unsupported("pre_tokenizer type '" + type + "'");
  auto pat = string_pattern(j, "pre_tokenizer Split");
  if (!pat) return pat.error();
  if (j.value("invert", false)) return unsupported("pre_tokenizer Split with invert=true");
  const std::string behavior = j.value("behavior", "");
  using B = detail::SplitBehavior;
  if (behavior == "Removed") d.split_behavior = B::kRemoved;
  else if (behavior == "Isolated") d.split_behavior = B::kIsolated;
  else if (behavior == "MergedWithPrevious") d.split_behavior = B::kMergedWithPrevious;
  else if (behavior == "MergedWithNext") d.split_behavior = B::kMergedWithNext;
  else return unsupported("pre_tokenizer Split behavior '" + behavior + "'");
  d.split_pattern = *pat;
  return ok_status();
}

// Supported chain: Replace*, ByteFallback?, Fuse?, Strip? (Gemma: Replace, ByteFallback, Fuse).
Status read_decoder(const json& j, TokenizerData& d) {
  if (j.is_null()) return ok_status();
  std::vector<json> steps;
  if (j.value("type", "") == "Sequence") {
    for (const auto& s : j.at("decoders")) steps.push_back(s);
  } else {
    steps.push_back(j);
  }
  int stage = 0;  // 0 replace, 1 byte fallback, 2 fuse, 3 strip
  for (const auto& s : steps) {
    const std::string type = s.value("type", "");
    int want = type == "Replace" ? 0 : type == "ByteFallback" ? 1 : type == "Fuse" ? 2 : type == "Strip" ? 3 : -1;
    if (want < 0) return unsupported("decoder type '" + type + "'");
    if (want < stage) return unsupported("decoder order (" + type + " after a later step)");
    stage = want;
    if (type == "Replace") {
      auto from = string_pattern(s, "decoder Replace");
      if (!from) return from.error();
      d.decode_replacements.emplace_back(*from, s.at("content").get<std::string>());
    } else if (type == "ByteFallback") {
      d.decode_byte_fallback = true;
    } else if (type == "Strip") {
      if (s.value("stop", 0) != 0) return unsupported("decoder Strip with stop > 0");
      d.strip_content = s.at("content").get<std::string>();
      d.strip_start = s.value("start", 0);
    }
  }
  return ok_status();
}

Status read_added_tokens(const json& j, TokenizerData& d) {
  if (j.is_null()) return ok_status();
  std::vector<int32_t> added_ids;
  for (const auto& t : j) {
    AddedToken a;
    a.id = t.at("id").get<int32_t>();
    a.content = t.at("content").get<std::string>();
    a.special = t.value("special", false);
    a.lstrip = t.value("lstrip", false);
    a.rstrip = t.value("rstrip", false);
    if (a.id < 0 || a.id > kMaxId) return corrupt("added token id out of range");
    if (utf8::find_invalid(a.content) != std::string_view::npos) return corrupt("added token not UTF-8");
    set_piece(d, a.id, a.content);
    added_ids.push_back(a.id);
    if (static_cast<size_t>(a.id) >= d.special.size()) d.special.resize(static_cast<size_t>(a.id) + 1, 0);
    d.special[static_cast<size_t>(a.id)] = a.special ? 1 : 0;
    d.added.add(a);
  }
  // Later entries win over earlier ones with the same content, as in a map keyed by content.
  std::reverse(added_ids.begin(), added_ids.end());
  d.added_index.build(d.pieces, added_ids);
  return ok_status();
}

Status read_model_options(const json& model, TokenizerData& d) {
  if (model.value("type", "BPE") != "BPE") return unsupported("model type '" + model.value("type", "") + "'");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(k) && !model[k].is_null() && !model[k].get<std::string>().empty())
      return unsupported(std::string("model.") + k);
  d.byte_fallback = model.value("byte_fallback", false);
  d.fuse_unk = model.value("fuse_unk", false);
  d.ignore_merges = model.value("ignore_merges", false);
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    d.unk_id = detail::find_piece(d, model["unk_token"].get<std::string>());
  }
  return ok_status();
}

std::string apply_replacements(std::string s, const std::vector<std::pair<std::string, std::string>>& reps) {
  for (const auto& [from, to] : reps) {
    if (from.empty() || s.find(from) == std::string::npos) continue;
    std::string out;
    size_t i = 0;
    for (size_t hit; (hit = s.find(from, i)) != std::string::npos; i = hit + from.size())
      out.append(s, i, hit - i).append(to);
    out.append(s, i, std::string::npos);
    s = std::move(out);
  }
  return s;
}

int byte_piece_value(const std::string& p) {
  if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>') return -1;
  unsigned v = 0;
  for (int k = 3; k < 5; ++k) {
    const char c = p[k];
    const int h = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (h < 0) return -1;
    v = v * 16 + static_cast<unsigned>(h);
  }
  return static_cast<int>(v);
}

// Derived per-id and per-character tables.
void finish_tables(TokenizerData& d, size_t model_vocab_end) {
  const size_t n = d.pieces.size();
  d.special.resize(n, 0);
  d.decoded.resize(n);
  d.byte_value.assign(n, -1);
  d.byte_ids.fill(-1);
  d.char_to_id.assign(0x110000, -1);
  for (const auto& st : d.normalizer)
    if (!st.prepend && st.from == " " && !st.to.empty() && utf8::sequence_length(st.to, 0) == static_cast<int>(st.to.size()))
      d.space_symbol = st.to;
  for (size_t id = 0; id < n; ++id) {
    const std::string& p = d.pieces[id];
    d.decoded[id] = apply_replacements(p, d.decode_replacements);
    if (utf8::find_invalid(d.decoded[id]) != std::string_view::npos) d.decoded[id] = utf8::kReplacementChar;
    const int bv = byte_piece_value(p);
    if (bv >= 0) {
      if (d.decode_byte_fallback) d.byte_value[id] = static_cast<int16_t>(bv);
      if (d.byte_ids[static_cast<size_t>(bv)] < 0) d.byte_ids[static_cast<size_t>(bv)] = static_cast<int32_t>(id);
    }
    if (p.empty() || utf8::find_invalid(p) != std::string_view::npos) continue;
    size_t i = 0;
    const uint32_t cp = utf8::next_code_point(p, i);
    if (i == p.size() && d.char_to_id[cp] < 0 && id < model_vocab_end) d.char_to_id[cp] = static_cast<int32_t>(id);
    if (d.space_symbol.empty() || id >= model_vocab_end) continue;
    // Which characters precede the space symbol inside a piece (see joins_space).
    uint32_t prev = cp;
    while (i < p.size()) {
      const size_t at = i;
      const uint32_t c = utf8::next_code_point(p, i);
      if (p.compare(at, d.space_symbol.size(), d.space_symbol) == 0 && prev != c) d.joins_space.insert(prev);
      prev = c;
    }
  }
  auto find = [&](const char* s) { return detail::find_piece(d, s); };
  d.bos_id = find("<bos>") >= 0 ? find("<bos>") : find("<s>");
  d.eos_id = find("<eos>") >= 0 ? find("<eos>") : find("</s>");
}

// One pass over the file: reads model.vocab and model.merges in place (merges after the
// vocabulary, even if the file lists them first) and records where they are.
Status scan_big_sections(std::string_view s, TokenizerData& d, Span& vocab, Span& merges) {
  Status st = ok_status();
  bool have_model = false, merges_read = false;
  size_t pos = 0;
  auto model_member = [&](const std::string& key, size_t& p) {
    const size_t begin = p;
    if (key == "vocab") {
      st = read_vocab(s, p, d);
      vocab = Span{begin, p};
    } else if (key == "merges") {
      if (vocab.end != 0) {
        st = read_merges(s, p, d);
        merges_read = true;
      } else if (!json_scan::skip_value(s, p)) {
        return false;
      }
      merges = Span{begin, p};
    } else {
      return json_scan::skip_value(s, p);
    }
    return st.ok();
  };
  const bool ok = json_scan::for_each_member(s, pos, [&](const std::string& key, size_t& p) {
    if (key != "model") return json_scan::skip_value(s, p);
    have_model = true;
    return json_scan::for_each_member(s, p, model_member);
  });
  if (!st) return st;
  if (!ok) return corrupt("not valid JSON near byte " + std::to_string(pos));
  if (!have_model || vocab.end == 0) return corrupt("no model.vocab");
  if (merges.end > merges.begin && !merges_read) {
    size_t p = merges.begin;
    return read_merges(s, p, d);
  }
  return ok_status();
}

// The file with model.vocab and model.merges replaced by empty containers (same shape, small).
std::string without_big_sections(std::string_view s, Span vocab, Span merges) {
  std::string out;
  out.reserve(s.size() / 16);
  Span first = vocab, second = merges;
  if (merges.begin != merges.end && merges.begin < vocab.begin) std::swap(first, second);
  out.append(s.substr(0, first.begin)).append(first.begin == vocab.begin ? "{}" : "[]");
  if (second.begin != second.end) {
    out.append(s.substr(first.end, second.begin - first.end)).append(second.begin == vocab.begin ? "{}" : "[]");
    out.append(s.substr(second.end));
  } else {
    out.append(s.substr(first.end));
  }
  return out;
}

}  // namespace

Expected<Tokenizer> Tokenizer::from_json(std::string_view s) {
  auto d = std::make_shared<TokenizerData>();
  Span vocab, merges;
  if (Status st = scan_big_sections(s, *d, vocab, merges); !st) return st.error();
  const size_t model_vocab_end = d->pieces.size();
  json rest;
  try {
    rest = json::parse(without_big_sections(s, vocab, merges));
  } catch (const std::exception& e) {
    return corrupt(std::string("invalid JSON: ") + e.what());
  }
  try {
    Status st = read_added_tokens(rest.value("added_tokens", json()), *d);
    if (st) st = read_model_options(rest.at("model"), *d);
    if (st) st = read_normalizer(rest.value("normalizer", json()), *d);
    if (st) st = read_pre_tokenizer(rest.value("pre_tokenizer", json()), *d);
    if (st) st = read_decoder(rest.value("decoder", json()), *d);
    if (!st) return st.error();
    finish_tables(*d, model_vocab_end);
  } catch (const std::exception& e) {  // wrong JSON types in the small sections
    return corrupt(e.what());
  }
  return Tokenizer(std::move(d));
}

Expected<Tokenizer> Tokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open tokenizer file: " + path);
  std::string text;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) return make_error(ErrorCode::kNotFound, "cannot read tokenizer file: " + path);
  text.resize(static_cast<size_t>(size));
  in.seekg(0);
  in.read(text.data(), size);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read tokenizer file: " + path);
  auto t = from_json(text);
  if (!t) return make_error(t.error().code, path + ": " + t.error().message);
  return t;
}

}  // namespace gs::runtime
