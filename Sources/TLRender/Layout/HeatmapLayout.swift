// Where everything in a heatmap figure goes: title on top, a grid of panels (each with an
// optional panel title), tick labels on the left/bottom edges of the grid (or on every panel
// when panels have different labels), axis titles, and one shared colour bar at the right.

enum HeatmapLayout {
    static func scene(_ figure: Figure, fonts: FontSet) -> Scene {
        let panels = figure.panels
        let gridCols = figure.gridColumns
        let gridRows = (panels.count + gridCols - 1) / gridCols
        let maxRows = panels.map(\.rows).max() ?? 1
        let maxCols = panels.map(\.cols).max() ?? 1
        let scale = ResolvedScale(panels[0].scale, data: panels.map(\.values))

        // Cells: fill about 880 × 760 pixels, between a readable minimum and 48 pixels, and no
        // more than 2:1 out of square.
        let totalCols = gridCols * maxCols, totalRows = gridRows * maxRows
        let smallest = (totalCols <= 40 && totalRows <= 64) ? 12 : 1
        var cellW = min(48, max(smallest, 880 / totalCols))
        var cellH = min(48, max(smallest, 760 / totalRows))
        cellH = min(cellH, 2 * cellW); cellW = min(cellW, 2 * cellH)
        let gridW = maxCols * cellW, gridH = maxRows * cellH

        // Labels are drawn once on the outer edges when every panel has the same ones.
        let sharedX = panels.allSatisfy { $0.cols == panels[0].cols && $0.colLabels == panels[0].colLabels }
        let sharedY = panels.allSatisfy { $0.rows == panels[0].rows && $0.rowLabels == panels[0].rowLabels }
        let xPlans = panels.map { p in XLabelPlan(labels: (0..<p.cols).map(p.colLabel), spacing: Double(cellW), fonts: fonts) }
        let yPlans = panels.map { p in YLabelPlan(labels: (0..<p.rows).map(p.rowLabel), spacing: Double(cellH), fonts: fonts) }
        let xDepth = xPlans.map(\.depth).max() ?? 0
        let yWidth = yPlans.map(\.width).max() ?? 0

        let hasPanelTitles = panels.count > 1 || panels.contains { !$0.title.isEmpty }
        let panelTitleH = hasPanelTitles ? Style.panelTitleSize + 6 : 0
        let xTitle = singleLine(panels[0].xLabel), yTitle = singleLine(panels[0].yLabel)
        let titleH = figure.title.isEmpty ? 0 : Style.titleSize + 12
        let hGap = 14, vGap = 10

        // Grid of panel origins.
        var gridX: [Int] = [], gridY: [Int] = []
        var x = Style.margin + (yTitle.isEmpty ? 0 : Style.axisTitleSize + 8)
        for col in 0..<gridCols {
            if !sharedY || col == 0 { x += yWidth }
            gridX.append(x)
            x += gridW + hGap
        }
        // A grid row needs room for x labels when one of its panels has no panel below it.
        func labelsBelow(_ row: Int) -> Bool {
            !sharedX || (0..<gridCols).contains { col in
                let i = row * gridCols + col
                return i < panels.count && i + gridCols >= panels.count
            }
        }
        var y = Style.margin + titleH
        for row in 0..<gridRows {
            y += panelTitleH
            gridY.append(y)
            y += gridH + (labelsBelow(row) ? xDepth : 0) + vGap
        }
        let gridRight = gridX[gridCols - 1] + gridW
        var bottom = y - vGap

        var scene = Scene(width: 0, height: 0)
        scene.title = figure.title
        for (i, panel) in panels.enumerated() {
            let col = i % gridCols, row = i / gridCols
            let px = gridX[col], py = gridY[row]
            let colors = panel.values.map(scale.color)
            scene.add(.cells(CellGrid(x: px, y: py, cellWidth: cellW, cellHeight: cellH, rows: panel.rows,
                                      cols: panel.cols, colors: colors, source: panel)))
            scene.add(.frame(x: px - 1, y: py - 1, width: panel.cols * cellW + 2, height: panel.rows * cellH + 2,
                             color: RGB(hex: 0x999999)))
            if hasPanelTitles, !panel.title.isEmpty {
                let t = fonts.fit(singleLine(panel.title), size: Style.panelTitleSize, maxWidth: Double(gridW + hGap))
                scene.text(TextItem(text: t, x: Double(px) + Double(panel.cols * cellW) / 2, y: Double(py - 6),
                                    size: Style.panelTitleSize, color: .text, anchor: .middle))
            }
            // The last panel of a column labels the x axis when it has no panel below it.
            let lastInColumn = i + gridCols >= panels.count
            if !sharedX || lastInColumn {
                xPlans[i].emit(into: &scene, top: Double(py + panel.rows * cellH)) { c in
                    Double(px) + (Double(c) + 0.5) * Double(cellW)
                }
            }
            if !sharedY || col == 0 {
                yPlans[i].emit(into: &scene, right: Double(px)) { r in Double(py) + (Double(r) + 0.5) * Double(cellH) }
            }
        }

        // Axis titles centred on the panel grid.
        let gridLeft = gridX[0], gridTop = gridY[0]
        if !xTitle.isEmpty {
            bottom += 4 + Style.axisTitleSize
            scene.text(TextItem(text: xTitle, x: Double(gridLeft + gridRight) / 2, y: Double(bottom),
                                size: Style.axisTitleSize, color: .text, anchor: .middle))
            bottom += 4
        }
        if !yTitle.isEmpty {
            let lastGridBottom = gridY[gridRows - 1] + gridH
            scene.text(TextItem(text: yTitle, x: Double(Style.margin + Style.axisTitleSize),
                                y: Double(gridTop + lastGridBottom) / 2, size: Style.axisTitleSize,
                                color: .text, anchor: .middle, vertical: true))
        }

        // Colour bar: high values on top.
        let barX = gridRight + 20, barW = 14
        let span = gridY[gridRows - 1] + gridH - gridTop
        let barH = min(420, max(120, span))
        let ramp = (0..<256).map { scale.map.color(at: 1 - Double($0) / 255) }
        scene.add(.gradient(x: barX, y: gridTop, width: barW, height: barH, colors: ramp))
        scene.add(.frame(x: barX - 1, y: gridTop - 1, width: barW + 2, height: barH + 2, color: RGB(hex: 0x999999)))
        let ticks = scale.ticks
        let step = NiceTicks.step(of: ticks)
        var barRight = barX + barW
        for tick in ticks {
            let ty = Double(gridTop) + (1 - scale.fraction(tick)) * Double(barH - 1) + 0.5
            scene.add(.line(x1: Double(barX + barW), y1: ty, x2: Double(barX + barW + 4), y2: ty, color: .axis, width: 1))
            let label = NumberFormat.tick(tick, step: step)
            scene.text(TextItem(text: label, x: Double(barX + barW + 7), y: ty + centringOffset(Style.tickSize),
                                size: Style.tickSize, color: .text))
            barRight = max(barRight, barX + barW + 7 + Int(fonts.measure(label, size: Style.tickSize).rounded(.up)))
        }
        bottom = max(bottom, gridTop + barH + 8)

        // Title last, once the width is known; the picture widens for a long title (up to a cap).
        var width = barRight + Style.margin
        if !figure.title.isEmpty {
            let titleWidth = Int(fonts.measure(singleLine(figure.title), size: Style.titleSize).rounded(.up))
            width = max(width, min(titleWidth + 2 * Style.margin, 1400))
            let t = fonts.fit(singleLine(figure.title), size: Style.titleSize, maxWidth: Double(width - 2 * Style.margin))
            scene.text(TextItem(text: t, x: Double(width) / 2, y: Double(Style.margin + Style.titleSize),
                                size: Style.titleSize, color: .black, anchor: .middle))
        }
        scene.width = width
        scene.height = bottom + Style.margin
        return scene
    }
}
