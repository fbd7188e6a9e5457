#include "runtime/vision/exif_orientation.h"

#include <cstring>

namespace gs::runtime::vision {
namespace {

struct Tiff {
  std::span<const uint8_t> b;
  bool little = true;
  bool u16(size_t off, uint32_t* v) const {
    if (off + 2 > b.size()) return false;
    *v = little ? (b[off] | b[off + 1] << 8) : (b[off] << 8 | b[off + 1]);
    return true;
  }
  bool u32(size_t off, uint32_t* v) const {
    if (off + 4 > b.size()) return false;
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) r |= static_cast<uint32_t>(b[off + (little ? i : 3 - i)]) << (8 * i);
    *v = r;
    return true;
  }
};

// Orientation from a TIFF block (the APP1 payload after "Exif\0\0").
int orientation_from_tiff(std::span<const uint8_t> tiff) {
  if (tiff.size() < 8) return 1;
  Tiff t{tiff};
  if (tiff[0] == 'I' && tiff[1] == 'I') t.little = true;
  else if (tiff[0] == 'M' && tiff[1] == 'M') t.little = false;
  else return 1;
  uint32_t magic = 0, ifd = 0, count = 0;
  if (!t.u16(2, &magic) || magic != 42 || !t.u32(4, &ifd) || !t.u16(ifd, &count)) return 1;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = static_cast<size_t>(ifd) + 2 + 12 * static_cast<size_t>(i);
    uint32_t tag = 0, type = 0, value = 0;
    if (!t.u16(e, &tag) || !t.u16(e + 2, &type)) return 1;
    if (tag != 0x0112) continue;
    if (type != 3 || !t.u16(e + 8, &value)) return 1;  // SHORT, stored in the value field
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

}  // namespace

int jpeg_exif_orientation(std::span<const uint8_t> j) {
  if (j.size() < 4 || j[0] != 0xFF || j[1] != 0xD8) return 1;
  size_t p = 2;
  while (p + 4 <= j.size()) {
    if (j[p] != 0xFF) return 1;
    const uint8_t marker = j[p + 1];
    if (marker == 0xFF) { ++p; continue; }                     // fill byte
    if (marker == 0xDA || marker == 0xD9) return 1;            // image data starts: no EXIF before it
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { p += 2; continue; }  // no length
    const size_t len = static_cast<size_t>(j[p + 2]) << 8 | j[p + 3];
    if (len < 2 || p + 2 + len > j.size()) return 1;
    const auto payload = j.subspan(p + 4, len - 2);
    if (marker == 0xE1 && payload.size() >= 6 && std::memcmp(payload.data(), "Exif\0\0", 6) == 0)
      return orientation_from_tiff(payload.subspan(6));
    p += 2 + len;
  }
  return 1;
}

// Output pixel (ox, oy) reads source (sx, sy); orientations 5-8 transpose the axes.
RgbImage apply_exif_orientation(const RgbImage& in, int o) {
  if (o < 2 || o > 8) return in;
  const bool swap = o >= 5;
  RgbImage out;
  out.width = swap ? in.height : in.width;
  out.height = swap ? in.width : in.height;
  out.pixels.resize(in.pixels.size());
  const int W = in.width, H = in.height;
  for (int oy = 0; oy < out.height; ++oy) {
    for (int ox = 0; ox < out.width; ++ox) {
      int sx = ox, sy = oy;
      switch (o) {
        case 2: sx = W - 1 - ox; break;
        case 3: sx = W - 1 - ox, sy = H - 1 - oy; break;
        case 4: sy = H - 1 - oy; break;
        case 5: sx = oy, sy = ox; break;
        case 6: sx = oy, sy = H - 1 - ox; break;
        case 7: sx = W - 1 - oy, sy = H - 1 - ox; break;
        case 8: sx = W - 1 - oy, sy = ox; break;
      }
      const uint8_t* s = &in.pixels[(static_cast<size_t>(sy) * W + sx) * 3];
      uint8_t* d = &out.pixels[(static_cast<size_t>(oy) * out.width + ox) * 3];
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    }
  }
  return out;
}

}  // namespace gs::runtime::vision
