/// The byte-pair merge step: turns one pre-tokenized piece (raw bytes) into token ids.
///
/// Starting from one token per byte, it repeatedly merges the adjacent pair with the lowest merge rank
/// (leftmost first among equal ranks) until no adjacent pair has a merge — Hugging Face's BPE without
/// dropout. Pairs are looked up by integer ids, never by strings.
struct BytePairEncoder: Sendable {
    /// Token id of each single byte.
    let byteTokenIDs: [Int32]
    /// `(left << 32 | right)` -> `(rank << 32 | merged id)`.
    let merges: [UInt64: UInt64]

    static let noMerge = UInt64.max

    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> UInt64 {
        merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))] ?? Self.noMerge
    }

    /// Appends the ids of `piece` to `output`. `scratch` is reused between calls to avoid allocations.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32], scratch: inout Scratch) {
        if piece.count == 1 {
            output.append(byteTokenIDs[Int(piece[0])])
        } else if piece.count <= 48 {
            encodeShort(piece, into: &output, scratch: &scratch)
        } else {
            encodeLong(piece, into: &output)
        }
    }

    struct Scratch {
        var ids: [Int32] = []
        var pairMerges: [UInt64] = []
    }

    /// Linear scan for the best pair; cheapest for the short pieces that make up nearly all text.
    private func encodeShort(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32], scratch: inout Scratch) {
        scratch.ids.removeAll(keepingCapacity: true)
        scratch.pairMerges.removeAll(keepingCapacity: true)
        for byte in piece { scratch.ids.append(byteTokenIDs[Int(byte)]) }
        for index in 0..<(piece.count - 1) {
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
    private func encodeLong(_ piece: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        let count = piece.count
        var ids = piece.map { byteTokenIDs[Int($0)] }
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
