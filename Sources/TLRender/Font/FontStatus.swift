// Which font files TLRender found, in words the app can show the user.
import Foundation

/// The fonts that text in pictures is rasterised with.
public struct FontStatus: Sendable, CustomStringConvertible {
    /// The main font file, nil when none could be loaded (pictures are then drawn without text).
    public let primary: String?
    /// Fonts tried, in order, for characters the main font lacks (e.g. Noto CJK).
    public let fallbacks: [String]
    /// Problems met on the way, e.g. a `TLSH_FONT` that is not a readable font.
    public let notes: [String]

    public var isAvailable: Bool { primary != nil }

    public var description: String {
        var lines: [String] = []
        if let primary {
            lines.append("text font: \(primary)" + (fallbacks.isEmpty ? "" : " (fallbacks: \(fallbacks.joined(separator: ", ")))"))
        } else {
            lines.append("no font found: pictures are drawn without text. Install one with `apt-get install fonts-dejavu-core`, or set TLSH_FONT=/path/to/font.ttf")
        }
        lines.append(contentsOf: notes)
        return lines.joined(separator: "\n")
    }
}

/// The font status of the shared font set, which every picture uses by default.
public var fontStatus: FontStatus { FontSet.shared.status }

/// Finds font files on disk: `TLSH_FONT` first, then DejaVu Sans from fonts-dejavu-core, then
/// any other sans font; fallbacks are fonts with wide coverage (CJK, Unicode-wide) if installed.
enum FontDiscovery {
    static let defaultDirectories = ["/usr/share/fonts", "/usr/local/share/fonts",
                                     NSHomeDirectory() + "/.local/share/fonts", NSHomeDirectory() + "/.fonts"]
    static let debianDejaVu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

    /// File names preferred as the main font, best first.
    static let primaryNames = ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf",
                               "FreeSans.ttf", "Arial.ttf"]
    /// Name fragments of fonts that cover what DejaVu lacks, best first.
    static let fallbackFragments = ["NotoSansCJK-Regular", "NotoSansCJKsc-Regular", "NotoSansCJK",
                                    "SourceHanSans", "DroidSansFallback", "wqy-microhei", "wqy-zenhei",
                                    "NotoSans-Regular", "DejaVuSans.ttf", "unifont", "Symbola"]

    /// Every .ttf/.otf/.ttc below `directories`, sorted for a deterministic choice.
    static func fontFiles(in directories: [String]) -> [String] {
        var found: [String] = []
        let fm = FileManager.default
        for dir in directories {
            guard let walker = fm.enumerator(atPath: dir) else { continue }
            while let relative = walker.nextObject() as? String {
                let lower = relative.lowercased()
                if lower.hasSuffix(".ttf") || lower.hasSuffix(".otf") || lower.hasSuffix(".ttc") {
                    found.append(dir + "/" + relative)
                }
            }
        }
        return found.sorted()
    }

    /// Ordered candidates: (main font candidates, fallback candidates, notes).
    static func candidates(environment: [String: String], directories: [String]) -> (primary: [String], fallbacks: [String]) {
        let files = fontFiles(in: directories)
        func name(_ path: String) -> String { (path as NSString).lastPathComponent }
        var primary: [String] = []
        if let override = environment["TLSH_FONT"], !override.isEmpty { primary.append(override) }
        if FileManager.default.fileExists(atPath: debianDejaVu) { primary.append(debianDejaVu) }
        for wanted in primaryNames { primary += files.filter { name($0) == wanted } }
        // Any other upright sans font before giving up on text altogether.
        primary += files.filter { !name($0).contains("Mono") && !name($0).contains("Oblique") && !name($0).contains("Italic") }
        primary += files
        var fallbacks: [String] = []
        for fragment in fallbackFragments {
            fallbacks += files.filter { name($0).contains(fragment) && !name($0).contains("Bold") }
        }
        return (unique(primary), unique(fallbacks))
    }

    private static func unique(_ paths: [String]) -> [String] {
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }
    }
}
