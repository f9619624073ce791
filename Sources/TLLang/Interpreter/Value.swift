// The values a tlsh session holds and statements produce.
import TLModel
import TLTensor
import TLRender
import TLInterp

/// A tensor with a name per axis, so reductions can say `over=pos` and pictures can label axes.
public struct NamedTensor: Sendable {
    public var tensor: Tensor
    public var axes: [String]
    /// Token strings of the run it came from, for labelling `pos`/`query`/`key` axes.
    public var tokenLabels: [String]?

    public init(_ tensor: Tensor, axes: [String], tokenLabels: [String]? = nil) {
        self.tensor = tensor
        self.axes = axes.count == tensor.rank ? axes : (0..<tensor.rank).map { "dim\($0)" }
        self.tokenLabels = tokenLabels
    }
}

/// A cached run: the activation cache plus the tokens that produced it.
public final class CacheValue: @unchecked Sendable {
    public let cache: ActivationCache
    public let logits: Tensor
    public let tokens: [Int]
    public let strTokens: [String]
    public let prompt: String?

    init(cache: ActivationCache, logits: Tensor, tokens: [Int], strTokens: [String], prompt: String?) {
        self.cache = cache; self.logits = logits; self.tokens = tokens; self.strTokens = strTokens; self.prompt = prompt
    }
}

/// A patching metric with the token strings it was made from.
public struct MetricValue: Sendable {
    public var metric: PatchMetric
    public var description: String
}

/// Any value of the language.
public indirect enum Value: Sendable {
    case none
    case number(Double)
    case string(String)
    case list([Value])
    case tensor(NamedTensor)
    case cache(CacheValue)
    /// `cache.resid_post` before its layer is chosen: index it with `[layer]`.
    case cacheSeries(CacheValue, shortName: String)
    case metric(MetricValue)
    /// A command's result: what it shows, plus its data as a tensor when there is one (for save).
    case result(Display, data: NamedTensor?)
    /// `*` in an option.
    case wildcard
    /// A sparse autoencoder or transcoder (`s = sae "DIR"`).
    case sae(SAEValue)

    public var typeName: String {
        switch self {
        case .none: return "nothing"
        case .number: return "number"
        case .string: return "string"
        case .list: return "list"
        case .tensor(let t): return "tensor[\(t.tensor.shape.map(String.init).joined(separator: ", "))]"
        case .cache: return "cache"
        case .cacheSeries(_, let s): return "cache.\(s) (index it with a layer)"
        case .metric: return "metric"
        case .result: return "result"
        case .wildcard: return "*"
        case .sae: return "sae"
        }
    }
}

/// What a statement shows: always plain text; tables and pictures when it has them.
public struct Display: Sendable {
    public var text: String
    public var tables: [Table]
    public var pictures: [AnyPicture]
    /// The complete data behind what is shown, one row per cell or component, when the tables show
    /// only a summary (a patch grid's largest effects, DLA's top components): `save` writes it as
    /// CSV and JSON, so an export is never the truncated view.
    public var records: Table?

    public init(text: String = "", tables: [Table] = [], pictures: [AnyPicture] = [], records: Table? = nil) {
        self.text = text; self.tables = tables; self.pictures = pictures; self.records = records
    }

    /// Plain text for pipes and logs: the text, then each table in plain style.
    public var plainText: String {
        var parts: [String] = []
        if !text.isEmpty { parts.append(text) }
        for t in tables { parts.append((try? t.render(style: .plain)) ?? "") }
        return parts.joined(separator: "\n")
    }
}

/// A type-erased picture (heatmap figure, bar or line chart) with a short description.
public struct AnyPicture: Sendable {
    public let picture: any Picture
    public let title: String
    public init(_ picture: any Picture, title: String) { self.picture = picture; self.title = title }
}
