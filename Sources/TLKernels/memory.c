// Huge pages for the weight matrices. The small-row GEMM walks a weight matrix down its rows, a
// full row stride (9–12 KB) apart, so with 4 KB pages nearly every step touches a new page and
// the TLB, not memory, sets the pace. Collapsing the weights into 2 MB pages removes that.
#include <stdint.h>
#include <sys/mman.h>
#include "TLKernels.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

int tlk_advise_huge_pages(const void *p, size_t bytes, int collapse) {
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1), end = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (end <= start) return 0;
    if (madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) return -1;
    if (!collapse) return 0;
    // Linux 6.1+: collapse the already-populated range now rather than whenever khugepaged gets to it.
    return madvise((void *)start, end - start, MADV_COLLAPSE);
}
