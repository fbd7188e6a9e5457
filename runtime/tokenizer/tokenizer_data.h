// What a loaded tokenizer.json becomes (internal to runtime/tokenizer).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "runtime/tokenizer/added_tokens.h"
#include "runtime/tokenizer/bpe.h"
#include "runtime/tokenizer/piece_index.h"

namespace gs::runtime::detail {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext };

struct TokenizerData {
  TokenizerData() = default;
  TokenizerData(const TokenizerData&) = delete;  // the indexes point into `pieces`
  TokenizerData& operator=(const TokenizerData&) = delete;

  // Per id (holes in the id space have an empty piece).
  std::vector<std::string> pieces;   // raw piece as in the file
  std::vector<std::string> decoded;  // piece after the decoder's per-token Replace steps
  std::vector<int16_t> byte_value;   // 0..255 for <0xHH> pieces when the decoder has ByteFallback
  std::vector<uint8_t> special;
  PieceIndex vocab_index;  // model vocabulary pieces
  PieceIndex added_index;  // added tokens (looked up first: they win over equal vocab pieces)

  // Model (BPE).
  bpe::MergeTable merges;
  std::vector<int32_t> char_to_id;        // code point -> id of its single-character piece, or -1
  std::array<int32_t, 256> byte_ids{};    // <0xHH> -> id, or -1
  bool byte_fallback = false;
  bool fuse_unk = false;
  bool ignore_merges = false;
  int32_t unk_id = -1, bos_id = -1, eos_id = -1;
  AddedTokenMatcher added;

  // Normaliser: Replace / Prepend steps applied in order.
  struct NormStep {
    bool prepend = false;  // prepend `to`; otherwise replace every `from` with `to`
    std::string from, to;
  };
  std::vector<NormStep> normalizer;
  // Pre-tokeniser (Split with a literal pattern), empty pattern = none.
  std::string split_pattern;
  SplitBehavior split_behavior = SplitBehavior::kMergedWithPrevious;

  // Word boundaries that no merge can cross, used to cut long sections into short words (pure
  // speed-up, same result): before the space symbol when the previous character never precedes
  // it inside a vocabulary piece. Empty space_symbol disables the cut.
  std::string space_symbol;
  std::unordered_set<uint32_t> joins_space;  // characters that do precede it inside some piece

  // Decoder: per-token replacements, then byte fallback, fuse, strip.
  std::vector<std::pair<std::string, std::string>> decode_replacements;
  bool decode_byte_fallback = false;
  std::string strip_content;
  int strip_start = 0;
};

// Exact piece lookup: added tokens first, then the model vocabulary; -1 when absent.
inline int32_t find_piece(const TokenizerData& d, std::string_view s) {
  const int32_t a = d.added_index.find(s);
  return a >= 0 ? a : d.vocab_index.find(s);
}

}  // namespace gs::runtime::detail
