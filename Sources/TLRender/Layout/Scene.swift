// A picture as a list of drawing primitives in pixel coordinates. Layout builds one Scene;
// the PNG rasteriser and the SVG writer draw the same Scene, so both look alike.

enum TextAnchor { case start, middle, end }

/// One line of text. Horizontal: (x, y) is the anchor point on the baseline. Vertical text reads
/// bottom to top (rotated 90° counter-clockwise about (x, y)): x is the baseline and the anchor
/// runs along y, so `.end` puts the end of the text at y with the rest below.
struct TextItem {
    var text: String
    var x: Double
    var y: Double
    var size: Int
    var color: RGB = .text
    var anchor: TextAnchor = .start
    var vertical = false
}

/// A grid of equally sized cells, kept whole so that SVG can attach a tooltip to every cell and
/// the rasteriser can fill it quickly.
struct CellGrid {
    var x: Int, y: Int
    var cellWidth: Int, cellHeight: Int
    var rows: Int, cols: Int
    /// Row-major cell colours, rows × cols.
    var colors: [RGB]
    /// The heatmap, for tooltips ("row label, column label: value").
    var source: Heatmap
}

enum SceneItem {
    case rect(x: Int, y: Int, width: Int, height: Int, fill: RGB, tooltip: String?)
    /// One-pixel outline drawn just inside the given rectangle.
    case frame(x: Int, y: Int, width: Int, height: Int, color: RGB)
    case cells(CellGrid)
    /// A vertical colour ramp, `colors[0]` at the top.
    case gradient(x: Int, y: Int, width: Int, height: Int, colors: [RGB])
    case line(x1: Double, y1: Double, x2: Double, y2: Double, color: RGB, width: Double)
    /// Connected line segments; nil points break the line (missing values).
    case polyline(points: [(Double, Double)?], color: RGB, width: Double)
    case circle(cx: Double, cy: Double, radius: Double, fill: RGB, tooltip: String?)
    case text(TextItem)
}

struct Scene {
    var width: Int
    var height: Int
    var background: RGB = .white
    var items: [SceneItem] = []
    /// Accessible description (SVG <title> of the whole picture).
    var title: String = ""

    mutating func add(_ item: SceneItem) { items.append(item) }
    mutating func text(_ t: TextItem) { items.append(.text(t)) }
}
