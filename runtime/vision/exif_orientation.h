// EXIF orientation of JPEG files (tag 0x0112 in IFD0 of the APP1 "Exif" segment) and the pixel
// transform that undoes it, so images shot sideways reach the model upright (PIL exif_transpose).
#pragma once
#include <cstdint>
#include <span>

#include "runtime/vision/image_decode.h"

namespace gs::runtime::vision {

// 1..8 as stored; 1 (identity) when absent, malformed or out of range. Reads only within `jpeg`.
int jpeg_exif_orientation(std::span<const uint8_t> jpeg);

// Returns the image transformed so that it displays upright (orientation 5..8 swap width/height).
RgbImage apply_exif_orientation(const RgbImage& img, int orientation);

}  // namespace gs::runtime::vision
