// An engine-neutral description of model work: runs of token ids, the hook points each run reads,
// and the writes (set or add, at chosen positions and heads) each run makes. The local engine runs
// a plan with forward hooks (`execute(on:)`); the nnsight worker (tools/nnsight_worker) runs the
// same plan as one nnsight session, locally or on NDIF. A write may take its value from a read of
// an earlier run of the same plan (a patch sweep's clean run), so a sweep ships no activations.
import Foundation
import TLModel
import TLTensor

public struct InterventionPlan: Sendable {
    /// One hook point to send back: the whole activation [1, pos, ...], or only some positions
    /// (axis 1) and/or some columns of the last axis (a metric's two logits). `keep: false` reads
    /// serve only later writes and are not sent back.
    public struct Read: Sendable, Equatable {
        public var hook: String
        public var positions: [Int]?
        public var columns: [Int]?
        public var keep: Bool
        /// The result's name when one run reads a hook twice.
        public var key: String? = nil
        /// What is computed from the read where the model runs and sent back instead of the
        /// activation: a reduction (PlanReductions.swift: the lens's decode, log-softmax, top k,
        /// picked columns) or a summary (PlanSummary.swift: projections for dla, pattern sums for
        /// head scores). One or the other, never both: the type keeps them apart.
        public enum Processing: Sendable, Equatable {
            case reduce(Reduction)
            case summary(Summary)
        }
        public var processing: Processing? = nil
        /// The reduction, if the read has one (setting it replaces a summary).
        public var reduce: Reduction? {
            get { if case .reduce(let r)? = processing { return r } else { return nil } }
            set { processing = newValue.map(Processing.reduce) }
        }
        /// The summary, if the read has one (setting it replaces a reduction).
        public var summary: Summary? {
            get { if case .summary(let s)? = processing { return s } else { return nil } }
            set { processing = newValue.map(Processing.summary) }
        }
        public init(_ hook: String, positions: [Int]? = nil, columns: [Int]? = nil, keep: Bool = true) {
            self.hook = hook; self.positions = positions; self.columns = columns; self.keep = keep
        }
        /// The name the result carries: `key`, else the hook.
        public var name: String { key ?? hook }
    }

    public enum WriteOp: String, Sendable { case set, add }

    /// What a write puts in: given numbers, or the same cells of an earlier run's (whole) read.
    public enum WriteValue: Sendable {
        case tensor(Tensor)
        case read(run: Int, hook: String)
    }

    /// A change to one hook point: at `positions` (nil: all) and, for attn.hook_z, one `head`.
    /// A tensor value holds either every selected cell (row-major over [pos, (head,) rest]) or one
    /// row that every selected position receives.
    public struct Write: Sendable {
        public var hook: String
        public var op: WriteOp
        public var positions: [Int]?
        public var head: Int?
        public var value: WriteValue
        /// In a generation run: only while the prompt runs (the first forward), not at generated tokens.
        public var promptOnly: Bool = false
        public init(_ hook: String, _ op: WriteOp = .set, positions: [Int]? = nil, head: Int? = nil, value: WriteValue) {
            self.hook = hook; self.op = op; self.positions = positions; self.head = head; self.value = value
        }
    }

    public struct Run: Sendable {
        public var tokens: [Int]
        public var reads: [Read]
        public var writes: [Write]
        /// A generation run (PlanGeneration.swift): continue `tokens` with its writes active; its
        /// result is the new tokens under `Generation.resultKey`.
        public var generate: Generation? = nil
        public init(tokens: [Int], reads: [Read] = [], writes: [Write] = []) {
            self.tokens = tokens; self.reads = reads; self.writes = writes
        }
    }

    public var runs: [Run]
    public init(runs: [Run] = []) { self.runs = runs }

    /// "logits": the model's output logits [1, pos, d_vocab] (after any final soft-cap).
    public static let logits = "logits"

    /// Checks what can be checked without a model: references point back to whole reads of
    /// earlier runs, and a run has tokens.
    public func validate() throws {
        guard !runs.isEmpty else { throw TLInterpError.invalidArgument("a plan needs at least one run") }
        for (i, run) in runs.enumerated() {
            guard !run.tokens.isEmpty else { throw TLInterpError.invalidArgument("run \(i) of the plan has no tokens") }
            for w in run.writes {
                if w.hook == Self.logits { throw TLInterpError.invalidArgument("run \(i): logits can be read, not written") }
                guard case .read(let j, let hook) = w.value else { continue }
                guard j >= 0 && j < i else {
                    throw TLInterpError.invalidArgument("run \(i): a write can only use a read of an earlier run, not run \(j)")
                }
                guard runs[j].reads.contains(where: { $0.name == hook && $0.hook == hook && $0.positions == nil && $0.columns == nil && $0.processing == nil }) else {
                    throw TLInterpError.invalidArgument("run \(i): run \(j) does not read the whole of \(hook)")
                }
            }
            try validateReductions(run, index: i)
        }
    }
}

/// What a plan produced: per run, each kept read by hook name.
public struct PlanResult: Sendable {
    public var runs: [[String: Tensor]]
    public init(runs: [[String: Tensor]]) { self.runs = runs }
}

// MARK: Local execution

extension InterventionPlan {
    /// Runs the plan on the Swift engine: each run is one forward with hooks for its writes and a
    /// cache filter for its reads.
    public func execute(on model: HookedTransformer, isCancelled: (() -> Bool)? = nil) throws -> PlanResult {
        try validate()
        var all: [[String: Tensor]] = []
        var kept: [[String: Tensor]] = []
        for run in runs {
            if isCancelled?() == true { throw TLInterpError.cancelled }
            if let g = run.generate {
                let made = try Self.generate(run, g, on: model, isCancelled: isCancelled)
                all.append(made); kept.append(made)
                continue
            }
            let P = run.tokens.count
            var o = RunOptions()
            o.isCancelled = isCancelled
            let names = Set(run.reads.map(\.hook)).subtracting([Self.logits])
            for name in names where !model.hookNames.contains(name) {
                throw TLInterpError.invalidArgument("'\(name)' is not a hook point of this model")
            }
            o.cacheFilter = names.isEmpty ? nil : { names.contains($0) }
            let sources = all
            for w in run.writes {
                guard model.hookNames.contains(w.hook) else { throw TLInterpError.invalidArgument("'\(w.hook)' is not a hook point of this model") }
                o.hooks.append(ForwardHook(name: w.hook) { t, _ in
                    let source: Tensor
                    switch w.value {
                    case .tensor(let v): source = v
                    case .read(let j, let hook):
                        guard let s = sources[j][hook] else { throw TLInterpError.invalidArgument("run \(j) has no read of \(hook)") }
                        source = try PlanCells.gather(s, positions: w.positions, head: w.head, tokens: P)
                    }
                    try PlanCells.write(&t, source, positions: w.positions, head: w.head, op: w.op)
                })
            }
            let out = try model.run(tokens: [run.tokens], options: o)
            var got: [String: Tensor] = [:], keep: [String: Tensor] = [:]
            // Reduced reads are computed from every read's base (positions, decode, log-softmax),
            // so one may refer to another's (a lens row tracking the last row's top token).
            var bases: [String: Tensor] = [:]
            for r in run.reads {
                let full: Tensor
                if r.hook == Self.logits { full = out.logits! } else {
                    guard let t = out.cache[r.hook] else { throw TLInterpError.invalidArgument("the run did not produce \(r.hook)") }
                    full = t
                }
                if let reduce = r.reduce {
                    bases[r.name] = try reduce.base(try PlanCells.select(full, positions: r.positions, columns: nil, tokens: P), model: model)
                    continue
                }
                var value = try PlanCells.select(full, positions: r.positions, columns: r.columns, tokens: P)
                if let s = r.summary { value = try s.apply(to: value, hook: r.hook, model: model, tokens: run.tokens) }
                got[r.name] = value
                if r.keep { keep[r.name] = value }
            }
            for r in run.reads {
                guard let reduce = r.reduce, let base = bases[r.name] else { continue }
                let value = try reduce.finish(base, columns: r.columns, bases: bases)
                got[r.name] = value
                if r.keep { keep[r.name] = value }
            }
            all.append(got)
            kept.append(keep)
        }
        return PlanResult(runs: kept)
    }
}

/// Index arithmetic on activations [1, pos, ...] (attn.hook_z: [1, pos, head, d_head]).
enum PlanCells {
    static func resolve(_ positions: [Int]?, _ P: Int) throws -> [Int] {
        guard let positions else { return Array(0..<P) }
        return try positions.map { p in
            let q = p < 0 ? p + P : p
            guard q >= 0 && q < P else { throw TLInterpError.invalidArgument("position \(p) is out of range for \(P) tokens") }
            return q
        }
    }

    /// Reads: some positions of axis 1 and some columns of the last axis.
    static func select(_ t: Tensor, positions: [Int]?, columns: [Int]?, tokens P: Int) throws -> Tensor {
        guard t.rank >= 3, t.shape[0] == 1 else { throw TLInterpError.invalidArgument("a plan reads activations [1, pos, ...], got \(t.shape)") }
        let pos = try resolve(positions, t.shape[1])
        let row = t.shape[2...].reduce(1, *)
        let last = t.shape.last!, outer = row / last
        let cols = columns ?? Array(0..<last)
        for c in cols where c < 0 || c >= last { throw TLInterpError.invalidArgument("column \(c) is out of range (0..<\(last))") }
        var data: [Float] = []
        data.reserveCapacity(pos.count * outer * cols.count)
        for p in pos {
            for o in 0..<outer {
                let base = p * row + o * last
                for c in cols { data.append(t.data[base + c]) }
            }
        }
        var shape = t.shape
        shape[1] = pos.count
        shape[shape.count - 1] = cols.count
        return Tensor(shape: shape, data: data)
    }

    /// The cells a write touches, in order: per selected position, the whole row or one head's slice.
    static func cells(shape: [Int], positions: [Int]?, head: Int?) throws -> (indices: [Int], perPosition: Int) {
        let P = shape[1]
        let pos = try resolve(positions, P)
        let row = shape[2...].reduce(1, *)
        var start = 0, width = row
        if let head {
            guard shape.count == 4, head >= 0 && head < shape[2] else {
                throw TLInterpError.invalidArgument("head \(head) needs a per-head activation [1, pos, head, d_head] with that head, got \(shape)")
            }
            width = shape[3]; start = head * width
        }
        var indices: [Int] = []
        indices.reserveCapacity(pos.count * width)
        for p in pos { indices += (p * row + start)..<(p * row + start + width) }
        return (indices, width)
    }

    static func gather(_ t: Tensor, positions: [Int]?, head: Int?, tokens: Int) throws -> Tensor {
        let c = try cells(shape: t.shape, positions: positions, head: head)
        return Tensor(shape: [c.indices.count], data: c.indices.map { t.data[$0] })
    }

    static func write(_ t: inout Tensor, _ v: Tensor, positions: [Int]?, head: Int?, op: InterventionPlan.WriteOp) throws {
        let c = try cells(shape: t.shape, positions: positions, head: head)
        guard v.count == c.indices.count || v.count == c.perPosition else {
            throw TLInterpError.invalidArgument("a write of \(v.count) values fits neither the \(c.indices.count) selected cells nor one row of \(c.perPosition)")
        }
        for (k, i) in c.indices.enumerated() {
            let x = v.data[v.count == c.indices.count ? k : k % c.perPosition]
            switch op {
            case .set: t.data[i] = x
            case .add: t.data[i] += x
            }
        }
    }
}
