// `patch`: an activation-patching sweep, shown through the sweep-grid presenter.
import Foundation
import TLInterp
import TLRender

/// A patching sweep: the engine's result (axes, values, metric values, normalisation) with the
/// metric's description and the clean prompt's tokens that label its positions.
struct PatchReport: ResultModel {
    var result: PatchResult
    var metric: String
    var tokens: [String]

    var grid: SweepGrid {
        SweepGrid(axes: result.axes.map(\.rawValue), axisValues: result.axisValues, values: result.values, valueName: "metric",
                  title: "patch \(result.activation): \(metric)", largestTitle: "largest effects",
                  rankingBase: result.normalized ? 0 : result.corruptValue)
    }

    func display(_ context: PresentationContext) -> Display {
        let r = result
        let summary = String(format: "patching %@ — %@%@; clean %.4f, corrupt %.4f", r.activation, metric,
                             r.normalized ? " (normalised: 0 = corrupt, 1 = clean)" : "", r.cleanValue, r.corruptValue)
        var d = Display(text: summary)
        grid.present(into: &d, tokens: tokens)
        return d
    }

    /// Every cell of the sweep (the display's table holds only the largest effects).
    var records: Table? { grid.records(tokens: tokens) }
    var tensor: NamedTensor? { NamedTensor(result.values, axes: grid.axes) }
}
