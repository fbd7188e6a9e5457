// libsndfile over memory (SF_VIRTUAL_IO): WAV/AIFF/FLAC/OGG/MP3 and the other formats it knows.
#include <sndfile.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "runtime/audio/pcm.h"

namespace gs::runtime::audio {
namespace {

struct MemFile {
  std::span<const uint8_t> bytes;
  sf_count_t pos = 0;
};

sf_count_t vio_length(void* u) { return static_cast<sf_count_t>(static_cast<MemFile*>(u)->bytes.size()); }
sf_count_t vio_tell(void* u) { return static_cast<MemFile*>(u)->pos; }
sf_count_t vio_seek(sf_count_t offset, int whence, void* u) {
  auto* m = static_cast<MemFile*>(u);
  const sf_count_t size = static_cast<sf_count_t>(m->bytes.size());
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : size;
  if (offset > size || offset < -size) return -1;
  const sf_count_t p = base + offset;
  if (p < 0 || p > size) return -1;
  m->pos = p;
  return p;
}
sf_count_t vio_read(void* ptr, sf_count_t count, void* u) {
  auto* m = static_cast<MemFile*>(u);
  const sf_count_t left = static_cast<sf_count_t>(m->bytes.size()) - m->pos;
  const sf_count_t n = std::clamp<sf_count_t>(count, 0, std::max<sf_count_t>(left, 0));
  if (n > 0) std::memcpy(ptr, m->bytes.data() + m->pos, static_cast<size_t>(n));
  m->pos += n;
  return n;
}
sf_count_t vio_write(const void*, sf_count_t, void*) { return 0; }

std::string container_name(int format) {
  switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: return "wav";
    case SF_FORMAT_WAVEX: return "wav";
    case SF_FORMAT_FLAC: return "flac";
    case SF_FORMAT_OGG: return "ogg";
    case SF_FORMAT_MPEG: return "mp3";
    case SF_FORMAT_AIFF: return "aiff";
    default: return "sndfile";
  }
}

}  // namespace

Expected<MonoPcm> decode_with_sndfile(std::span<const uint8_t> bytes, double max_seconds) {
  MemFile mem{bytes, 0};
  SF_VIRTUAL_IO vio{vio_length, vio_seek, vio_read, vio_write, vio_tell};
  SF_INFO info{};
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> sf(sf_open_virtual(&vio, SFM_READ, &info, &mem), &sf_close);
  if (!sf) return make_error(ErrorCode::kUnsupported, "not a libsndfile format");
  if (info.channels < 1 || info.channels > kMaxChannels || info.samplerate < 1 || info.samplerate > kMaxSampleRate)
    return make_error(ErrorCode::kInvalidArgument, "audio header has an invalid channel count or sample rate");
  MonoPcm pcm;
  pcm.rate = info.samplerate;
  pcm.channels = info.channels;
  pcm.container = container_name(info.format);
  const auto max_frames = static_cast<int64_t>(max_seconds * info.samplerate);
  constexpr sf_count_t kBlock = 4096;
  std::vector<float> buf(static_cast<size_t>(kBlock * info.channels));
  const float inv = 1.0f / static_cast<float>(info.channels);
  while (true) {
    const sf_count_t got = sf_readf_float(sf.get(), buf.data(), kBlock);
    if (got <= 0) break;
    for (sf_count_t f = 0; f < got; ++f) {
      float s = 0;
      for (int c = 0; c < info.channels; ++c) s += buf[static_cast<size_t>(f * info.channels + c)];
      pcm.samples.push_back(s * inv);
    }
    if (static_cast<int64_t>(pcm.samples.size()) >= max_frames) {
      pcm.samples.resize(static_cast<size_t>(max_frames));
      pcm.truncated = true;
      break;
    }
  }
  if (sf_error(sf.get()) != SF_ERR_NO_ERROR && pcm.samples.empty())
    return make_error(ErrorCode::kInvalidArgument, std::string("cannot decode audio: ") + sf_strerror(sf.get()));
  return pcm;
}

}  // namespace gs::runtime::audio
