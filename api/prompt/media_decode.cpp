#include "api/prompt/media_decode.h"

#include "api/prompt/base64.h"

namespace gs::api {

Result<runtime::MediaInput> decode_media(const ContentPart& part, const runtime::Engine& engine,
                                         const ImageSourcePolicy& sources, const std::string& where) {
  const bool image = part.kind == ContentPart::Kind::kImage;
  const auto kind = image ? runtime::MediaInput::Kind::kImage : runtime::MediaInput::Kind::kAudio;
  const std::string param = where.empty() ? "messages" : where + (image ? ".image_url.url" : ".input_audio.data");
  if (engine.media_tokens(kind) <= 0)
    return bad_request(image ? "image input is not available in this build" : "audio input is not available in this build",
                       param, "unsupported_content");
  std::vector<uint8_t> bytes;
  if (image) {
    auto loaded = load_image_bytes(part.url, sources, param);
    if (!loaded) return loaded.error();
    bytes = std::move(loaded).value();
  } else {
    auto data = base64_decode(part.data);
    if (!data) return bad_request("input_audio.data must be base64", param, "invalid_value");
    bytes = std::move(*data);
  }
  if (bytes.empty()) return bad_request(image ? "the image is empty (0 bytes)" : "empty media payload", param, "invalid_value");
  auto media = engine.prepare_media(kind, bytes);
  if (!media) return bad_request(media.error().message, param, "invalid_value");
  return std::move(media.value());
}

}  // namespace gs::api
