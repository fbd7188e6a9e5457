#include "runtime/tokenizer/added_tokens.h"

namespace gs::runtime {

int32_t AddedTokenMatcher::child(int32_t node, uint8_t b) const {
  if (node == 0) return root_[b];
  for (const auto& [byte, idx] : nodes_[node].kids)
    if (byte == b) return idx;
  return -1;
}

int32_t AddedTokenMatcher::add_child(int32_t node, uint8_t b) {
  int32_t c = child(node, b);
  if (c >= 0) return c;
  c = static_cast<int32_t>(nodes_.size());
  nodes_.emplace_back();
  if (node == 0)
    root_[b] = c;
  else
    nodes_[node].kids.emplace_back(b, c);
  return c;
}

void AddedTokenMatcher::add(const AddedToken& token) {
  if (token.content.empty()) return;
  int32_t node = 0;
  for (char ch : token.content) node = add_child(node, static_cast<uint8_t>(ch));
  if (nodes_[node].token >= 0) {
    tokens_[nodes_[node].token] = token;  // the later entry wins, as in a map keyed by content
    return;
  }
  nodes_[node].token = static_cast<int32_t>(tokens_.size());
  tokens_.push_back(token);
}

int AddedTokenMatcher::match(std::string_view text, size_t pos, size_t special_limit,
                             size_t& len) const {
  int best = -1;
  int32_t node = 0;
  for (size_t j = pos; j < text.size(); ++j) {
    node = child(node, static_cast<uint8_t>(text[j]));
    if (node < 0) break;
    const int32_t t = nodes_[node].token;
    if (t >= 0 && (!tokens_[t].special || j + 1 <= special_limit)) {
      best = t;
      len = j + 1 - pos;
    }
  }
  return best;
}

}  // namespace gs::runtime
