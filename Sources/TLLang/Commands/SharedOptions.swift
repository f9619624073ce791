// Options several commands declare alike, declared once here so their help, docs and handling are
// the same wherever they appear.
import TLInterp
import TLModel
import TLTensor

/// How help describes a default cache.
let lastCache = "the last cache"

enum Shared {
    static let bos = Option<Bool?>("bos", "prepend the beginning-of-sequence token", default: .described("the model's default"))
    static let clean = Option<Expr?>("clean", "the clean cache", default: .described("the variable clean"))
    static let corrupt = Option<Expr?>("corrupt", "the corrupt cache", default: .described("the variable corrupt"))
    static let metric = Option<Expr?>("metric", "the metric", default: .described("the variable metric"))
}

/// saes=, error= and ablate= for every command that runs the model with SAEs spliced in (run, top,
/// lens, patch, dla, generate).
enum Splice {
    static let saes = Option<Expr?>("saes", "SAEs or transcoders to splice in at their hooks, e.g. saes=[s]")
    static let error = Option<Bool>("error", "with saes=: add each SAE's error term, so the output equals the model's own", default: false)
    static let ablate = Option<Expr?>("ablate", "with saes=: features to set to zero before decoding, e.g. ablate=[123, 7]")
    static let options: [any OptionDeclaration] = [saes, error, ablate]
}

// The engine's enums that options choose from: their cases are the accepted names, in help's order.
extension WeightDType: ChoiceValue {}
extension CacheStorage: ChoiceValue {}
extension MatmulPrecision: ChoiceValue {}
extension LogitLens.Point: ChoiceValue {}
extension ErrorMeasure: ChoiceValue {}
extension EdgeIntegration: ChoiceValue {}
extension CircuitAblation: ChoiceValue {}
