import Foundation

/// A Jupyter MIME bundle: `data` maps MIME types to values (strings; base64 for binary types; objects for
/// JSON types), `metadata` carries per-type extras such as an image's width and height in pixels.
public struct MimeBundle: Sendable, Equatable {
    public var data: [String: JSONValue]
    public var metadata: [String: JSONValue]

    public init(data: [String: JSONValue], metadata: [String: JSONValue] = [:]) {
        self.data = data; self.metadata = metadata
    }

    /// Plain text only.
    public static func text(_ text: String) -> MimeBundle { MimeBundle(data: ["text/plain": .string(text)]) }

    /// A PNG image (the encoded file bytes) of `width` x `height` pixels, with `altText` as text/plain for
    /// consoles that cannot show images.
    public static func png(_ bytes: [UInt8], width: Int, height: Int, altText: String) -> MimeBundle {
        MimeBundle(data: ["image/png": .string(Data(bytes).base64EncodedString()), "text/plain": .string(altText)],
                   metadata: ["image/png": ["width": .int(width), "height": .int(height)]])
    }

    /// An SVG document, with `altText` as text/plain.
    public static func svg(_ svg: String, altText: String) -> MimeBundle {
        MimeBundle(data: ["image/svg+xml": .string(svg), "text/plain": .string(altText)])
    }

    /// An HTML fragment, with `altText` as text/plain.
    public static func html(_ html: String, altText: String) -> MimeBundle {
        MimeBundle(data: ["text/html": .string(html), "text/plain": .string(altText)])
    }

    /// Markdown, with `altText` as text/plain.
    public static func markdown(_ markdown: String, altText: String) -> MimeBundle {
        MimeBundle(data: ["text/markdown": .string(markdown), "text/plain": .string(altText)])
    }

    /// This bundle plus the MIME types of `other` (other's entries win on conflicts), so e.g. a table can be
    /// `.html(...).merging(.markdown(...))`.
    public func merging(_ other: MimeBundle) -> MimeBundle {
        MimeBundle(data: data.merging(other.data) { _, new in new },
                   metadata: metadata.merging(other.metadata) { _, new in new })
    }

    var dataJSON: JSONValue { .object(data) }
    var metadataJSON: JSONValue { .object(metadata) }
}
