// Expression evaluation: numbers, strings, lists, variables, tensor arithmetic with broadcasting,
// cache access by TransformerLens names, and reductions over named axes.
import TLModel
import TLTensor

extension Session {
    func evaluate(_ e: Expr) throws -> Value {
        switch e.kind {
        case .integer(let v): return .number(Double(v))
        case .float(let v): return .number(v)
        case .string(let s), .bareWord(let s): return .string(s)
        case .identifier(let name): return try lookup(name, range: e.range)
        case .list(let items): return .list(try items.map(evaluate))
        case .range: return .list(try indexList(e, limit: nil).map { .number(Double($0)) })
        case .wildcard: return .wildcard
        case .fullSlice: throw TLLangError.at(e.range, "':' can only be used inside an index, e.g. x[:, 0]")
        case .unary(let op, let operand):
            let v = try evaluate(operand)
            if op == .plus { return v }
            switch v {
            case .number(let n): return .number(-n)
            case .tensor(let t): return .tensor(NamedTensor(t.tensor * -1, axes: t.axes, tokenLabels: t.tokenLabels))
            default: throw TLLangError.at(e.range, "cannot negate a \(v.typeName)")
            }
        case .binary(let op, let lhs, let rhs):
            return try arithmetic(op, try evaluate(lhs), try evaluate(rhs), range: e.range)
        case .call(let name, let args, let kwargs):
            return try call(name, args: args, kwargs: kwargs, range: e.range)
        case .member(let base, let name):
            return try member(try evaluate(base), name, range: e.range)
        case .index(let base, let indices):
            return try index(try evaluate(base), indices, range: e.range)
        }
    }

    func lookup(_ name: String, range: SourceRange) throws -> Value {
        if let v = variables[name] { return v }
        if name == "true" { return .number(1) }
        if name == "false" { return .number(0) }
        // Only a verb written out in full is pointed at: `five` in `k=five` is no typo of `save`.
        let hint = Suggest.nearest(to: name, in: Array(variables.keys)).map { "did you mean '\($0)'?" }
            ?? (CommandTable.standard[name] != nil ? "'\(name)' is a command: start a statement with it, e.g. x = \(name) ..." : nil)
            ?? "define it first, e.g. \(name) = run \"some text\""
        throw TLLangError.at(range, "unknown variable '\(name)'", hint: hint)
    }

    // MARK: Arithmetic

    func arithmetic(_ op: BinaryOperator, _ a: Value, _ b: Value, range: SourceRange) throws -> Value {
        func apply(_ x: Double, _ y: Double) -> Double {
            switch op { case .add: return x + y; case .subtract: return x - y; case .multiply: return x * y; case .divide: return x / y }
        }
        switch (a, b) {
        case (.number(let x), .number(let y)): return .number(apply(x, y))
        case (.string(let x), .string(let y)) where op == .add: return .string(x + y)
        case (.tensor(let t), .number(let y)):
            return .tensor(NamedTensor(t.tensor.map { Float(apply(Double($0), y)) }, axes: t.axes, tokenLabels: t.tokenLabels))
        case (.number(let x), .tensor(let t)):
            return .tensor(NamedTensor(t.tensor.map { Float(apply(x, Double($0))) }, axes: t.axes, tokenLabels: t.tokenLabels))
        case (.tensor(let s), .tensor(let t)):
            do {
                let out = try Tensor.broadcast(s.tensor, t.tensor) { x, y in Float(apply(Double(x), Double(y))) }
                let axes = s.tensor.rank >= t.tensor.rank ? s.axes : t.axes
                return .tensor(NamedTensor(out, axes: axes, tokenLabels: s.tokenLabels ?? t.tokenLabels))
            } catch {
                throw TLLangError.at(range, "cannot combine tensors of shapes \(s.tensor.shape) and \(t.tensor.shape)",
                                     hint: "shapes must match or broadcast; reduce one first, e.g. mean(x, over=pos)")
            }
        case (.string, .string):
            throw TLLangError.at(range, "strings can only be joined with +; a token difference such as \" Paris\" - \" Rome\" belongs after dla or logit_diff")
        default:
            throw TLLangError.at(range, "cannot apply '\(op.rawValue)' to a \(a.typeName) and a \(b.typeName)")
        }
    }

    // MARK: Functions (reductions over named axes)

    func call(_ name: String, args: [Expr], kwargs: [NamedArgument], range: SourceRange) throws -> Value {
        guard let kind = Reduction(rawValue: name) else {
            let hint = Suggest.nearest(to: name, in: Reduction.allCases.map(\.rawValue)).map { "did you mean \($0)(…)?" }
            throw TLLangError.at(range, "unknown function '\(name)'", hint: hint ?? "functions: mean, sum, norm, max, min, argmax")
        }
        guard args.count == 1 else { throw TLLangError.at(range, "\(name) takes one value, e.g. \(name)(x, over=pos)") }
        guard case .tensor(let t) = try evaluate(args[0]) else {
            throw TLLangError.at(args[0].range, "\(name) needs a tensor, e.g. \(name)(cache.resid_post[6], over=pos)")
        }
        let overExpr = kwargs.first { $0.name == "over" }?.value
        guard let overExpr else {
            if kind == .norm || kind == .argmax {
                let r = try t.tensor.reduce(kind, axis: -1)
                return .tensor(NamedTensor(r, axes: Array(t.axes.dropLast()), tokenLabels: t.tokenLabels))
            }
            return .number(Double(try t.tensor.reduceAll(kind).data[0]))
        }
        // An axis is named, not evaluated: `over=pos` means the axis even when a variable is called pos.
        guard let axisName = overExpr.dottedName ?? { if case .string(let s) = overExpr.kind { return s }; return nil }() else {
            throw TLLangError.at(overExpr.range, "over= takes an axis name such as pos")
        }
        guard let axis = t.axes.firstIndex(of: axisName) else {
            throw TLLangError.at(overExpr.range, "this tensor has no axis '\(axisName)'; its axes are \(t.axes.joined(separator: ", "))")
        }
        var axes = t.axes
        axes.remove(at: axis)
        return .tensor(NamedTensor(try t.tensor.reduce(kind, axis: axis), axes: axes, tokenLabels: t.tokenLabels))
    }

    // MARK: Caches

    /// The axes of a cached activation once the batch axis is dropped.
    static func axes(ofHook name: String) -> [String] {
        // The hook registry's axes (TLModel/HookRegistry.swift) in the language's names, batch dropped.
        guard let spec = HookRegistry.spec(for: name) else { return ["pos", "d_model"] }
        return spec.axes.compactMap { axis -> String? in
            switch axis {
            case .batch: return nil
            case .pos: return "pos"
            case .headIndex, .kvHeadIndex: return "head"
            case .dHead: return "d_head"
            case .dModel: return "d_model"
            case .dMLP: return "d_mlp"
            case .dVocab: return "vocab"
            case .queryPos: return "query"
            case .keyPos: return "key"
            case .one: return "one"
            }
        }
    }

    func cacheTensor(_ c: CacheValue, fullName: String, range: SourceRange) throws -> Value {
        let stored: Tensor?
        do { stored = try c.cache.tensor(fullName) } catch { throw TLLangError.at(range, "\(error)") }
        guard let t = stored else {
            let known = c.cache.model.hookNames
            let hint = Suggest.nearest(to: fullName, in: known).map { "did you mean \"\($0)\"?" } ?? "see `hooks` for every name"
            throw TLLangError.at(range, "the cache has no '\(fullName)'", hint: hint)
        }
        return .tensor(NamedTensor(try t.select(axis: 0, index: 0), axes: Self.axes(ofHook: fullName), tokenLabels: c.strTokens))
    }

    /// Short names that need a layer (`resid_post`) become a series to index; others resolve now.
    func member(_ base: Value, _ name: String, range: SourceRange) throws -> Value {
        switch base {
        case .cache(let c):
            switch name {
            case "logits": return .tensor(NamedTensor(try c.logits.select(axis: 0, index: 0), axes: ["pos", "vocab"], tokenLabels: c.strTokens))
            case "tokens": return .list(c.tokens.map { .number(Double($0)) })
            default: break
            }
            let full = HookNames.actName(name)
            if c.cache.contains(full) { return try cacheTensor(c, fullName: full, range: range) }
            if c.cache.contains(HookNames.actName(name, layer: 0)) { return .cacheSeries(c, shortName: name) }
            let hint = Suggest.nearest(to: name, in: HookNames.shortNames + ["logits", "tokens"]).map { "did you mean cache.\($0)?" }
            throw TLLangError.at(range, "a cache has no member '\(name)'", hint: hint ?? "try cache.resid_post[0] or cache[\"blocks.0.hook_resid_post\"]")
        case .sae(let s):
            return try saeMember(s, name, range: range)
        case .tensor(let t) where name == "shape":
            return .list(t.tensor.shape.map { .number(Double($0)) })
        default:
            throw TLLangError.at(range, "a \(base.typeName) has no member '\(name)'")
        }
    }

    func index(_ base: Value, _ indices: [Expr], range: SourceRange) throws -> Value {
        switch base {
        case .cache(let c):
            // cache["full.name"], cache["pattern", 0], cache["scale", 4, "ln1"]
            let parts = try indices.map(evaluate)
            guard case .string(let name)? = parts.first else {
                throw TLLangError.at(range, "index a cache with a hook name, e.g. cache[\"blocks.0.hook_resid_post\"] or cache[\"pattern\", 0]")
            }
            var layer: Int?
            var layerType: String?
            if parts.count > 1 {
                guard case .number(let n) = parts[1] else { throw TLLangError.at(indices[1].range, "the second index is a layer number") }
                layer = try resolveLayer(try integer(n, at: indices[1].range, what: "a layer"), c.cache.model, range: indices[1].range)
            }
            if parts.count > 2, case .string(let t) = parts[2] { layerType = t }
            return try cacheTensor(c, fullName: HookNames.actName(name, layer: layer, layerType: layerType), range: range)
        case .cacheSeries(let c, let short):
            guard indices.count == 1, case .number(let n) = try evaluate(indices[0]) else {
                throw TLLangError.at(range, "pick one layer, e.g. cache.\(short)[6]")
            }
            let l = try resolveLayer(try integer(n, at: indices[0].range, what: "a layer"), c.cache.model, range: indices[0].range)
            return try cacheTensor(c, fullName: HookNames.actName(short, layer: l), range: range)
        case .tensor(let t):
            var tensor = t.tensor, axes = t.axes
            var axis = 0
            for ix in indices {
                guard axis < tensor.rank else { throw TLLangError.at(ix.range, "too many indices for a tensor of shape \(t.tensor.shape)") }
                if case .fullSlice = ix.kind { axis += 1; continue }
                if case .wildcard = ix.kind { axis += 1; continue }
                if case .range = ix.kind {
                    tensor = try tensor.gather(axis: axis, indices: try indexList(ix, limit: tensor.shape[axis]))
                    axis += 1; continue
                }
                guard case .number(let n) = try evaluate(ix) else { throw TLLangError.at(ix.range, "an index must be a number, a range a..b or :") }
                let i = try integer(n, at: ix.range)
                do { tensor = try tensor.select(axis: axis, index: i) } catch {
                    throw TLLangError.at(ix.range, "index \(i) is out of range for axis '\(axes[axis])' of size \(tensor.shape[axis])")
                }
                axes.remove(at: axis)
            }
            return .tensor(NamedTensor(tensor, axes: axes, tokenLabels: t.tokenLabels))
        case .list(let items):
            guard indices.count == 1, case .number(let n) = try evaluate(indices[0]) else { throw TLLangError.at(range, "index a list with one number") }
            let index = try integer(n, at: indices[0].range)
            let i = index < 0 ? index + items.count : index
            guard i >= 0 && i < items.count else { throw TLLangError.at(range, "index \(index) is out of range for a list of \(items.count)") }
            return items[i]
        default:
            throw TLLangError.at(range, "a \(base.typeName) cannot be indexed")
        }
    }

    func resolveLayer(_ l: Int, _ model: HookedTransformer, range: SourceRange) throws -> Int {
        do { return try model.resolveLayer(l) } catch {
            throw TLLangError.at(range, "layer \(l) is out of range", hint: "this model has layers 0…\(model.config.nLayers - 1) (negative counts from the end)")
        }
    }

    // MARK: Index sets: 6, -1, 0..6, [0, 3, 7], *

    /// The indices an option selects; nil for `*` (every index), resolved against `limit` when given.
    func indexList(_ e: Expr, limit: Int?) throws -> [Int] {
        switch e.kind {
        case .wildcard:
            guard let limit else { throw TLLangError.at(e.range, "* needs a known range here") }
            return Array(0..<limit)
        case .range(let lower, let upper):
            let lo = try lower.map { try intValue($0) } ?? 0
            guard let hi = try upper.map({ try intValue($0) }) ?? limit else {
                throw TLLangError.at(e.range, "an open range needs a known length here; write both ends, e.g. 0..6")
            }
            let n = limit ?? Int.max
            let a = lo < 0 ? lo + n : lo, b = hi < 0 ? hi + n : hi
            // An empty sweep has nothing to compute or show; every command would have to guard it.
            guard a < b else {
                throw TLLangError.at(e.range, "the range \(lo)..\(hi) selects no index (a..b runs from a up to, not including, b)",
                                     hint: "write the smaller end first, e.g. \(min(lo, hi))..\(max(lo, hi) + (lo == hi ? 1 : 0))")
            }
            // Every index is checked against its axis later; refuse a range no axis can hold before
            // allocating it (`layer=0..1000000000000`).
            let longest = max(limit ?? 0, 1 << 20)
            guard b - a <= longest else {
                throw TLLangError.at(e.range, "the range \(lo)..\(hi) has \(b - a) indices; at most \(longest) make sense here")
            }
            return Array(a..<b)
        case .list(let items):
            guard !items.isEmpty else { throw TLLangError.at(e.range, "an empty list selects no index", hint: "name at least one, e.g. [0, 3]") }
            return try items.map(intValue)
        default: return [try intValue(e)]
        }
    }

    func intValue(_ e: Expr) throws -> Int {
        // `k=five`: a word that is no variable was meant as a number.
        if case .identifier(let name) = e.kind, variables[name] == nil, name != "true", name != "false" {
            throw TLLangError.at(e.range, "expected a whole number, found the word '\(name)'", hint: "write digits, e.g. 5")
        }
        switch try evaluate(e) {
        case .number(let n) where n == n.rounded(): return try integer(n, at: e.range, what: "a whole number")
        default: throw TLLangError.at(e.range, "expected a whole number here")
        }
    }

    /// `n` (truncated) as an Int. `Int(n)` traps on NaN, infinities and magnitudes beyond 2^63, all of
    /// which a user can write (`x[1e300]`, `x[0/0]`), so they are an error here.
    func integer(_ n: Double, at range: SourceRange, what: String = "an index") throws -> Int {
        guard let value = Int(exactly: n.rounded(.towardZero)), value.magnitude < 1 << 53 else {  // abs(Int.min) traps
            throw TLLangError.at(range, "\(what) must be a whole number of sensible size, not \(n)")
        }
        return value
    }

    func numberValue(_ e: Expr) throws -> Double {
        guard case .number(let n) = try evaluate(e) else { throw TLLangError.at(e.range, "expected a number here") }
        return n
    }

    func stringValue(_ e: Expr) throws -> String {
        guard case .string(let s) = try evaluate(e) else { throw TLLangError.at(e.range, "expected a quoted string here") }
        return s
    }

    func boolValue(_ e: Expr) throws -> Bool {
        switch try evaluate(e) {
        case .number(let n): return n != 0
        case .string(let s) where s == "true" || s == "false": return s == "true"
        default: throw TLLangError.at(e.range, "expected true or false")
        }
    }
}
