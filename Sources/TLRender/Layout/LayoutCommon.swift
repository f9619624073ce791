// Sizes, fonts and label placement shared by the heatmap and chart layouts.

enum Style {
    static let margin = 16
    static let titleSize = 16
    static let axisTitleSize = 13
    static let panelTitleSize = 12
    static let tickSize = 11
    /// Longest tick label in pixels before it is cut with "…".
    static let maxLabelWidth = 130.0
    /// Vertical distance needed between neighbouring horizontal labels (and horizontal distance
    /// between neighbouring vertical ones).
    static var labelPitch: Int { tickSize + 3 }
    static let palette: [RGB] = [  // Okabe–Ito colours, distinguishable by colour-blind readers
        RGB(hex: 0x0072B2), RGB(hex: 0xD55E00), RGB(hex: 0x009E73), RGB(hex: 0xCC79A7),
        RGB(hex: 0xE69F00), RGB(hex: 0x56B4E9), RGB(hex: 0x000000), RGB(hex: 0xF0E442),
    ]
    static let positiveBar = RGB(hex: 0xd6604d)
    static let negativeBar = RGB(hex: 0x4393c3)
}

/// Labels must stay on one line: control characters become their visible pictures.
func singleLine(_ s: String) -> String {
    s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) ? visibleToken(s) : s
}

/// Baseline offset that centres a line of text of `size` pixels on a point.
func centringOffset(_ size: Int) -> Double { Double(size) * 0.36 }

/// How category labels along an x axis are drawn: horizontal when each fits its slot, otherwise
/// vertical (reading upwards); every `stride`-th label when even vertical ones would collide.
struct XLabelPlan {
    let texts: [String]
    let vertical: Bool
    let stride: Int
    /// Space the labels need below the axis, in pixels.
    let depth: Int

    init(labels: [String], spacing: Double, fonts: FontSet) {
        let size = Style.tickSize
        let cut = labels.map { fonts.fit(singleLine($0), size: size, maxWidth: Style.maxLabelWidth) }
        let widest = cut.map { fonts.measure($0, size: size) }.max() ?? 0
        if widest <= spacing - 4 {
            vertical = false; stride = 1
            depth = Style.labelPitch + 4
        } else if spacing >= Double(Style.labelPitch) {
            vertical = true; stride = 1
            depth = Int(widest.rounded(.up)) + 8
        } else {
            // Too dense even for vertical text: label every stride-th slot.
            stride = Int((Double(Style.labelPitch) / max(spacing, 0.5)).rounded(.up))
            vertical = true
            depth = Int(widest.rounded(.up)) + 8
        }
        texts = cut
    }

    /// Emit the labels centred on `centreX(i)`, hanging below `top`.
    func emit(into scene: inout Scene, top: Double, centreX: (Int) -> Double) {
        for i in Swift.stride(from: 0, to: texts.count, by: stride) {
            if vertical {
                scene.text(TextItem(text: texts[i], x: centreX(i) + centringOffset(Style.tickSize), y: top + 4,
                                    size: Style.tickSize, color: .text, anchor: .end, vertical: true))
            } else {
                scene.text(TextItem(text: texts[i], x: centreX(i), y: top + 4 + Double(Style.tickSize),
                                    size: Style.tickSize, color: .text, anchor: .middle))
            }
        }
    }
}

/// Row labels along a y axis, right-aligned against it; every `stride`-th one when crowded.
struct YLabelPlan {
    let texts: [String]
    let stride: Int
    /// Widest label plus the gap to the axis, in pixels.
    let width: Int

    init(labels: [String], spacing: Double, fonts: FontSet) {
        let cut = labels.map { fonts.fit(singleLine($0), size: Style.tickSize, maxWidth: Style.maxLabelWidth) }
        let every = max(1, Int((Double(Style.labelPitch) / max(spacing, 0.5)).rounded(.up)))
        let widest = Swift.stride(from: 0, to: cut.count, by: every).map { fonts.measure(cut[$0], size: Style.tickSize) }.max() ?? 0
        texts = cut; stride = every
        width = Int(widest.rounded(.up)) + 6
    }

    func emit(into scene: inout Scene, right: Double, centreY: (Int) -> Double) {
        for i in Swift.stride(from: 0, to: texts.count, by: stride) {
            scene.text(TextItem(text: texts[i], x: right - 5, y: centreY(i) + centringOffset(Style.tickSize),
                                size: Style.tickSize, color: .text, anchor: .end))
        }
    }
}
