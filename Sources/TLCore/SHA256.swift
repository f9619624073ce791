// SHA-256 and HMAC-SHA256 on OpenSSL's libcrypto, whose SHA-256 uses the CPU's SHA extensions:
// re-verifying a multi-gigabyte download is bound by the disk, not the hash (docs/HUB.md has the
// measurement). The kernel signs its messages with the same HMAC.
internal import CCrypto

/// Incremental SHA-256. Feed bytes with `update`, read the 32-byte digest with `finalize`.
/// A value type: copying a hasher copies its state (libcrypto's SHA256_CTX is a plain struct).
public struct SHA256: Sendable {
    private var context = SHA256_CTX()

    public init() { SHA256_Init(&context) }

    /// One-shot digest of `bytes`.
    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var s = SHA256(); s.update(bytes); return s.finalize()
    }

    /// Lower-case hex digest, the form Hugging Face uses for LFS object ids.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        hash(bytes).hexString
    }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        SHA256_Update(&context, base, bytes.count)
    }

    /// The digest of everything fed so far; the hasher is spent afterwards.
    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        SHA256_Final(&digest, &context)
        return digest
    }
}

/// HMAC with SHA-256 (block size 64 bytes).
public enum HMACSHA256 {
    /// libcrypto's one-shot HMAC.
    public static func authenticate(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, &out, &length)
            }
        }
        return Array(out.prefix(Int(length)))
    }

    /// Constant-time equality (libcrypto's CRYPTO_memcmp), so signature checks leak no timing about
    /// where bytes differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return CRYPTO_memcmp(a, b, a.count) == 0
    }

    /// HMAC over several parts without concatenating them (the Jupyter wire protocol signs four frames):
    /// RFC 2104's construction over libcrypto's SHA-256 (tests check it against `authenticate`).
    public struct Incremental: Sendable {
        private var inner = SHA256()
        private let outerKey: [UInt8]
        public init(key: [UInt8]) {
            var k = key.count > 64 ? SHA256.hash(key) : key
            k += [UInt8](repeating: 0, count: 64 - k.count)
            outerKey = k.map { $0 ^ 0x5c }
            inner.update(k.map { $0 ^ 0x36 })
        }
        public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 { inner.update(bytes) }
        public mutating func finalize() -> [UInt8] {
            var outer = SHA256(); outer.update(outerKey); outer.update(inner.finalize()); return outer.finalize()
        }
    }
}
