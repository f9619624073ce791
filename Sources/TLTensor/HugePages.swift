// Weight matrices in 2 MB pages (see Sources/TLKernels/memory.c for why). Best effort: where the
// system has transparent huge pages off, nothing changes.
import Foundation
internal import TLKernels

public enum HugePages {
    /// The engine context's `kernels.hugePages` (`TLSH_HUGE_PAGES=0` turns the advice off, for
    /// comparisons).
    static var enabled: Bool { EngineContext.current.kernels.hugePages }

    /// A new array of `count` floats that `initializer` must fill completely; large ones are
    /// advised into huge pages before their first touch (no zero-fill pass).
    public static func array(count: Int, _ initializer: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        guard count > 0 else { return [] }  // callers may force-unwrap the buffer's base address
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if enabled, count * 4 >= 2 << 20 { _ = tlk_advise_huge_pages(buffer.baseAddress!, count * 4) }
            initializer(buffer)
            initialized = count
        }
    }
}
