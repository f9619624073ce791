// SafeFileWriter never destroys what is at its path: these run as root in CI too, where permission
// bits do not protect anything, so each refusal must come from the writer's own checks.
import Foundation
import Glibc
import XCTest
@testable import TLCore

final class SafeFileWriterTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "safe-writer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func assertRefused(_ path: String, mentioning word: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeFileWriter.write([1, 2, 3], toPath: path), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(word), "\(error)", file: file, line: line)
        }
        // No temporary file is left behind in the directory.
        let parent = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: parent.isEmpty ? "/" : parent))?.filter { $0.contains(".tlsh-") } ?? []
        XCTAssertEqual(leftovers, [], file: file, line: line)
    }

    func testARelativeNameIsWrittenInTheCurrentDirectory() throws {
        let cwd = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        FileManager.default.changeCurrentDirectoryPath(dir)
        try SafeFileWriter.write([7], toPath: "plain.npy")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/plain.npy")), Data([7]))
    }

    func testWritesANewFileAndReplacesARegularOneKeepingItsMode() throws {
        let path = dir + "/out.bin"
        try SafeFileWriter.write([1, 2, 3], toPath: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([1, 2, 3]))
        chmod(path, 0o640)
        try SafeFileWriter.write([9], toPath: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data([9]))
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o640)
    }

    func testAnExistingDirectoryIsRefusedAndKeepsItsContents() throws {
        let target = dir + "/keep"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: target + "/file.txt"))
        assertRefused(target, mentioning: "a directory")
        assertRefused(target + "/", mentioning: "a directory")
        XCTAssertEqual(try String(contentsOfFile: target + "/file.txt", encoding: .utf8), "precious")
    }

    func testDotAndDotDotAreRefused() throws {
        let cwd = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        let inner = dir + "/inner"
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: inner + "/f"))
        FileManager.default.changeCurrentDirectoryPath(inner)
        assertRefused(".", mentioning: "a directory")
        assertRefused("..", mentioning: "a directory")
        XCTAssertTrue(FileManager.default.fileExists(atPath: inner + "/f"))
    }

    func testASymbolicLinkIsRefusedAndNeitherItNorItsTargetChanges() throws {
        let target = dir + "/target.txt", link = dir + "/link.txt"
        try Data("target".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        assertRefused(link, mentioning: "symbolic link")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "target")
        // A dangling link is refused too (writing would create a file somewhere else).
        let dangling = dir + "/dangling"
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: dir + "/nowhere")
        assertRefused(dangling, mentioning: "symbolic link")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/nowhere"))
    }

    func testAFIFOIsRefusedWithoutOpeningIt() throws {
        let fifo = dir + "/pipe"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        assertRefused(fifo, mentioning: "FIFO")  // opening it for writing would block forever
        var st = stat()
        XCTAssertEqual(lstat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO)
    }

    func testADeviceIsRefusedAndStaysADevice() throws {
        assertRefused("/dev/null", mentioning: "character device")
        var st = stat()
        XCTAssertEqual(lstat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
    }

    func testASocketIsRefused() throws {
        let path = dir + "/sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try XCTSkipIf(bound != 0, "cannot bind a Unix socket here")
        assertRefused(path, mentioning: "socket")
    }

    func testAMissingDirectoryIsAnErrorThatCreatesNothing() {
        assertRefused(dir + "/no/such/dir/out.npy", mentioning: "does not exist")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/no"))
    }
}
