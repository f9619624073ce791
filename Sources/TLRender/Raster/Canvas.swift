// An RGB pixel buffer with the few operations the rasteriser needs.

/// Row-major 8-bit RGB pixels, 3 bytes per pixel, no padding.
struct Canvas {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, background: RGB) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        if background != .black { fill(x: 0, y: 0, width: width, height: height, background) }
    }

    /// Fill a rectangle, clipped to the canvas.
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x1 > x0, y1 > y0 else { return }
        let stride = width * 3
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                var i = yy * stride + x0 * 3
                for _ in x0..<x1 {
                    p[i] = c.r; p[i + 1] = c.g; p[i + 2] = c.b
                    i += 3
                }
            }
        }
    }

    /// Mix `c` into one pixel with opacity `alpha` (0...255).
    @inline(__always)
    mutating func blend(_ x: Int, _ y: Int, _ c: RGB, _ alpha: Int) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let i = (y * width + x) * 3
        if alpha >= 255 { pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b; return }
        let a = alpha, inv = 255 - alpha
        pixels[i] = UInt8((Int(c.r) * a + Int(pixels[i]) * inv + 127) / 255)
        pixels[i + 1] = UInt8((Int(c.g) * a + Int(pixels[i + 1]) * inv + 127) / 255)
        pixels[i + 2] = UInt8((Int(c.b) * a + Int(pixels[i + 2]) * inv + 127) / 255)
    }

    func pixel(_ x: Int, _ y: Int) -> RGB {
        let i = (y * width + x) * 3
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
