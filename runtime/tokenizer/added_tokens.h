// Added tokens (special and not) are found in the raw text before normalisation and BPE, and
// are never split: leftmost, then longest match, as Hugging Face tokenizers and transformers.js do.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gs::runtime {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
};

class AddedTokenMatcher {
 public:
  void add(const AddedToken& token);
  // Longest token that starts at text[pos]. Special tokens count only when they end at or
  // before special_limit (the end of the span in which the caller allows them). Returns the
  // token index (into tokens()) or -1; sets len.
  int match(std::string_view text, size_t pos, size_t special_limit, size_t& len) const;
  // Cheap pre-check for the scanning loop: can any token start with this byte?
  bool may_start(uint8_t b) const { return root_[b] >= 0; }
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> kids;  // byte -> node index
    int32_t token = -1;                              // index into tokens_
  };
  int32_t child(int32_t node, uint8_t b) const;
  int32_t add_child(int32_t node, uint8_t b);

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_ = std::vector<Node>(1);  // node 0 is the root
  std::array<int32_t, 256> root_ = filled();
  static std::array<int32_t, 256> filled() {
    std::array<int32_t, 256> a{};
    a.fill(-1);
    return a;
  }
};

}  // namespace gs::runtime
