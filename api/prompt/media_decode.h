// Media content parts (image_url, input_audio) → runtime::MediaInput: the image's source (data:
// URL, fetched URL, local file: see image_source.h) or the client's base64 audio is turned into
// bytes here; the image/audio decoding proper is the engine's (Engine::prepare_media).
#pragma once
#include <string>

#include "api/prompt/image_source.h"
#include "api/result.h"
#include "api/types/chat.h"
#include "runtime/engine/engine.h"

namespace gs::api {

// part.kind is kImage or kAudio; `where` locates the part ("messages[0].content[1]") for the
// error's param ("" → "messages"). 400 when the modality is unavailable in this build/model, when
// the source is refused or malformed (see load_image_bytes), or when the engine cannot decode it.
Result<runtime::MediaInput> decode_media(const ContentPart& part, const runtime::Engine& engine,
                                         const ImageSourcePolicy& sources = {}, const std::string& where = "");

}  // namespace gs::api
