// ProcessMemory: with freed memory retained, a second run's large tensors reuse the first run's
// pages instead of faulting in fresh ones (counted as minor page faults).
import Foundation
import XCTest
import TLTensor

final class ProcessMemoryTests: XCTestCase {
    func minorFaults() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt
    }

    /// Page faults taken while allocating, filling and freeing `count` floats.
    func faultsForOneActivation(count: Int) -> Int {
        let before = minorFaults()
        var t = Tensor(uninitialized: [count])
        t.data.withUnsafeMutableBufferPointer { b in
            for i in stride(from: 0, to: count, by: 1024) { b[i] = 1 }  // touch every 4 KB page
        }
        XCTAssertEqual(t.data[0], 1)
        return minorFaults() - before
    }

    func testFreedActivationsAreReusedWithoutPageFaults() throws {
        ProcessMemory.retainFreedMemory()
        try XCTSkipUnless(ProcessMemory.retaining, "the allocator is not glibc's")
        let count = 48 << 20 / 4  // 48 MB: above glibc's largest mmap threshold (32 MB)
        _ = faultsForOneActivation(count: count)  // the first run maps the pages
        let again = faultsForOneActivation(count: count)
        // 12288 pages would fault if the block were unmapped and mapped again.
        XCTAssertLessThan(again, 500, "a freed 48 MB tensor should come back already mapped")
        ProcessMemory.releaseFreedMemory()
    }
}
