// A clean cache the user stored in 16 bits (`clean = run ... store=f16`) holds rounded activations;
// patching and attribution patching must still patch in exact ones, so they run their own Float32
// clean cache instead. A disk-stored cache is exact Float32 and is used as given.
import Foundation
import XCTest
@testable import TLInterp
import TLModel
import TLTensor
import TLTestSupport

final class CacheStorageAnalysisTests: XCTestCase {
    func testPatchersKeepExactCleanActivationsWhateverTheCachesStorage() throws {
        let g = try Golden("llama-a", root: Golden.familiesRoot)
        let info = g.meta["interp"] as! [String: Any]
        let model = try HookedTransformer.load(directory: g.hfDirectory)
        let clean = info["clean"] as! [Int], corrupt = info["corrupted"] as! [Int]
        let metric = PatchMetric.logitDiff(answer: info["t1"] as! Int, wrong: info["t2"] as! Int)
        let exact = try Patcher(model: model, clean: clean, corrupt: corrupt, metric: metric)
            .sweep(activation: "resid_pre", axes: [.layer, .pos]).values
        for storage in CacheStorage.allCases {
            let (logits, cache) = try model.runWithCache(tokens: [clean], storage: storage)
            let patcher = try Patcher(model: model, clean: clean, corrupt: corrupt, metric: metric, cleanCache: cache)
            XCTAssertEqual(patcher.cleanCache.storage == .f16 || patcher.cleanCache.storage == .bf16, false, "\(storage)")
            XCTAssertEqual(try patcher.sweep(activation: "resid_pre", axes: [.layer, .pos]).values, exact, "\(storage)")
            let atp = try AttributionPatcher(model: model, clean: clean, corrupt: corrupt, metric: metric, cleanCache: cache, cleanLogits: logits)
            XCTAssertEqual(atp.cleanCache.storage.halfFormat, nil, "\(storage)")
        }
    }

    /// The bench's peak reading (cache1024peak_*): /proc pads sizes to 8 columns, so a peak of 10 GB
    /// or more has no space after the tab (it read as nil, and the growth as 0, on GPT-2 XL).
    func testProcStatusSizesParseAtEveryWidth() {
        let text = "Name:\ttlsh\nVmHWM:\t15503424 kB\nVmRSS:\t 6430488 kB\nVmSwap:\t       0 kB\n"
        XCTAssertEqual(EngineBenchmark.statusBytes(text, key: "VmHWM"), 15503424 * 1024)
        XCTAssertEqual(EngineBenchmark.statusBytes(text, key: "VmRSS"), 6430488 * 1024)
        XCTAssertEqual(EngineBenchmark.statusBytes(text, key: "VmSwap"), 0)
        XCTAssertNil(EngineBenchmark.statusBytes(text, key: "VmPeak"))
    }
}
