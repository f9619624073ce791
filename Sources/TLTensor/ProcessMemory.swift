// The process's allocator policy for activations. A 1024-token run_with_cache allocates about
// 1.2 GB of tensors and a forward about 0.5 GB, most of them larger than glibc's mmap threshold
// (at most 32 MB), so by default every run maps fresh pages, takes a page fault per 4 KB and has the
// kernel zero them, and unmaps them again when the tensors are freed: 0.6–1.2 s of a 2–3 s
// run_with_cache on 2 cores. Serving every allocation from the heap and never trimming it lets the
// next run reuse the pages the last one freed, already mapped. The cost is that the resident size
// stays at its high-water mark; `releaseFreedMemory` hands free pages back (the REPL and kernel
// call it when a model is replaced).
import Foundation
internal import TLKernels

public enum ProcessMemory {
    /// Whether `retainFreedMemory` changed the allocator (false where it is not glibc, or with
    /// `TLSH_RETAIN_MEMORY=0`).
    public private(set) nonisolated(unsafe) static var retaining = false

    /// Serve large allocations from the heap (no per-allocation mmap) and keep freed memory mapped
    /// for reuse. Call once, early, from an executable (which skips it for `TLSH_RETAIN_MEMORY=0`,
    /// leaving glibc's defaults). Idempotent.
    public static func retainFreedMemory() {
        retaining = tlk_retain_freed_memory() == 0
    }

    /// Returns the heap's free pages to the system (their contents are discarded; the addresses stay
    /// valid and fault in zeroed on the next use).
    public static func releaseFreedMemory() {
        tlk_release_freed_memory()
    }
}
