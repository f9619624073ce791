// Where a figure's panels and colour bar ended up, in pixels: for callers that overlay or link
// regions of the PNG (and for tests that check pixels at known cells).

/// A pixel rectangle, origin top-left.
public struct PixelRect: Sendable, Equatable {
    public var x: Int, y: Int, width: Int, height: Int
}

/// One panel's cell grid: cell (r, c) covers
/// `x + c·cellWidth ..< x + (c+1)·cellWidth` × `y + r·cellHeight ..< y + (r+1)·cellHeight`.
public struct PanelGeometry: Sendable, Equatable {
    public var x: Int, y: Int
    public var cellWidth: Int, cellHeight: Int
    public var rows: Int, cols: Int

    /// Centre pixel of cell (row, col).
    public func cellCentre(row: Int, col: Int) -> (x: Int, y: Int) {
        (x + col * cellWidth + cellWidth / 2, y + row * cellHeight + cellHeight / 2)
    }
}

/// Layout of a rendered heatmap figure.
public struct FigureGeometry: Sendable, Equatable {
    public var width: Int, height: Int
    /// In the order of `Figure.panels`.
    public var panels: [PanelGeometry]
    /// The colour ramp (high values at the top).
    public var colorBar: PixelRect
}

extension Figure {
    /// Geometry of the PNG that `renderPNG(fonts:)` draws (text metrics come from `fonts`).
    public func geometry(fonts: FontSet = .shared) throws -> FigureGeometry {
        try validate()
        let scene = HeatmapLayout.scene(self, fonts: fonts)
        var panels: [PanelGeometry] = [], bar = PixelRect(x: 0, y: 0, width: 0, height: 0)
        for item in scene.items {
            switch item {
            case .cells(let g):
                panels.append(PanelGeometry(x: g.x, y: g.y, cellWidth: g.cellWidth, cellHeight: g.cellHeight, rows: g.rows, cols: g.cols))
            case let .gradient(x, y, w, h, _):
                bar = PixelRect(x: x, y: y, width: w, height: h)
            default: break
            }
        }
        return FigureGeometry(width: scene.width, height: scene.height, panels: panels, colorBar: bar)
    }
}

extension Heatmap {
    /// Geometry of this heatmap drawn as a one-panel figure.
    public func geometry(fonts: FontSet = .shared) throws -> FigureGeometry { try Figure(self).geometry(fonts: fonts) }
}
