// Writing a file without ever destroying what was at its path.
//
// `save` used to delete whatever stood at the target before moving its temporary file there, so
// `save x "."` removed the current directory and `save x "/dev/null"` replaced a device node. This
// writer only ever replaces a regular file, and only by an atomic rename(2) of a complete temporary
// file made beside it: anything else at the path (a directory, a symbolic link, a device, a FIFO, a
// socket) is refused before a byte is written, and a failure at any step leaves the old file as it was.
import Foundation
import Glibc

public enum SafeFileWriter {
    /// Why a write was refused or failed; the description names the path and the way out.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// Something other than a regular file is at the path (`kind`: "a directory", "a FIFO", …).
        case notARegularFile(path: String, kind: String)
        /// The directory the file would go into does not exist or is not a directory.
        case noSuchDirectory(path: String, directory: String)
        /// A system call failed; `step` says which, `reason` is strerror's text.
        case io(path: String, step: String, reason: String)

        public var description: String {
            switch self {
            case .notARegularFile(let path, let kind) where kind.hasPrefix("a symbolic link"):
                return "\(path) is \(kind); save does not write through links and leaves it untouched — save to the link's target itself, or to a new file name"
            case .notARegularFile(let path, let kind):
                return "\(path) is \(kind); save writes regular files only and leaves it untouched — give a file name, e.g. \"out.npy\""
            case .noSuchDirectory(let path, let directory):
                return "cannot write \(path): the directory \(directory) does not exist"
            case .io(let path, let step, let reason):
                return "cannot write \(path): \(step) failed (\(reason)); nothing at that path was changed"
            }
        }
    }

    /// What kind of thing is at `path` without following a final symbolic link: nil when nothing is,
    /// "a regular file", or the phrase used in errors ("a directory", "a symbolic link to X", …).
    public static func kind(at path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFLNK:
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
            return "a symbolic link (to \(target))"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }

    /// Writes `bytes` to `path`: into a new temporary file in the same directory, flushed to disk,
    /// then renamed over the target. The target must be absent or a regular file; a replaced file
    /// keeps its permission bits, a new one gets 0666 less the umask.
    public static func write(_ bytes: [UInt8], toPath path: String) throws(Failure) {
        do {
            try write(toPath: path) { append in try bytes.withUnsafeBytes { try append($0) } }
        } catch let failure as Failure { throw failure } catch { throw .io(path: path, step: "write", reason: "\(error)") }
    }

    /// `write(_:toPath:)` for a file too large to build in memory: `produce` hands its bytes to
    /// `append` piece by piece. An error from `produce` leaves the target untouched, like any failure.
    public static func write(toPath path: String,
                             _ produce: (_ append: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws -> Void) throws {
        if path.isEmpty || path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..") || path == "." || path == ".." {
            throw Failure.notARegularFile(path: path, kind: "a directory")
        }
        let existingMode = try regularFileMode(at: path)
        // Split by hand: NSString.deletingLastPathComponent traps on a path with no slash in this
        // Foundation (swift-corelibs, Swift 6.3).
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var dirStat = stat()
        guard stat(parent, &dirStat) == 0, dirStat.st_mode & S_IFMT == S_IFDIR else {
            throw Failure.noSuchDirectory(path: path, directory: parent)
        }

        var template = Array((parent + "/." + name + ".tlsh-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Failure.io(path: path, step: "creating a temporary file in \(parent)", reason: errorText()) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer { if !renamed { unlink(temporary) } }

        do {
            try produce { (bytes: UnsafeRawBufferPointer) throws(Failure) in try writeAll(bytes, to: fd, path: path) }
            guard fchmod(fd, existingMode ?? (0o666 & ~currentUmask())) == 0 else { throw Failure.io(path: path, step: "fchmod", reason: errorText()) }
            guard fsync(fd) == 0 else { throw Failure.io(path: path, step: "fsync", reason: errorText()) }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw Failure.io(path: path, step: "close", reason: errorText()) }
        // Check again just before the rename: something else may have appeared at the path meanwhile.
        _ = try regularFileMode(at: path)
        guard rename(temporary, path) == 0 else { throw Failure.io(path: path, step: "rename", reason: errorText()) }
        renamed = true
        // Make the rename itself durable; a failure here loses nothing, so it is not an error.
        let dirFD = open(parent, O_RDONLY | O_DIRECTORY)
        if dirFD >= 0 { fsync(dirFD); close(dirFD) }
    }

    /// The permission bits of the regular file at `path`, nil when nothing is there; throws for
    /// anything that is not a regular file.
    private static func regularFileMode(at path: String) throws(Failure) -> mode_t? {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw .io(path: path, step: "lstat", reason: errorText())
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw .notARegularFile(path: path, kind: kind(at: path) ?? "not a regular file")
        }
        return st.st_mode & 0o7777
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, step: "write", reason: errorText())
            }
            offset += n
        }
    }

    private static func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
