// Test-only encoders for generated images: minimal PNG (stored deflate: any bit depth / colour type,
// palette + tRNS), minimal GIF (uncompressed-style LZW, several frames), and an EXIF APP1 inserter
// for JPEG files. stb_image_write (baseline JPEG, PNG, BMP) and libwebp cover the rest.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace gs::test::vision {

using Bytes = std::vector<uint8_t>;

inline uint32_t crc32_of(const uint8_t* p, size_t n, uint32_t crc = 0xFFFFFFFFu) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc;
}

inline void put_be32(Bytes& b, uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline void png_chunk(Bytes& out, const char* type, const Bytes& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  Bytes td(type, type + 4);
  td.insert(td.end(), data.begin(), data.end());
  out.insert(out.end(), td.begin(), td.end());
  put_be32(out, crc32_of(td.data(), td.size()) ^ 0xFFFFFFFFu);
}

// `rows`: h scanlines of raw bytes (no filter byte); width/height as declared in IHDR.
inline Bytes make_png(uint32_t w, uint32_t h, int bit_depth, int color_type, const std::vector<Bytes>& rows,
                      const Bytes& plte = {}, const Bytes& trns = {}) {
  Bytes raw;
  for (const auto& r : rows) {
    raw.push_back(0);
    raw.insert(raw.end(), r.begin(), r.end());
  }
  Bytes z = {0x78, 0x01};
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    z.push_back(pos + n == raw.size() ? 1 : 0);
    z.push_back(n & 0xFF), z.push_back(n >> 8), z.push_back(~n & 0xFF), z.push_back((~n >> 8) & 0xFF);
    z.insert(z.end(), raw.begin() + pos, raw.begin() + pos + n);
    pos += n;
  } while (pos < raw.size());
  uint32_t a = 1, b = 0;
  for (uint8_t c : raw) a = (a + c) % 65521, b = (b + a) % 65521;
  put_be32(z, b << 16 | a);
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  put_be32(ihdr, w), put_be32(ihdr, h);
  ihdr.insert(ihdr.end(), {static_cast<uint8_t>(bit_depth), static_cast<uint8_t>(color_type), 0, 0, 0});
  png_chunk(out, "IHDR", ihdr);
  if (!plte.empty()) png_chunk(out, "PLTE", plte);
  if (!trns.empty()) png_chunk(out, "tRNS", trns);
  png_chunk(out, "IDAT", z);
  png_chunk(out, "IEND", {});
  return out;
}

// GIF89a with a 256-entry global palette; every frame is w x h palette indices. Literal 9-bit codes
// with a clear code every 200 pixels keep the LZW code size fixed.
inline Bytes make_gif(int w, int h, const Bytes& palette_rgb768, const std::vector<Bytes>& frames) {
  Bytes out = {'G', 'I', 'F', '8', '9', 'a'};
  auto le16 = [&](int v) { out.push_back(v & 0xFF), out.push_back((v >> 8) & 0xFF); };
  le16(w), le16(h);
  out.insert(out.end(), {0xF7, 0, 0});
  out.insert(out.end(), palette_rgb768.begin(), palette_rgb768.end());
  for (const Bytes& f : frames) {
    out.push_back(0x2C);
    le16(0), le16(0), le16(w), le16(h);
    out.push_back(0);
    out.push_back(8);  // LZW minimum code size
    Bytes bits;
    uint32_t acc = 0;
    int nacc = 0;
    auto emit = [&](uint32_t code) {
      acc |= code << nacc;
      nacc += 9;
      while (nacc >= 8) bits.push_back(acc & 0xFF), acc >>= 8, nacc -= 8;
    };
    for (size_t i = 0; i < f.size(); ++i) {
      if (i % 200 == 0) emit(256);
      emit(f[i]);
    }
    emit(257);
    if (nacc > 0) bits.push_back(acc & 0xFF);
    for (size_t p = 0; p < bits.size(); p += 255) {
      const size_t n = std::min<size_t>(255, bits.size() - p);
      out.push_back(static_cast<uint8_t>(n));
      out.insert(out.end(), bits.begin() + p, bits.begin() + p + n);
    }
    out.push_back(0);
  }
  out.push_back(0x3B);
  return out;
}

// Inserts an APP1 Exif segment (big-endian TIFF, IFD0 with only the orientation tag) after SOI.
inline Bytes with_exif_orientation(const Bytes& jpeg, int orientation) {
  Bytes tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1,
                0, static_cast<uint8_t>(orientation), 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes payload = {'E', 'x', 'i', 'f', 0, 0};
  payload.insert(payload.end(), tiff.begin(), tiff.end());
  const size_t len = payload.size() + 2;
  Bytes out(jpeg.begin(), jpeg.begin() + 2);
  out.insert(out.end(), {0xFF, 0xE1, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len & 0xFF)});
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

}  // namespace gs::test::vision
