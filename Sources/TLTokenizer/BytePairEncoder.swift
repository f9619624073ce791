/// The byte-pair merge step: turns one pre-tokenized piece (raw bytes) into token ids.
///
/// The initial symbols are one token per byte (byte-level vocabularies: GPT-2, Llama-3, Qwen2, Pythia) or
/// one token per Unicode scalar (SentencePiece-style vocabularies: Llama-2, Mistral, Gemma), where a scalar
/// missing from the vocabulary becomes its UTF-8 bytes as `<0xNN>` tokens (byte fallback) or the unknown
/// token (consecutive ones fused when `fuse_unk`). Then it repeatedly merges the adjacent pair with the lowest merge rank
/// (leftmost first among equal ranks) until no adjacent pair has a merge — Hugging Face's BPE without
/// dropout. Pairs are looked up by integer ids, never by strings.
struct BytePairEncoder: Sendable {
    /// Token id of each single byte.
    let byteTokenIDs: [Int32]
    /// `(left << 32 | right)` -> `(rank << 32 | merged id)`.
    let merges: [UInt64: UInt64]
    /// True when the symbols are bytes; otherwise they are scalars, looked up in the tables below.
    let byteLevel: Bool
    /// Id of each single-scalar token below U+10000 (-1 where none), and of the others.
    var basicScalarIDs: [Int32] = []
    var otherScalarIDs: [UInt32: Int32] = [:]
    /// With byte_fallback, the id of `<0xNN>` for each byte (-1 where the vocabulary lacks it); else nil.
    var fallbackByteIDs: [Int32]?
    var unknownID: Int32 = -1
    var fuseUnknown = false
    /// A long scalar-level piece may be encoded in stretches cut before each "▁" (see TokenizerTables).
    var splitsBeforeMetaspace = false

    static let noMerge = UInt64.max

    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> UInt64 {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))] ?? Self.noMerge
    }

    /// Appends the ids of `piece` to `output`. `scratch` is reused between calls to avoid allocations.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32], scratch: inout Scratch) {
        guard byteLevel else {
            initialScalarSymbols(piece, into: &scratch.ids)
            if scratch.ids.count <= 48 {
                mergeShort(into: &output, scratch: &scratch)
            } else {
                encodeLong(scratch.ids, into: &output)
            }
            return
        }
        if piece.count == 1 {
            output.append(byteTokenIDs[Int(piece[0])])
        } else if piece.count <= 48 {
            scratch.ids.removeAll(keepingCapacity: true)
            for byte in piece { scratch.ids.append(byteTokenIDs[Int(byte)]) }
            mergeShort(into: &output, scratch: &scratch)
        } else {
            encodeLong(piece.map { byteTokenIDs[Int($0)] }, into: &output)
        }
    }

    /// One symbol per scalar, as Hugging Face's BPE builds a word: known scalars are their token; unknown
    /// ones become `<0xNN>` byte tokens (if byte_fallback and all exist), else the unknown token (if any;
    /// consecutive unknowns fused when fuse_unk), else nothing.
    private func initialScalarSymbols(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        ids.removeAll(keepingCapacity: true)
        var pendingUnknown = false
        var index = 0
        while index < piece.count {
            let (value, length) = PreTokenizer.decodeScalar(piece, at: index)
            let id = value < 0x10000 ? basicScalarIDs[Int(value)] : (otherScalarIDs[value] ?? -1)
            if id >= 0 {
                if pendingUnknown { ids.append(unknownID); pendingUnknown = false }
                ids.append(id)
            } else if let fallbackByteIDs, (index..<(index + length)).allSatisfy({ fallbackByteIDs[Int(piece[$0])] >= 0 }) {
                for offset in index..<(index + length) { ids.append(fallbackByteIDs[Int(piece[offset])]) }
            } else if unknownID >= 0 {
                if pendingUnknown && !fuseUnknown { ids.append(unknownID) }
                pendingUnknown = true
            }
            index += length
        }
        if pendingUnknown { ids.append(unknownID) }
    }

    struct Scratch {
        var ids: [Int32] = []
        var pairMerges: [UInt64] = []
    }

    /// Linear scan for the best pair; cheapest for the short pieces that make up nearly all text.
    /// The initial symbols are in `scratch.ids`.
    private func mergeShort(into output: inout [Int32], scratch: inout Scratch) {
        scratch.pairMerges.removeAll(keepingCapacity: true)
        guard scratch.ids.count > 1 else {
            output.append(contentsOf: scratch.ids)
            return
        }
        for index in 0..<(scratch.ids.count - 1) {
            scratch.pairMerges.append(merge(scratch.ids[index], scratch.ids[index + 1]))
        }
        while true {
            var best = Self.noMerge
            var bestIndex = -1
            for (index, candidate) in scratch.pairMerges.enumerated() where candidate < best {
                best = candidate
                bestIndex = index
            }
            if bestIndex < 0 { break }
            scratch.ids[bestIndex] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            scratch.ids.remove(at: bestIndex + 1)
            scratch.pairMerges.remove(at: bestIndex)
            if bestIndex > 0 {
                scratch.pairMerges[bestIndex - 1] = merge(scratch.ids[bestIndex - 1], scratch.ids[bestIndex])
            }
            if bestIndex < scratch.pairMerges.count {
                scratch.pairMerges[bestIndex] = merge(scratch.ids[bestIndex], scratch.ids[bestIndex + 1])
            }
        }
        output.append(contentsOf: scratch.ids)
    }

    /// Priority-queue merging over a linked list of symbols: O(n log n), for long pieces such as a
    /// megabyte without spaces, where the linear scan would be quadratic.
    private func encodeLong(_ initial: [Int32], into output: inout [Int32]) {
        let count = initial.count
        var ids = initial
        var previous = (0..<count).map { $0 - 1 }
        var next = (0..<count).map { $0 + 1 }  // `count` marks the end
        var alive = [Bool](repeating: true, count: count)
        // Heap entries: rank << 32 | position of the left symbol, so ties go to the leftmost pair.
        var heap = MinHeap()
        for index in 0..<(count - 1) {
            let found = merge(ids[index], ids[index + 1])
            if found != Self.noMerge { heap.push(found & ~0xFFFF_FFFF | UInt64(index)) }
        }
        while let entry = heap.pop() {
            let position = Int(entry & 0xFFFF_FFFF)
            let rank = entry >> 32
            guard alive[position], next[position] < count else { continue }
            let right = next[position]
            let found = merge(ids[position], ids[right])
            guard found != Self.noMerge, found >> 32 == rank else { continue }  // stale entry
            ids[position] = Int32(truncatingIfNeeded: found & 0xFFFF_FFFF)
            alive[right] = false
            next[position] = next[right]
            if next[right] < count { previous[next[right]] = position }
            if previous[position] >= 0 {
                let left = previous[position]
                let leftMerge = merge(ids[left], ids[position])
                if leftMerge != Self.noMerge { heap.push(leftMerge & ~0xFFFF_FFFF | UInt64(left)) }
            }
            if next[position] < count {
                let rightMerge = merge(ids[position], ids[next[position]])
                if rightMerge != Self.noMerge { heap.push(rightMerge & ~0xFFFF_FFFF | UInt64(position)) }
            }
        }
        var index = 0
        while index < count {
            output.append(ids[index])
            index = next[index]
        }
    }
}

/// A binary min-heap of UInt64 keys.
struct MinHeap {
    private var storage: [UInt64] = []

    mutating func push(_ value: UInt64) {
        storage.append(value)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if storage[parent] <= storage[child] { break }
            storage.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = storage.first else { return nil }
        let last = storage.removeLast()
        if storage.isEmpty { return top }
        storage[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < storage.count && storage[left] < storage[smallest] { smallest = left }
            if right < storage.count && storage[right] < storage[smallest] { smallest = right }
            if smallest == parent { break }
            storage.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
