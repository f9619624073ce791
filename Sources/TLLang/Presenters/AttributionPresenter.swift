// `attrib`: attribution patching's estimates, shown through the sweep-grid presenter like `patch`.
import Foundation
import TLInterp
import TLRender

/// An attribution-patching grid with the metric's description and the clean prompt's tokens.
struct AttributionReport: ResultModel {
    var result: AttributionResult
    var metric: String
    var tokens: [String]

    var grid: SweepGrid {
        SweepGrid(axes: result.axes.map(\.rawValue), axisValues: result.axisValues, values: result.values, valueName: "attribution",
                  title: "attrib \(result.activation): \(metric)", largestTitle: "largest attributions")
    }

    func display(_ context: PresentationContext) -> Display {
        let r = result
        let summary = String(format: "attribution patching %@ — %@: estimated change of the metric when patching clean into corrupt (clean %.4f, corrupt %.4f, difference %.4f)",
                             r.activation, metric, r.cleanValue, r.corruptValue, r.cleanValue - r.corruptValue)
        var d = Display(text: summary)
        grid.present(into: &d, tokens: tokens)
        return d
    }

    /// Every cell of the grid.
    var records: Table? { grid.records(tokens: tokens) }
    var tensor: NamedTensor? { NamedTensor(result.values, axes: grid.axes) }
}
