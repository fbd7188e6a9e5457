// The machine's read bandwidth as the weights see it: the same threads (the compute arena)
// stream a buffer far larger than the caches, the way decode streams its weights. Decode's
// roofline is this figure divided by the bytes a token reads.
#pragma once
#include <cstddef>

#include "runtime/core/threading.h"

namespace gs::cli {

struct BandwidthProbe {
  double best_gbs = 0;    // fastest pass: the sustained peak the roofline is measured against
  double median_gbs = 0;
};

// `passes` timed reads of a fresh `bytes`-sized buffer split evenly across ctx's threads, after
// one untimed pass that faults the pages in.
BandwidthProbe probe_read_bandwidth(const runtime::ComputeContext& ctx, size_t bytes, int passes);

}  // namespace gs::cli
