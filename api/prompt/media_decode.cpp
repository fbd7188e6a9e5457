#include "api/prompt/media_decode.h"

#include "api/prompt/base64.h"

namespace gs::api {

Result<runtime::MediaInput> decode_media(const ContentPart& part, const runtime::Engine& engine) {
  const bool image = part.kind == ContentPart::Kind::kImage;
  const auto kind = image ? runtime::MediaInput::Kind::kImage : runtime::MediaInput::Kind::kAudio;
  if (engine.media_tokens(kind) <= 0)
    return bad_request(image ? "image input is not available in this build" : "audio input is not available in this build",
                       "messages", "unsupported_content");
  std::vector<uint8_t> bytes;
  if (image) {
    if (part.url.rfind("http://", 0) == 0 || part.url.rfind("https://", 0) == 0)
      return bad_request("remote image URLs are not fetched; send the image as a data: URL (base64)", "messages",
                         "unsupported_content");
    auto data = parse_data_url(part.url);
    if (!data) return bad_request("image_url.url must be a base64 data: URL", "messages", "invalid_value");
    bytes = std::move(data->bytes);
  } else {
    auto data = base64_decode(part.data);
    if (!data) return bad_request("input_audio.data must be base64", "messages", "invalid_value");
    bytes = std::move(*data);
  }
  if (bytes.empty()) return bad_request("empty media payload", "messages", "invalid_value");
  auto media = engine.prepare_media(kind, bytes);
  if (!media) return bad_request(media.error().message, "messages", "invalid_value");
  return std::move(media.value());
}

}  // namespace gs::api
