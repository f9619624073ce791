// The engine context built from the environment at the front door: each variable reaches its field,
// nothing else changes, and a value the CPU cannot honour keeps the default. Runs on every CPU (the
// AMX tests beside it skip where there is none).
import XCTest
@testable import TLTensor

final class EngineContextTests: XCTestCase {
    func testEnvironmentIsReadIntoTheContextOnlyWhereAsked() {
        let parsed = EngineContext(environment: ["TLSH_SMALL_GEMM": "0", "TLSH_PACKED_ROWS": "96", "TLSH_HUGE_PAGES": "0",
                                                 "TLSH_AMX": "0", "TLSH_MEMORY_LIMIT_BYTES": "12345", "TLSH_MATMUL": "medium"])
        XCTAssertEqual(parsed.kernels.smallGEMMMaxRows, 0)
        XCTAssertEqual(parsed.kernels.packedMaxRows, 96)
        XCTAssertFalse(parsed.kernels.hugePages)
        XCTAssertFalse(parsed.kernels.amx)
        XCTAssertEqual(parsed.memoryLimitBytes, 12345)
        XCTAssertEqual(parsed.matmul, .highest, "medium needs AMX, which TLSH_AMX=0 turned off")
        XCTAssertEqual(EngineContext(environment: [:]), EngineContext(), "no variables: the defaults")
        parsed.run { XCTAssertEqual(PackedMatrix.maxRows, 96) }
    }
}
