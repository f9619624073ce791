// Draws a Scene into a Canvas: rectangles exactly on pixel boundaries, lines and circles with
// anti-aliasing by distance to the shape, text from FreeType coverage bitmaps.

enum Rasterizer {
    static func draw(_ scene: Scene, fonts: FontSet) -> Canvas {
        var canvas = Canvas(width: scene.width, height: scene.height, background: scene.background)
        for item in scene.items {
            switch item {
            case let .rect(x, y, w, h, fill, _):
                canvas.fill(x: x, y: y, width: w, height: h, fill)
            case let .frame(x, y, w, h, color):
                canvas.fill(x: x, y: y, width: w, height: 1, color)
                canvas.fill(x: x, y: y + h - 1, width: w, height: 1, color)
                canvas.fill(x: x, y: y, width: 1, height: h, color)
                canvas.fill(x: x + w - 1, y: y, width: 1, height: h, color)
            case let .cells(grid):
                for r in 0..<grid.rows {
                    for c in 0..<grid.cols {
                        canvas.fill(x: grid.x + c * grid.cellWidth, y: grid.y + r * grid.cellHeight,
                                    width: grid.cellWidth, height: grid.cellHeight, grid.colors[r * grid.cols + c])
                    }
                }
            case let .gradient(x, y, w, h, colors):
                guard !colors.isEmpty, h > 0 else { continue }
                for row in 0..<h {
                    let t = h == 1 ? 0 : Double(row) / Double(h - 1)
                    let index = Int((t * Double(colors.count - 1)).rounded())
                    canvas.fill(x: x, y: y + row, width: w, height: 1, colors[index])
                }
            case let .line(x1, y1, x2, y2, color, width):
                segment(&canvas, x1, y1, x2, y2, color, width)
            case let .polyline(points, color, width):
                for i in 1..<max(1, points.count) {
                    if let a = points[i - 1], let b = points[i] { segment(&canvas, a.0, a.1, b.0, b.1, color, width) }
                }
            case let .circle(cx, cy, radius, fill, _):
                disc(&canvas, cx, cy, radius, fill)
            case let .text(item):
                text(&canvas, item, fonts: fonts)
            }
        }
        return canvas
    }

    /// A line of the given width, coverage from the distance of each pixel centre to the segment.
    private static func segment(_ canvas: inout Canvas, _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double,
                                _ color: RGB, _ width: Double) {
        let half = width / 2
        let minX = Int((min(x1, x2) - half - 1).rounded(.down)), maxX = Int((max(x1, x2) + half + 1).rounded(.up))
        let minY = Int((min(y1, y2) - half - 1).rounded(.down)), maxY = Int((max(y1, y2) + half + 1).rounded(.up))
        let dx = x2 - x1, dy = y2 - y1, lengthSquared = dx * dx + dy * dy
        let (ys, xs) = (clip(minY, maxY, canvas.height), clip(minX, maxX, canvas.width))
        for py in ys {
            for px in xs {
                let cx = Double(px) + 0.5, cy = Double(py) + 0.5
                var t = lengthSquared > 0 ? ((cx - x1) * dx + (cy - y1) * dy) / lengthSquared : 0
                t = min(1, max(0, t))
                let ex = x1 + t * dx - cx, ey = y1 + t * dy - cy
                let distance = (ex * ex + ey * ey).squareRoot()
                let coverage = min(1, max(0, half + 0.5 - distance))
                canvas.blend(px, py, color, Int(coverage * 255))
            }
        }
    }

    /// `low...high` clipped to `0..<size` (empty when the shape lies outside the canvas).
    private static func clip(_ low: Int, _ high: Int, _ size: Int) -> Range<Int> {
        let a = max(0, low), b = min(size, high + 1)
        return a < b ? a..<b : 0..<0
    }

    private static func disc(_ canvas: inout Canvas, _ cx: Double, _ cy: Double, _ radius: Double, _ color: RGB) {
        let minX = Int(cx - radius - 1), maxX = Int(cx + radius + 1)
        let minY = Int(cy - radius - 1), maxY = Int(cy + radius + 1)
        for py in clip(minY, maxY, canvas.height) {
            for px in clip(minX, maxX, canvas.width) {
                let ex = Double(px) + 0.5 - cx, ey = Double(py) + 0.5 - cy
                let coverage = min(1, max(0, radius + 0.5 - (ex * ex + ey * ey).squareRoot()))
                canvas.blend(px, py, color, Int(coverage * 255))
            }
        }
    }

    private static func text(_ canvas: inout Canvas, _ item: TextItem, fonts: FontSet) {
        guard let bitmap = fonts.bitmap(item.text, size: item.size) else { return }
        let w = bitmap.width
        let shift: Int
        switch item.anchor {
        case .start: shift = 0
        case .middle: shift = w / 2
        case .end: shift = w
        }
        let x = Int(item.x.rounded()), y = Int(item.y.rounded())
        if !item.vertical {
            let left = x - shift, top = y - bitmap.baseline
            for row in 0..<bitmap.height {
                for col in 0..<w {
                    let a = bitmap.coverage[row * w + col]
                    if a != 0 { canvas.blend(left + col, top + row, item.color, Int(a)) }
                }
            }
        } else {
            // Unrotated, bitmap pixel (col, row) would sit at (x - shift + col, y - baseline + row);
            // rotating 90° counter-clockwise about (x, y) maps (px, py) to (x + py - y, y - px + x).
            for row in 0..<bitmap.height {
                for col in 0..<w {
                    let a = bitmap.coverage[row * w + col]
                    if a != 0 { canvas.blend(x - bitmap.baseline + row, y + shift - col, item.color, Int(a)) }
                }
            }
        }
    }
}
