// The public face of TLRender's pictures: every picture renders as PNG bytes, an SVG string and
// terminal text. Nothing here prints; the caller decides where the bytes go.

/// Something that can be drawn: a heatmap, a multi-panel figure, a bar chart or a line chart.
public protocol Picture: Sendable {
    /// Throws when the data does not fit its declared shape.
    func validate() throws
    /// A PNG (8-bit RGB, 96 dpi) with text rasterised from `fonts`; no text when `fonts` has none.
    func renderPNG(fonts: FontSet) throws -> PNGImage
    /// A standalone SVG document with hover tooltips (`<title>`) on cells, bars and points.
    func renderSVG(fonts: FontSet) throws -> String
    /// Text for a terminal no wider than `maxWidth` columns: colour blocks in `.trueColor` and
    /// `.ansi256` modes, plain characters and numbers in `.none`.
    func renderTerminal(mode: TerminalColorMode, maxWidth: Int) throws -> String
    /// The PNG and an interactive HTML view of it for notebooks (hover values; a token view for
    /// attention patterns); `id` must be unique in the page (see HTMLView).
    func renderInteractive(fonts: FontSet, id: String) throws -> InteractiveRendering
}

extension Picture {
    /// PNG with the shared fonts (`FontSet.shared`).
    public func renderPNG() throws -> PNGImage { try renderPNG(fonts: .shared) }
    /// SVG laid out with the shared fonts' text metrics.
    public func renderSVG() throws -> String { try renderSVG(fonts: .shared) }
    /// The notebook view with the shared fonts.
    public func renderInteractive(id: String) throws -> InteractiveRendering { try renderInteractive(fonts: .shared, id: id) }
}

/// Scene-based rendering shared by every picture kind.
protocol ScenePicture: Picture {
    func scene(fonts: FontSet) -> Scene
}

extension ScenePicture {
    public func renderPNG(fonts: FontSet) throws -> PNGImage {
        try validate()
        let scene = scene(fonts: fonts)
        let canvas = Rasterizer.draw(scene, fonts: fonts)
        return try PNGEncoder.encode(pixels: canvas.pixels, width: canvas.width, height: canvas.height)
    }

    public func renderSVG(fonts: FontSet) throws -> String {
        try validate()
        return SVGWriter.write(scene(fonts: fonts))
    }
}

extension Figure: ScenePicture {
    func scene(fonts: FontSet) -> Scene { HeatmapLayout.scene(self, fonts: fonts) }
    public func renderTerminal(mode: TerminalColorMode, maxWidth: Int) throws -> String {
        try validate()
        return TerminalHeatmap.render(self, mode: mode, maxWidth: maxWidth)
    }
}

extension Heatmap: ScenePicture {
    func scene(fonts: FontSet) -> Scene { HeatmapLayout.scene(Figure(self), fonts: fonts) }
    public func renderTerminal(mode: TerminalColorMode, maxWidth: Int) throws -> String {
        try Figure(self).renderTerminal(mode: mode, maxWidth: maxWidth)
    }
}

extension BarChart: ScenePicture {
    func scene(fonts: FontSet) -> Scene { ChartLayout.scene(self, fonts: fonts) }
    public func renderTerminal(mode: TerminalColorMode, maxWidth: Int) throws -> String {
        try validate()
        return TerminalCharts.render(self, mode: mode, maxWidth: maxWidth)
    }
}

extension LineChart: ScenePicture {
    func scene(fonts: FontSet) -> Scene { ChartLayout.scene(self, fonts: fonts) }
    public func renderTerminal(mode: TerminalColorMode, maxWidth: Int) throws -> String {
        try validate()
        return TerminalCharts.render(self, mode: mode, maxWidth: maxWidth)
    }
}

/// Function-style entry points, for callers that prefer `PNGRenderer.render(figure)`.
public enum PNGRenderer {
    public static func render(_ picture: some Picture, fonts: FontSet = .shared) throws -> (png: [UInt8], width: Int, height: Int) {
        let image = try picture.renderPNG(fonts: fonts)
        return (image.bytes, image.width, image.height)
    }
}

public enum SVGRenderer {
    public static func render(_ picture: some Picture, fonts: FontSet = .shared) throws -> String {
        try picture.renderSVG(fonts: fonts)
    }
}
