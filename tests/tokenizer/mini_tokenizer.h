// The hand-checkable tokenizer of tests/fixtures/tokenizer/mini_tokenizer.json (see
// make_mini_tokenizer.py there): Gemma's pipeline, a few merges and the 3n multimodal markers.
#pragma once
#include <gtest/gtest.h>

#include "runtime/tokenizer/tokenizer.h"
#include "tests/support/test_paths.h"

namespace gs::test {

inline const runtime::Tokenizer& mini_tokenizer() {
  static const runtime::Tokenizer tok = [] {
    auto t = runtime::Tokenizer::load(fixture_path("tokenizer/mini_tokenizer.json"));
    if (!t) throw std::runtime_error(t.error().message);
    return std::move(t).value();
  }();
  return tok;
}

inline int32_t mini_id(std::string_view piece) {
  auto id = mini_tokenizer().token_id(piece);
  if (!id) throw std::runtime_error("mini tokenizer lacks " + std::string(piece));
  return *id;
}

}  // namespace gs::test
