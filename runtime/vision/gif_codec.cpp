// GIF through giflib: the first image of the file, drawn at its offset on a transparent logical
// screen (transparent pixels and uncovered areas end up white). Only the first frame is decoded,
// so a many-frame file costs no more than its first picture.
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "runtime/vision/codecs.h"

namespace gs::runtime::vision {
namespace {

struct Input {
  const uint8_t* data;
  size_t size, pos;
};

int read_fn(GifFileType* gif, GifByteType* out, int n) {
  auto* in = static_cast<Input*>(gif->UserData);
  const size_t k = std::min(static_cast<size_t>(n < 0 ? 0 : n), in->size - in->pos);
  std::memcpy(out, in->data + in->pos, k);
  in->pos += k;
  return static_cast<int>(k);
}

struct Closer {
  void operator()(GifFileType* g) const {
    int err = 0;
    DGifCloseFile(g, &err);
  }
};
using GifPtr = std::unique_ptr<GifFileType, Closer>;

Error gif_error(const std::string& what, int code) {
  const char* s = GifErrorString(code);
  return image_error("cannot decode GIF: " + what + (s ? std::string(" (") + s + ")" : ""));
}

// Draws the current image descriptor's pixels into rgba [sh, sw, 4].
Status draw_frame(GifFileType* g, int transparent, std::vector<uint8_t>& rgba) {
  const GifImageDesc& d = g->Image;
  const ColorMapObject* cmap = d.ColorMap ? d.ColorMap : g->SColorMap;
  if (!cmap || d.Width <= 0 || d.Height <= 0 || d.Width > 65535 || d.Height > 65535)
    return gif_error("frame without colour map or with a bad size", g->Error);
  std::vector<GifPixelType> line(static_cast<size_t>(d.Width));
  static constexpr int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
  const int passes = d.Interlace ? 4 : 1;
  for (int pass = 0; pass < passes; ++pass) {
    for (int y = d.Interlace ? kStart[pass] : 0; y < d.Height; y += d.Interlace ? kStep[pass] : 1) {
      if (DGifGetLine(g, line.data(), d.Width) != GIF_OK) return gif_error("truncated image data", g->Error);
      const int sy = d.Top + y;
      if (sy < 0 || sy >= g->SHeight) continue;
      for (int x = 0; x < d.Width; ++x) {
        const int sx = d.Left + x, idx = line[x];
        if (sx < 0 || sx >= g->SWidth || idx == transparent || idx >= cmap->ColorCount) continue;
        uint8_t* p = &rgba[(static_cast<size_t>(sy) * g->SWidth + sx) * 4];
        p[0] = cmap->Colors[idx].Red, p[1] = cmap->Colors[idx].Green, p[2] = cmap->Colors[idx].Blue, p[3] = 255;
      }
    }
  }
  return ok_status();
}

}  // namespace

Expected<RgbImage> decode_gif(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  Input in{bytes.data(), bytes.size(), 0};
  int err = 0;
  GifPtr g(DGifOpen(&in, read_fn, &err));
  if (!g) return gif_error("bad header", err);
  if (auto st = check_image_size(g->SWidth, g->SHeight, limits); !st) return st.error();
  std::vector<uint8_t> rgba(static_cast<size_t>(g->SWidth) * g->SHeight * 4, 0);
  int transparent = NO_TRANSPARENT_COLOR;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(g.get(), &type) != GIF_OK) return gif_error("corrupt record", g->Error);
    if (type == TERMINATE_RECORD_TYPE) return gif_error("no image in file", D_GIF_ERR_NO_IMAG_DSCR);
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(g.get(), &code, &ext) != GIF_OK) return gif_error("corrupt extension", g->Error);
      if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4) {
        GraphicsControlBlock gcb;
        if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK) transparent = gcb.TransparentColor;
      }
      while (ext) {
        if (DGifGetExtensionNext(g.get(), &ext) != GIF_OK) return gif_error("corrupt extension", g->Error);
      }
    } else if (type == IMAGE_DESC_RECORD_TYPE) {
      if (DGifGetImageDesc(g.get()) != GIF_OK) return gif_error("corrupt image descriptor", g->Error);
      if (auto st = draw_frame(g.get(), transparent, rgba); !st) return st.error();
      return rgba_on_white(rgba.data(), g->SWidth, g->SHeight);
    }
  }
}

}  // namespace gs::runtime::vision
