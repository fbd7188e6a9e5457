// Media content parts (image_url, input_audio) → runtime::MediaInput: the client's base64 / data:
// URL is decoded here, the image/audio decoding proper is the engine's (Engine::prepare_media).
#pragma once
#include "api/result.h"
#include "api/types/chat.h"
#include "runtime/engine/engine.h"

namespace gs::api {

// part.kind is kImage or kAudio. 400 when the modality is unavailable in this build/model, when
// the payload is not base64 / a data: URL, or when the engine cannot decode it.
Result<runtime::MediaInput> decode_media(const ContentPart& part, const runtime::Engine& engine);

}  // namespace gs::api
