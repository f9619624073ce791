// Memory policy: huge pages for the weight matrices, and the allocator's treatment of freed
// activations (see Sources/TLTensor/ProcessMemory.swift).
#include <stdint.h>
#include <sys/mman.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "TLKernels.h"

// Products read a weight matrix a full row stride (9–12 KB) apart per step, so with 4 KB pages
// nearly every step touches a new page; 2 MB pages spare the TLB, and advised before the first
// touch they also mean one page fault per 2 MB at load.
int tlk_advise_huge_pages(const void *p, size_t bytes) {
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1), end = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_HUGEPAGE);
}

int tlk_retain_freed_memory(void) {
#if defined(__GLIBC__)
    // M_MMAP_MAX = 0: no chunk gets a mapping of its own (those are unmapped on free). Setting
    // M_TRIM_THRESHOLD also turns off glibc's dynamic threshold adjustment.
    return mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, INT32_MAX) == 1 ? 0 : -1;
#else
    return -1;
#endif
}

void tlk_release_freed_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
