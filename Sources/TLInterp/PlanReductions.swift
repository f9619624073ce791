// Server-side reductions on a plan's reads, so a reply stays small for 128k vocabularies and deep
// models: decode a residual activation through the logit lens, log-softmax, and keep only the top k
// of each row, or one picked column per row with its rank (a loss's next-token log-probability, an
// answer token's rank). The Swift engine computes them here; the nnsight worker computes the same
// on its side (tlsh_nnsight_worker.py, `_reduce_base` and `_reduce_finish`).
import TLModel
import TLTensor

extension InterventionPlan {
    /// Applied to a read after its positions are selected, in this order: `decode`, `logSoftmax`,
    /// then at most one of `topK`, `pick` and the read's `columns`.
    public struct Reduction: Sendable, Equatable {
        /// The logit lens: the final norm recomputed without its weight and bias (centring for
        /// LayerNorm models, then division by the root mean square with the model's eps), then the
        /// unembedding with its bias: LogitLens.compute's numbers on a process=false model.
        public var decode: Bool
        /// Log-softmax over the last axis.
        public var logSoftmax: Bool
        /// Per row of the last axis: the k largest values, largest first, as [..., k, 2] pairs
        /// (value, index; indices are exact in Float32 below 2^24).
        public var topK: Int?
        /// Per row: one column's value and its rank (how many entries are larger), as [..., 2].
        public var pick: Pick?

        public enum Pick: Sendable, Equatable {
            /// One column per row (e.g. each position's next token).
            case columns([Int])
            /// Per row, the column where another read of the same run (its base: positions, decode,
            /// log-softmax) is largest: a lens row tracking the final row's top token.
            case argmaxOf(String)
        }

        public init(decode: Bool = false, logSoftmax: Bool = false, topK: Int? = nil, pick: Pick? = nil) {
            self.decode = decode; self.logSoftmax = logSoftmax; self.topK = topK; self.pick = pick
        }

        /// The read after positions, decode and log-softmax: what `topK` and `pick` reduce.
        func base(_ t: Tensor, model: HookedTransformer) throws -> Tensor {
            var x = t
            if decode {
                guard x.shape.count == 3, x.shape[2] == model.config.dModel else {
                    throw TLInterpError.invalidArgument("decode= reads a residual-stream activation [1, pos, d_model], got \(x.shape)")
                }
                guard model.hasWeights else {
                    throw TLInterpError.invalidArgument("decoding through the unembedding needs the model's weights; this model was loaded without them")
                }
                x = LogitLens.decode(x, model: model)
            }
            if logSoftmax { x = x.logSoftmax() }
            return x
        }

        /// The value sent back, from the base.
        func finish(_ base: Tensor, columns: [Int]?, bases: [String: Tensor]) throws -> Tensor {
            let n = base.shape.last ?? 1, rows = n == 0 ? 0 : base.count / n
            if let k = topK {
                let kk = min(k, n)
                var out: [Float] = []
                out.reserveCapacity(rows * kk * 2)
                base.data.withUnsafeBufferPointer { b in
                    for r in 0..<rows {
                        for e in Tensor.topK(UnsafeBufferPointer(rebasing: b[(r * n)..<((r + 1) * n)]), k: kk) {
                            out.append(e.value); out.append(Float(e.index))
                        }
                    }
                }
                return Tensor(shape: Array(base.shape.dropLast()) + [kk, 2], data: out)
            }
            if let pick {
                let cols: [Int]
                switch pick {
                case .columns(let c): cols = c
                case .argmaxOf(let other):
                    guard let o = bases[other], o.shape.last.map({ o.count / $0 }) == rows else {
                        throw TLInterpError.invalidArgument("pick argmax_of \(other): the run has no reduced read of that name with \(rows) rows")
                    }
                    let m = o.shape.last!
                    cols = (0..<rows).map { r in
                        var best = 0
                        for i in 1..<m where o.data[r * m + i] > o.data[r * m + best] { best = i }
                        return best
                    }
                }
                guard cols.count == rows else {
                    throw TLInterpError.invalidArgument("pick gives \(cols.count) columns for \(rows) rows")
                }
                var out: [Float] = []
                out.reserveCapacity(rows * 2)
                for (r, c) in cols.enumerated() {
                    guard c >= 0 && c < n else { throw TLInterpError.invalidArgument("column \(c) is out of range (0..<\(n))") }
                    let v = base.data[r * n + c]
                    var rank = 0
                    for i in 0..<n where base.data[r * n + i] > v { rank += 1 }
                    out.append(v); out.append(Float(rank))
                }
                return Tensor(shape: Array(base.shape.dropLast()) + [2], data: out)
            }
            guard let columns else { return base }
            return try PlanCells.select(base, positions: nil, columns: columns, tokens: base.shape[1])
        }
    }

    /// What a run's reductions need that can be checked without a model.
    func validateReductions(_ run: Run, index i: Int) throws {
        var names = Set<String>()
        for r in run.reads {
            guard names.insert(r.name).inserted else {
                throw TLInterpError.invalidArgument("run \(i) reads two values named \(r.name); give one a key")
            }
        }
        if let g = run.generate {
            guard run.reads.isEmpty else { throw TLInterpError.invalidArgument("run \(i): a generation run reads nothing; its result is the new tokens") }
            guard g.newTokens >= 0 else { throw TLInterpError.invalidArgument("run \(i): a generation needs 0 or more new tokens") }
            for w in run.writes {
                guard w.positions == nil, case .tensor = w.value else {
                    throw TLInterpError.invalidArgument("run \(i): a generation's writes hold numbers for every position (positions and references are for single forwards)")
                }
            }
        } else if run.writes.contains(where: \.promptOnly) {
            throw TLInterpError.invalidArgument("run \(i): prompt_only writes belong to generation runs")
        }
        for r in run.reads {
            guard let red = r.reduce else { continue }
            if red.decode && r.hook == Self.logits { throw TLInterpError.invalidArgument("run \(i): decode reads a residual activation, not the logits") }
            if red.topK != nil && red.pick != nil { throw TLInterpError.invalidArgument("run \(i): a read reduces with top_k or pick, not both") }
            if (red.topK != nil || red.pick != nil) && r.columns != nil {
                throw TLInterpError.invalidArgument("run \(i): columns= selects from an unreduced read; top_k and pick choose their own columns")
            }
            if let k = red.topK, k < 1 { throw TLInterpError.invalidArgument("run \(i): top_k must be at least 1, not \(k)") }
            if case .argmaxOf(let other)? = red.pick {
                guard run.reads.contains(where: { $0.name == other && $0.reduce != nil }) else {
                    throw TLInterpError.invalidArgument("run \(i): pick argmax_of \(other) names no reduced read of this run")
                }
            }
        }
    }
}

extension LogitLens {
    /// Decodes residual-stream rows [..., d_model] into logits [..., d_vocab] as `compute` does with
    /// apply_ln: centre (LayerNorm models), divide by the recomputed root mean square (no norm
    /// weight or bias), then W_U and b_U.
    public static func decode(_ x: Tensor, model: HookedTransformer) -> Tensor {
        let d = model.config.dModel, V = model.config.dVocab
        let n = x.count / d
        var rows = x.data
        RecomputedNorm.normalize(&rows, d: d, center: model.config.normalizationType == .layerNorm, eps: model.config.eps)
        return model.matrix(.unembed).product(Tensor(shape: [n, d], data: rows), plus: model.weights.bU, shape: Array(x.shape.dropLast()) + [V])
    }
}
