// libavformat + libavcodec over an in-memory AVIOContext (WebM/Matroska, MP4/M4A, MP3, Opus, …).
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>
}

#include <cstring>
#include <memory>

#include "runtime/audio/pcm.h"

namespace gs::runtime::audio {
namespace {

struct MemReader {
  std::span<const uint8_t> bytes;
  int64_t pos = 0;
};

int read_packet(void* opaque, uint8_t* buf, int buf_size) {
  auto* r = static_cast<MemReader*>(opaque);
  const int64_t left = static_cast<int64_t>(r->bytes.size()) - r->pos;
  if (left <= 0 || buf_size <= 0) return AVERROR_EOF;
  const int n = static_cast<int>(std::min<int64_t>(left, buf_size));
  std::memcpy(buf, r->bytes.data() + r->pos, static_cast<size_t>(n));
  r->pos += n;
  return n;
}

int64_t seek(void* opaque, int64_t offset, int whence) {
  auto* r = static_cast<MemReader*>(opaque);
  const int64_t size = static_cast<int64_t>(r->bytes.size());
  if (whence & AVSEEK_SIZE) return size;
  whence &= ~AVSEEK_FORCE;
  const int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->pos : whence == SEEK_END ? size : -1;
  if (base < 0 || offset > size || offset < -size) return AVERROR(EINVAL);
  const int64_t p = base + offset;
  if (p < 0 || p > size) return AVERROR(EINVAL);
  r->pos = p;
  return p;
}

struct IoDeleter {
  void operator()(AVIOContext* io) const {
    if (!io) return;
    av_freep(&io->buffer);
    avio_context_free(&io);
  }
};
struct FormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

Error bad(const std::string& msg) { return make_error(ErrorCode::kInvalidArgument, "cannot decode audio: " + msg); }

// Sample s of channel c, any packed/planar PCM layout libavcodec produces, as float.
float sample_at(const AVFrame& f, AVSampleFormat fmt, int channels, int c, int s) {
  const bool planar = av_sample_fmt_is_planar(fmt);
  const uint8_t* base = planar ? f.extended_data[c] : f.extended_data[0];
  const int idx = planar ? s : s * channels + c;
  switch (av_get_packed_sample_fmt(fmt)) {
    case AV_SAMPLE_FMT_U8: return (static_cast<float>(base[idx]) - 128.0f) / 128.0f;
    case AV_SAMPLE_FMT_S16: return reinterpret_cast<const int16_t*>(base)[idx] / 32768.0f;
    case AV_SAMPLE_FMT_S32: return static_cast<float>(reinterpret_cast<const int32_t*>(base)[idx] / 2147483648.0);
    case AV_SAMPLE_FMT_S64:
      return static_cast<float>(static_cast<double>(reinterpret_cast<const int64_t*>(base)[idx]) / 9.223372036854775808e18);
    case AV_SAMPLE_FMT_FLT: return reinterpret_cast<const float*>(base)[idx];
    case AV_SAMPLE_FMT_DBL: return static_cast<float>(reinterpret_cast<const double*>(base)[idx]);
    default: return 0.0f;
  }
}

Status append_frame(const AVFrame& f, MonoPcm* pcm) {
  const auto fmt = static_cast<AVSampleFormat>(f.format);
  const int channels = f.ch_layout.nb_channels;
  if (channels < 1 || channels > kMaxChannels) return bad("invalid channel count");
  if (f.sample_rate != pcm->rate) return bad("the sample rate changes inside the stream");
  if (av_get_bytes_per_sample(fmt) <= 0 || f.nb_samples < 0 || !f.extended_data) return bad("unsupported sample format");
  const float inv = 1.0f / static_cast<float>(channels);
  for (int s = 0; s < f.nb_samples; ++s) {
    float acc = 0;
    for (int c = 0; c < channels; ++c) acc += sample_at(f, fmt, channels, c, s);
    pcm->samples.push_back(acc * inv);
  }
  return ok_status();
}

// Drains decoded frames; returns false once max_frames is reached.
Expected<bool> drain(AVCodecContext* dec, AVFrame* frame, int64_t max_frames, MonoPcm* pcm) {
  while (true) {
    const int rc = avcodec_receive_frame(dec, frame);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return true;
    if (rc < 0) return true;  // a corrupt frame: skip it, keep what decodes
    auto st = append_frame(*frame, pcm);
    av_frame_unref(frame);
    if (!st) return st.error();
    if (static_cast<int64_t>(pcm->samples.size()) >= max_frames) {
      pcm->samples.resize(static_cast<size_t>(max_frames));
      pcm->truncated = true;
      return false;
    }
  }
}

}  // namespace

Expected<MonoPcm> decode_with_libav(std::span<const uint8_t> bytes, double max_seconds) {
  MemReader reader{bytes, 0};
  constexpr int kIoBuf = 1 << 15;
  auto* iobuf = static_cast<uint8_t*>(av_malloc(kIoBuf));
  if (!iobuf) return make_error(ErrorCode::kResourceExhausted, "out of memory");
  std::unique_ptr<AVIOContext, IoDeleter> io(avio_alloc_context(iobuf, kIoBuf, 0, &reader, read_packet, nullptr, seek));
  if (!io) {
    av_free(iobuf);
    return make_error(ErrorCode::kResourceExhausted, "out of memory");
  }
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) return make_error(ErrorCode::kResourceExhausted, "out of memory");
  raw->pb = io.get();
  raw->flags |= AVFMT_FLAG_CUSTOM_IO;
  if (avformat_open_input(&raw, nullptr, nullptr, nullptr) < 0)  // frees raw on failure
    return make_error(ErrorCode::kUnsupported, "unrecognised or unsupported audio format");
  // Declared after io: destroyed first, while the AVIOContext it reads from still exists.
  std::unique_ptr<AVFormatContext, FormatDeleter> fmt(raw);
  if (avformat_find_stream_info(fmt.get(), nullptr) < 0) return bad("no stream information");
  const AVCodec* codec = nullptr;
  const int stream = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (stream < 0 || !codec) return make_error(ErrorCode::kUnsupported, "no decodable audio stream");
  std::unique_ptr<AVCodecContext, CodecDeleter> dec(avcodec_alloc_context3(codec));
  if (!dec || avcodec_parameters_to_context(dec.get(), fmt->streams[stream]->codecpar) < 0 ||
      avcodec_open2(dec.get(), codec, nullptr) < 0)
    return bad("cannot open the audio decoder");
  if (dec->sample_rate < 1 || dec->sample_rate > kMaxSampleRate) return bad("invalid sample rate");
  MonoPcm pcm;
  pcm.rate = dec->sample_rate;
  pcm.channels = dec->ch_layout.nb_channels;
  pcm.container = fmt->iformat && fmt->iformat->name ? fmt->iformat->name : "libav";
  const auto max_frames = static_cast<int64_t>(max_seconds * pcm.rate);
  std::unique_ptr<AVPacket, PacketDeleter> pkt(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameDeleter> frame(av_frame_alloc());
  if (!pkt || !frame) return make_error(ErrorCode::kResourceExhausted, "out of memory");
  bool more = true;
  while (more && av_read_frame(fmt.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == stream && avcodec_send_packet(dec.get(), pkt.get()) >= 0) {
      auto r = drain(dec.get(), frame.get(), max_frames, &pcm);
      if (!r) return r.error();
      more = r.value();
    }
    av_packet_unref(pkt.get());
  }
  if (more && avcodec_send_packet(dec.get(), nullptr) >= 0) {  // flush the decoder's delay
    auto r = drain(dec.get(), frame.get(), max_frames, &pcm);
    if (!r) return r.error();
  }
  if (pcm.samples.empty()) return bad("no audio samples could be decoded");
  return pcm;
}

}  // namespace gs::runtime::audio
