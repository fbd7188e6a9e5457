#include "runtime/core/weight_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace gs::runtime {

WeightBuffer alloc_weight_memory(size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t size = std::max<size_t>(page, (bytes + page - 1) / page * page);
  void* p = std::aligned_alloc(page, size);
  if (!p) throw std::bad_alloc();
  // Only whole 2 MiB-aligned ranges inside the buffer can become huge pages; smaller buffers
  // gain nothing. Failure (THP disabled) just leaves 4 KiB pages.
  if (size >= (size_t{2} << 20)) ::madvise(p, size, MADV_HUGEPAGE);
  return WeightBuffer(static_cast<uint8_t*>(p));
}

}  // namespace gs::runtime
