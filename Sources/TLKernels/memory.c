// Huge pages for the weight matrices. Products read a weight matrix a full row stride (9–12 KB)
// apart per step, so with 4 KB pages nearly every step touches a new page; 2 MB pages spare the
// TLB, and advised before the first touch they also mean one page fault per 2 MB at load.
#include <stdint.h>
#include <sys/mman.h>
#include "TLKernels.h"

int tlk_advise_huge_pages(const void *p, size_t bytes) {
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1), end = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (end <= start) return 0;
    return madvise((void *)start, end - start, MADV_HUGEPAGE);
}
