// Results as values: a command's handler returns a result model (what it found), and the model's
// presenter (an extension in this folder) turns it into a Display: tables, pictures and text for
// the terminal, a notebook or a file. `save` exports from the model itself, so CSV/JSON/NPY hold
// every value whatever the display shows (the display may show only the largest effects).
import Foundation

import TLRender

/// What a presenter may need from the session: number formatting at the session's precision.
struct PresentationContext {
    var precision: Int

    func format(_ n: Double) -> String {
        if n == n.rounded() && abs(n) < 1e15 { return String(Int(n)) }
        return String(format: "%.\(precision)g", n)
    }
}

protocol ResultModel {
    /// The presenter: text, tables and pictures.
    func display(_ context: PresentationContext) -> Display
    /// Every value, labelled, for CSV and JSON; nil: the display's first table is complete.
    var records: Table? { get }
    /// The tensor an assignment binds (`d = dla …`) and NPY writes; nil: none.
    var tensor: NamedTensor? { get }
}

extension ResultModel {
    var records: Table? { nil }
    var tensor: NamedTensor? { nil }
}

extension Session {
    var presentation: PresentationContext { PresentationContext(precision: settings.precision) }

    /// A result model as a session value: its presentation, with the exports taken from the model.
    func value<R: ResultModel>(of result: R) -> Value {
        var d = result.display(presentation)
        if let records = result.records { d.records = records }
        return .result(d, data: result.tensor)
    }
}
