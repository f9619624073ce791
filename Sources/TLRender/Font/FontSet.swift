// Text rasterisation with FreeType: anti-aliased grey-scale coverage per glyph, cached, with
// per-character fallback across fonts and the main font's .notdef box as the last resort.
import Foundation
import Synchronization
internal import CFreeType

/// Anti-aliased coverage of one line of text, 0 (paper) ... 255 (ink).
/// Row 0 is the top; `baseline` rows from the top is where the glyphs sit.
struct TextBitmap: Sendable {
    let width: Int
    let height: Int
    let baseline: Int
    let coverage: [UInt8]
}

/// The fonts pictures are drawn with. `FontSet.shared` finds them once per process; tests and
/// apps may build their own from explicit paths. Thread-safe: FreeType calls are serialised.
public final class FontSet: @unchecked Sendable {
    /// Fonts found from the system font directories and the environment that the executable
    /// passed to `configureShared` (`TLSH_FONT`), on first use.
    public static let shared = FontSet(environment: sharedEnvironment.withLock { $0 })

    private static let sharedEnvironment = Mutex<[String: String]>([:])

    /// The environment `shared` reads (TLSH_FONT) when first used: the executable calls this at
    /// start-up, before any picture is drawn.
    public static func configureShared(environment: [String: String]) {
        sharedEnvironment.withLock { $0 = environment }
    }

    public let status: FontStatus

    private let lock = NSLock()
    private var library: FT_Library?
    private var faces: [FT_Face] = []
    private var faceSize: [Int] = []
    private var glyphForScalar: [UInt32: GlyphID] = [:]
    private var glyphs: [GlyphKey: Glyph] = [:]
    private var texts: [TextKey: TextBitmap] = [:]
    private var metrics: [Int: (ascent: Int, descent: Int)] = [:]

    private struct GlyphID: Hashable { let face: Int; let index: UInt32 }
    private struct GlyphKey: Hashable { let id: GlyphID; let size: Int }
    private struct TextKey: Hashable { let text: String; let size: Int }
    private struct Glyph {
        let width, rows, left, top, advance: Int
        let coverage: [UInt8]
    }

    /// Searches `directories` (default: the system font folders) honouring `TLSH_FONT`.
    public convenience init(environment: [String: String], directories: [String]? = nil) {
        let found = FontDiscovery.candidates(environment: environment,
                                             directories: directories ?? FontDiscovery.defaultDirectories)
        var notes: [String] = []
        if let override = environment["TLSH_FONT"], !override.isEmpty,
           !FileManager.default.isReadableFile(atPath: override) {
            notes.append("TLSH_FONT=\(override) is not a readable file; using the system fonts instead")
        }
        self.init(primaryCandidates: found.primary, fallbacks: found.fallbacks, notes: notes)
    }

    /// Uses exactly these font files: the first loadable one is the main font, the rest are
    /// fallbacks. An empty list gives a font set that draws no text.
    public convenience init(paths: [String]) {
        self.init(primaryCandidates: Array(paths.prefix(1)), fallbacks: Array(paths.dropFirst()), notes: [])
    }

    private init(primaryCandidates: [String], fallbacks: [String], notes initialNotes: [String]) {
        var notes = initialNotes
        var lib: FT_Library?
        if FT_Init_FreeType(&lib) != 0 { lib = nil; notes.append("FreeType failed to initialise") }
        library = lib
        var primaryPath: String?
        var fallbackPaths: [String] = []
        for path in primaryCandidates {
            if let face = Self.openFace(lib, path) {
                faces.append(face); primaryPath = path; break
            } else if path == primaryCandidates.first, !path.isEmpty {
                notes.append("could not load font \(path)")
            }
        }
        if primaryPath != nil {
            // A handful of fallbacks is plenty; each one costs a file open and memory.
            for path in fallbacks where path != primaryPath && fallbackPaths.count < 4 {
                if let face = Self.openFace(lib, path) { faces.append(face); fallbackPaths.append(path) }
            }
        }
        faceSize = Array(repeating: 0, count: faces.count)
        status = FontStatus(primary: primaryPath, fallbacks: fallbackPaths, notes: notes)
    }

    deinit {
        for face in faces { FT_Done_Face(face) }
        if let library { FT_Done_FreeType(library) }
    }

    private static func openFace(_ library: FT_Library?, _ path: String) -> FT_Face? {
        guard let library, FileManager.default.isReadableFile(atPath: path) else { return nil }
        var face: FT_Face?
        guard FT_New_Face(library, path, 0, &face) == 0, let face else { return nil }
        // Bitmap-only fonts (colour emoji) cannot be scaled to our sizes.
        guard face.pointee.face_flags & FT_Long(FT_FACE_FLAG_SCALABLE) != 0 else { FT_Done_Face(face); return nil }
        return face
    }

    /// Whether any text will be drawn.
    var hasFont: Bool { !faces.isEmpty }

    // MARK: metrics and measurement

    /// Ascent and descent in pixels of a line at `size` pixels per em.
    func lineMetrics(size: Int) -> (ascent: Int, descent: Int) {
        lock.lock(); defer { lock.unlock() }
        return lockedMetrics(size)
    }

    /// Advance width in pixels of `text` at `size`. Without a font: an estimate from the
    /// display width (DejaVu Sans averages about 0.6 em per character).
    func measure(_ text: String, size: Int) -> Double {
        guard hasFont else { return Double(displayWidth(text)) * Double(size) * 0.6 }
        lock.lock(); defer { lock.unlock() }
        var pen = 0
        for id in lockedGlyphIDs(text) {
            if let g = lockedGlyph(id, size) { pen += g.advance }
        }
        return Double(pen)
    }

    /// `text` cut (with "…") to fit `maxWidth` pixels at `size`.
    func fit(_ text: String, size: Int, maxWidth: Double) -> String {
        if measure(text, size: size) <= maxWidth { return text }
        var chars = Array(text)
        while !chars.isEmpty {
            chars.removeLast()
            let candidate = String(chars) + "…"
            if measure(candidate, size: size) <= maxWidth { return candidate }
        }
        return ""
    }

    /// The font file that draws `scalar`: the main font, a fallback, or nil when no loaded font
    /// has it (it is then drawn as the main font's .notdef box).
    public func fontPath(for scalar: Unicode.Scalar) -> String? {
        lock.lock(); defer { lock.unlock() }
        guard !faces.isEmpty else { return nil }
        _ = lockedGlyphIDs(String(scalar))
        guard let id = glyphForScalar[scalar.value], id.index != 0 else { return nil }
        return id.face == 0 ? status.primary : status.fallbacks[id.face - 1]
    }

    // MARK: rasterisation

    /// Coverage bitmap of `text`, or nil when there is no font.
    func bitmap(_ text: String, size: Int) -> TextBitmap? {
        guard hasFont, !text.isEmpty else { return nil }
        lock.lock(); defer { lock.unlock() }
        let key = TextKey(text: text, size: size)
        if let cached = texts[key] { return cached }
        let (ascent, descent) = lockedMetrics(size)
        var placed: [(Glyph, Int)] = []
        var pen = 0, minX = 0, maxX = 0
        for id in lockedGlyphIDs(text) {
            guard let g = lockedGlyph(id, size) else { continue }
            placed.append((g, pen))
            minX = min(minX, pen + g.left)
            maxX = max(maxX, pen + g.left + g.width, pen + g.advance)
            pen += g.advance
        }
        let width = maxX - minX, height = ascent + descent
        var coverage = [UInt8](repeating: 0, count: max(0, width * height))
        for (g, x0) in placed {
            for row in 0..<g.rows {
                let y = ascent - g.top + row
                guard y >= 0, y < height else { continue }
                for col in 0..<g.width {
                    let a = g.coverage[row * g.width + col]
                    if a == 0 { continue }
                    let i = y * width + (x0 + g.left + col - minX)
                    coverage[i] = max(coverage[i], a)
                }
            }
        }
        let result = TextBitmap(width: width, height: height, baseline: ascent, coverage: coverage)
        if texts.count > 4096 { texts.removeAll(keepingCapacity: true) }
        texts[key] = result
        return result
    }

    // MARK: FreeType, called with the lock held

    private func lockedMetrics(_ size: Int) -> (ascent: Int, descent: Int) {
        if let m = metrics[size] { return m }
        guard !faces.isEmpty else { return (Int((Double(size) * 0.93).rounded(.up)), Int((Double(size) * 0.24).rounded(.up))) }
        lockedSetSize(0, size)
        let m = faces[0].pointee.size.pointee.metrics
        let result = (Int((m.ascender + 63) >> 6), Int((-m.descender + 63) >> 6))
        metrics[size] = result
        return result
    }

    private func lockedSetSize(_ face: Int, _ size: Int) {
        if faceSize[face] != size {
            FT_Set_Pixel_Sizes(faces[face], 0, FT_UInt(size))
            faceSize[face] = size
        }
    }

    /// Glyphs for each scalar: the first font that has it, else the main font's .notdef (index 0).
    /// Zero-width scalars that no font has (variation selectors, joiners) are dropped.
    private func lockedGlyphIDs(_ text: String) -> [GlyphID] {
        var ids: [GlyphID] = []
        for scalar in text.unicodeScalars {
            if let known = glyphForScalar[scalar.value] {
                if known.index != 0 || scalarWidth(scalar) > 0 { ids.append(known) }
                continue
            }
            var id = GlyphID(face: 0, index: 0)
            for (i, face) in faces.enumerated() {
                let index = FT_Get_Char_Index(face, FT_ULong(scalar.value))
                if index != 0 { id = GlyphID(face: i, index: index); break }
            }
            glyphForScalar[scalar.value] = id
            if id.index != 0 || scalarWidth(scalar) > 0 { ids.append(id) }
        }
        return ids
    }

    private func lockedGlyph(_ id: GlyphID, _ size: Int) -> Glyph? {
        let key = GlyphKey(id: id, size: size)
        if let g = glyphs[key] { return g }
        lockedSetSize(id.face, size)
        let face = faces[id.face]
        guard FT_Load_Glyph(face, id.index, FT_Int32(FT_LOAD_RENDER)) == 0, let slot = face.pointee.glyph else { return nil }
        let bitmap = slot.pointee.bitmap
        let width = Int(bitmap.width), rows = Int(bitmap.rows), pitch = Int(bitmap.pitch)
        var coverage = [UInt8](repeating: 0, count: width * rows)
        if let buffer = bitmap.buffer, width > 0, rows > 0 {
            let grey = bitmap.pixel_mode == UInt8(FT_PIXEL_MODE_GRAY.rawValue)
            for r in 0..<rows {
                let line = pitch >= 0 ? buffer + r * pitch : buffer + (rows - 1 - r) * (-pitch)
                for c in 0..<width {
                    // Mono bitmaps (embedded in some fonts) hold one bit per pixel.
                    coverage[r * width + c] = grey ? line[c] : ((line[c >> 3] >> (7 - UInt8(c & 7))) & 1 == 1 ? 255 : 0)
                }
            }
        }
        let g = Glyph(width: width, rows: rows, left: Int(slot.pointee.bitmap_left), top: Int(slot.pointee.bitmap_top),
                      advance: Int((slot.pointee.advance.x + 32) >> 6), coverage: coverage)
        glyphs[key] = g
        return g
    }
}
