// Data models of the two chart kinds: a value per category (bars) and series over positions (lines).

/// One bar per label, drawn from a zero line so signed values go up (red) or down (blue).
/// Used for "metric per layer" (patching, logit lens).
public struct BarChart: Sendable, Equatable {
    public var labels: [String]
    public var values: [Float]
    public var title: String
    public var xLabel: String
    public var yLabel: String

    public init(labels: [String], values: [Float], title: String = "", xLabel: String = "", yLabel: String = "") {
        self.labels = labels; self.values = values; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    public func validate() throws {
        let name = title.isEmpty ? "bar chart" : "bar chart \"\(title)\""
        guard !values.isEmpty else { throw TLRenderError.empty(what: name) }
        guard labels.isEmpty || labels.count == values.count else {
            throw TLRenderError.labelCount(what: "\(name) labels", expected: values.count, got: labels.count)
        }
    }

    func label(_ i: Int) -> String { labels.isEmpty ? String(i) : labels[i] }
}

/// One named line of a `LineChart`; NaN values leave a gap.
public struct Series: Sendable, Equatable {
    public var name: String
    public var values: [Float]
    public init(name: String, values: [Float]) { self.name = name; self.values = values }
}

/// Lines over shared categorical x positions, e.g. the rank of a token across layers.
public struct LineChart: Sendable, Equatable {
    public var xLabels: [String]
    public var series: [Series]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    /// Plot log10 of the values (ranks, perplexities); values ≤ 0 become gaps.
    public var logScale: Bool
    /// Where each x position lies on a numeric axis (e.g. log10 of a parameter count), increasing;
    /// empty spaces the positions evenly, as categories.
    public var xPositions: [Double]

    public init(xLabels: [String], series: [Series], title: String = "", xLabel: String = "",
                yLabel: String = "", logScale: Bool = false, xPositions: [Double] = []) {
        self.xLabels = xLabels; self.series = series; self.title = title
        self.xLabel = xLabel; self.yLabel = yLabel; self.logScale = logScale; self.xPositions = xPositions
    }

    /// Number of x positions (the longest series when there are no labels).
    var count: Int { xLabels.isEmpty ? series.map(\.values.count).max() ?? 0 : xLabels.count }

    public func validate() throws {
        let name = title.isEmpty ? "line chart" : "line chart \"\(title)\""
        guard !series.isEmpty, count > 0 else { throw TLRenderError.empty(what: name) }
        for s in series where s.values.count != count {
            throw TLRenderError.shapeMismatch(what: "\(name) series \"\(s.name)\"", expected: count, got: s.values.count)
        }
        guard xPositions.isEmpty || xPositions.count == count else {
            throw TLRenderError.shapeMismatch(what: "\(name) x positions", expected: count, got: xPositions.count)
        }
        guard xPositions.allSatisfy(\.isFinite), zip(xPositions, xPositions.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw TLRenderError.invalid(what: "\(name) x positions", problem: "they must be finite and increasing; give one per x label in order")
        }
    }

    func xLabel(_ i: Int) -> String { xLabels.isEmpty ? String(i) : xLabels[i] }
}
