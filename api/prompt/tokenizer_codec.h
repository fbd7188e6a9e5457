// The production TextCodec: runtime::Tokenizer (tokenizer.json in the model directory) plus the
// Gemma chat template for text turns.
#pragma once
#include <memory>
#include <string>

#include "api/prompt/text_codec.h"
#include "runtime/core/status.h"

namespace gs::api {

// Loads <model_dir>/tokenizer.json. Errors: kNotFound / kCorruptFile with a readable message.
runtime::Expected<std::shared_ptr<const TextCodec>> load_tokenizer_codec(const std::string& model_dir);

}  // namespace gs::api
