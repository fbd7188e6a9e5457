// Test audio generated at test time (no binary fixtures): libsndfile writes WAV/FLAC/OGG/MP3 into
// memory, libavformat/libavcodec write WebM/Opus. Signals are sines, so decodes can be checked.
#pragma once
#include <sndfile.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

namespace gs::test {

// [frames, channels] interleaved; channel c has amplitude amp·(c % 2 ? -1 : 1) when `opposite`.
inline std::vector<float> sine(int rate, int channels, double seconds, double hz, double amp = 0.5,
                               bool opposite = false) {
  const int n = static_cast<int>(seconds * rate);
  std::vector<float> out(static_cast<size_t>(n) * channels);
  for (int i = 0; i < n; ++i)
    for (int c = 0; c < channels; ++c) {
      const double sgn = opposite && (c % 2) ? -1.0 : 1.0;
      out[static_cast<size_t>(i) * channels + c] = static_cast<float>(sgn * amp * std::sin(2 * M_PI * hz * i / rate));
    }
  return out;
}

struct MemSink {
  std::vector<uint8_t> bytes;
  sf_count_t pos = 0;
};

inline std::vector<uint8_t> write_sndfile(int format, int rate, int channels, const std::vector<float>& pcm) {
  SF_VIRTUAL_IO vio{
      [](void* u) { return static_cast<sf_count_t>(static_cast<MemSink*>(u)->bytes.size()); },
      [](sf_count_t off, int whence, void* u) {
        auto* m = static_cast<MemSink*>(u);
        sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : static_cast<sf_count_t>(m->bytes.size());
        m->pos = base + off;
        return m->pos;
      },
      [](void* p, sf_count_t n, void* u) {
        auto* m = static_cast<MemSink*>(u);
        const sf_count_t left = std::max<sf_count_t>(0, static_cast<sf_count_t>(m->bytes.size()) - m->pos);
        n = std::min(n, left);
        std::memcpy(p, m->bytes.data() + m->pos, static_cast<size_t>(n));
        m->pos += n;
        return n;
      },
      [](const void* p, sf_count_t n, void* u) {
        auto* m = static_cast<MemSink*>(u);
        if (m->bytes.size() < static_cast<size_t>(m->pos + n)) m->bytes.resize(static_cast<size_t>(m->pos + n));
        std::memcpy(m->bytes.data() + m->pos, p, static_cast<size_t>(n));
        m->pos += n;
        return n;
      },
      [](void* u) { return static_cast<MemSink*>(u)->pos; }};
  MemSink sink;
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* sf = sf_open_virtual(&vio, SFM_WRITE, &info, &sink);
  if (!sf) return {};
  sf_writef_float(sf, pcm.data(), static_cast<sf_count_t>(pcm.size() / channels));
  sf_close(sf);
  return sink.bytes;
}

// Mono float PCM → WebM/Opus (48 kHz) in memory.
inline std::vector<uint8_t> write_webm_opus(const std::vector<float>& pcm48k) {
  std::vector<uint8_t> out;
  const AVCodec* codec = avcodec_find_encoder_by_name("libopus");
  const AVOutputFormat* ofmt = av_guess_format("webm", nullptr, nullptr);
  if (!codec || !ofmt) return out;
  AVFormatContext* fmt = nullptr;
  if (avformat_alloc_output_context2(&fmt, ofmt, nullptr, nullptr) < 0) return out;
  AVCodecContext* enc = avcodec_alloc_context3(codec);
  enc->sample_rate = 48000;
  enc->sample_fmt = AV_SAMPLE_FMT_FLT;
  av_channel_layout_default(&enc->ch_layout, 1);
  enc->bit_rate = 64000;
  enc->time_base = AVRational{1, 48000};
  if (fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVStream* st = avformat_new_stream(fmt, nullptr);
  AVIOContext* io = nullptr;
  uint8_t* buf = nullptr;
  if (avcodec_open2(enc, codec, nullptr) < 0 || avcodec_parameters_from_context(st->codecpar, enc) < 0 ||
      avio_open_dyn_buf(&io) < 0) {
    avcodec_free_context(&enc);
    avformat_free_context(fmt);
    return out;
  }
  st->time_base = enc->time_base;
  fmt->pb = io;
  if (avformat_write_header(fmt, nullptr) < 0) return out;
  AVFrame* frame = av_frame_alloc();
  AVPacket* pkt = av_packet_alloc();
  const int fs = enc->frame_size;
  auto flush = [&](AVFrame* f) {
    avcodec_send_frame(enc, f);
    while (avcodec_receive_packet(enc, pkt) == 0) {
      av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
      pkt->stream_index = st->index;
      av_interleaved_write_frame(fmt, pkt);
    }
  };
  for (size_t i = 0; i < pcm48k.size(); i += static_cast<size_t>(fs)) {
    frame->nb_samples = fs;
    frame->format = enc->sample_fmt;
    av_channel_layout_copy(&frame->ch_layout, &enc->ch_layout);
    frame->sample_rate = 48000;
    av_frame_get_buffer(frame, 0);
    auto* dst = reinterpret_cast<float*>(frame->data[0]);
    for (int k = 0; k < fs; ++k) dst[k] = i + k < pcm48k.size() ? pcm48k[i + k] : 0.0f;
    frame->pts = static_cast<int64_t>(i);
    flush(frame);
    av_frame_unref(frame);
  }
  flush(nullptr);
  av_write_trailer(fmt);
  const int n = avio_close_dyn_buf(io, &buf);
  out.assign(buf, buf + n);
  av_free(buf);
  av_packet_free(&pkt);
  av_frame_free(&frame);
  avcodec_free_context(&enc);
  avformat_free_context(fmt);
  return out;
}

// Fraction of the signal's energy at `hz` (Goertzel over the middle half, to skip codec edges).
inline double tone_energy_fraction(const std::vector<float>& x, int rate, double hz) {
  const size_t b = x.size() / 4, e = x.size() * 3 / 4;
  double s1 = 0, s2 = 0, total = 0;
  const double w = 2 * std::cos(2 * M_PI * hz / rate);
  for (size_t i = b; i < e; ++i) {
    const double s = x[i] + w * s1 - s2;
    s2 = s1;
    s1 = s;
    total += double{x[i]} * x[i];
  }
  const double power = s1 * s1 + s2 * s2 - w * s1 * s2;  // |X(hz)|²
  return total > 0 ? 2 * power / (static_cast<double>(e - b) * total) : 0;
}

}  // namespace gs::test
