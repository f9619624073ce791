// Weight matrices in 2 MB pages (see Sources/TLKernels/memory.c for why). Best effort: where the
// system has transparent huge pages off, or the kernel is older than 6.1, nothing changes.
import Foundation
internal import TLKernels

public enum HugePages {
    /// `TLSH_HUGE_PAGES=0` turns the advice off (for comparisons).
    static let enabled = ProcessInfo.processInfo.environment["TLSH_HUGE_PAGES"] != "0"

    /// Asks for huge pages under the array's storage, collapsing pages already there; returns
    /// whether the kernel agreed. Cheap for arrays made by `array(count:initializer:)`.
    @discardableResult
    public static func advise(_ array: [Float]) -> Bool {
        guard enabled, array.count * 4 >= 2 << 20 else { return false }
        return array.withUnsafeBytes { tlk_advise_huge_pages($0.baseAddress!, $0.count, 1) == 0 }
    }

    /// A new array of `count` floats that `initializer` must fill completely; large ones are
    /// advised into huge pages before their first touch (no zero-fill pass, no later collapse).
    public static func array(count: Int, _ initializer: (UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        guard count > 0 else { return [] }  // callers may force-unwrap the buffer's base address
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if enabled, count * 4 >= 2 << 20 { _ = tlk_advise_huge_pages(buffer.baseAddress!, count * 4, 0) }
            initializer(buffer)
            initialized = count
        }
    }
}
