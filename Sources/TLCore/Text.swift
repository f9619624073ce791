// Small text helpers shared by every module, kept in one place: hex digests and byte names,
// zero-padding.
import Foundation

extension String {
    /// Pads with leading zeros (or `pad`) to at least `width` characters.
    public func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

extension Sequence where Element == UInt8 {
    /// Two hex digits per byte, lower case ("0a1b…"): digests, object ids.
    public var hexString: String { map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}

extension UInt8 {
    /// Two upper-case hex digits ("0A"), as byte tokens spell them (`<0x0A>`).
    public var upperHex: String { String(self, radix: 16, uppercase: true).leftPadded(to: 2) }
}
