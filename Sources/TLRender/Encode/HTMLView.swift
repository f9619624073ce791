// An interactive HTML view of a picture for notebooks (JupyterLab, Notebook 7, VS Code).
//
// Why not SVG: JupyterLab draws image/svg+xml as an <img>, where <title> tooltips never show,
// and a reopened (untrusted) notebook shows only the PNG. So notebooks get text/html:
//   - the PNG as an <img> that shrinks to the output area's width (wide figures are not cut off)
//     and carries the picture's title as alt text;
//   - the hover data (cell grids, bars, points) as JSON, and a small self-contained script that
//     maps the mouse to a cell, whatever the image's displayed size, and shows its labels and
//     value in a tooltip;
//   - for attention patterns (panels of query × key over the same tokens), a circuitsvis-like
//     token view: hover (or click to pin) a token to colour every token by how much it attends
//     to it, per head or the maximum over heads.
// In an untrusted notebook the front end strips the scripts: the <img> stays, so the PNG shows.
import Foundation

public enum HTMLView {
    /// Cells above this count go without per-cell values (a 12-head pattern of 241 tokens is
    /// 700 000 cells, 5 MB of numbers); the tooltip then shows labels only.
    static let maxHoverValues = 1_500_000

    /// The view of `scene` drawn as `png`; `id` makes element ids unique in a page.
    static func render(scene: Scene, png: PNGImage, id: String) -> String {
        var grids: [String] = [], boxes: [String] = []
        var attentionPanels = 0, gridCount = 0
        var cellTotal = 0
        for item in scene.items { if case .cells(let g) = item { cellTotal += g.rows * g.cols } }
        let withValues = cellTotal <= maxHoverValues
        for item in scene.items {
            switch item {
            case .cells(let g):
                gridCount += 1
                let h = g.source
                if h.yLabel == "query" && h.xLabel == "key" && h.rows == h.cols && !h.colLabels.isEmpty { attentionPanels += 1 }
                var fields = ["\"x\":\(g.x)", "\"y\":\(g.y)", "\"cw\":\(g.cellWidth)", "\"ch\":\(g.cellHeight)",
                              "\"rows\":\(g.rows)", "\"cols\":\(g.cols)",
                              "\"title\":\(json(singleLine(h.title)))",
                              "\"rn\":\(json(h.yLabel.isEmpty ? "row" : singleLine(h.yLabel)))",
                              "\"cn\":\(json(h.xLabel.isEmpty ? "column" : singleLine(h.xLabel)))",
                              "\"rl\":[\((0..<h.rows).map { json(singleLine(h.rowLabel($0))) }.joined(separator: ","))]",
                              "\"cl\":[\((0..<h.cols).map { json(singleLine(h.colLabel($0))) }.joined(separator: ","))]"]
                if withValues { fields.append("\"v\":[\(h.values.map(number).joined(separator: ","))]") }
                grids.append("{" + fields.joined(separator: ",") + "}")
            case let .rect(x, y, w, h, _, tooltip?):
                boxes.append("{\"x\":\(x),\"y\":\(y),\"w\":\(w),\"h\":\(h),\"t\":\(json(tooltip))}")
            case let .circle(cx, cy, r, _, tooltip?):
                let pad = max(r, 4)
                boxes.append("{\"x\":\(cx - pad),\"y\":\(cy - pad),\"w\":\(2 * pad),\"h\":\(2 * pad),\"t\":\(json(tooltip))}")
            default: break
            }
        }
        let attention = withValues && gridCount > 0 && attentionPanels == gridCount
        let data = "{\"width\":\(png.width),\"height\":\(png.height),\"attention\":\(attention),"
            + "\"grids\":[\(grids.joined(separator: ","))],\"boxes\":[\(boxes.joined(separator: ","))]}"
        let alt = SVGWriter.escape(scene.title.isEmpty ? "tlsh picture" : singleLine(scene.title))
        var out = "<div class=\"tlsh-view\" id=\"\(id)\" style=\"position:relative;max-width:100%\">\n"
        out += "<img src=\"data:image/png;base64,\(base64(png.bytes))\" width=\"\(png.width)\" height=\"\(png.height)\" "
        out += "alt=\"\(alt)\" title=\"\" style=\"max-width:100%;height:auto;display:block\">\n"
        if attention {
            out += "<div class=\"tlsh-tokens\" style=\"margin-top:6px;font:13px/1.9 monospace;max-width:100%\"></div>\n"
        }
        out += "<div class=\"tlsh-tip\" style=\"display:none;position:absolute;pointer-events:none;z-index:10;"
        out += "background:#fff;color:#222;border:1px solid #999;border-radius:3px;padding:2px 6px;"
        out += "font:12px sans-serif;white-space:pre;box-shadow:0 1px 4px rgba(0,0,0,.25)\"></div>\n"
        out += "<script type=\"application/json\" class=\"tlsh-data\">\(data.replacingOccurrences(of: "</", with: "<\\/"))</script>\n"
        out += "<script>\n" + script.replacingOccurrences(of: "@ID@", with: id) + "</script>\n</div>\n"
        return out
    }

    /// The hover and token-view code; `@ID@` is the view's element id. Plain ES5, no libraries.
    static let script = #"""
(function () {
  var root = document.getElementById("@ID@");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var d = JSON.parse(root.querySelector(".tlsh-data").textContent);
  var img = root.querySelector("img"), tip = root.querySelector(".tlsh-tip");
  function fmt(v) {
    if (v === null || v === undefined) return "";
    if (v === 0) return "0";
    var a = Math.abs(v);
    return (a >= 1e4 || a < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(4));
  }
  function cellAt(x, y) {
    for (var i = 0; i < d.grids.length; i++) {
      var g = d.grids[i];
      if (x < g.x || y < g.y || x >= g.x + g.cols * g.cw || y >= g.y + g.rows * g.ch) continue;
      var r = Math.floor((y - g.y) / g.ch), c = Math.floor((x - g.x) / g.cw);
      var t = (g.title ? g.title + "\n" : "") + g.rn + ": " + g.rl[r] + "\n" + g.cn + ": " + g.cl[c];
      if (g.v) t += "\nvalue: " + fmt(g.v[r * g.cols + c]);
      return t;
    }
    for (var j = 0; j < d.boxes.length; j++) {
      var b = d.boxes[j];
      if (x >= b.x && y >= b.y && x < b.x + b.w && y < b.y + b.h) return b.t;
    }
    return null;
  }
  function showTip(text, cx, cy) {
    var box = root.getBoundingClientRect();
    tip.textContent = text;
    tip.style.display = "block";
    var left = cx - box.left + 14, top = cy - box.top + 14;
    if (left + tip.offsetWidth > box.width) left = Math.max(0, cx - box.left - tip.offsetWidth - 8);
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }
  img.addEventListener("mousemove", function (e) {
    var r = img.getBoundingClientRect();
    var s = d.width / r.width;
    var t = cellAt((e.clientX - r.left) * s, (e.clientY - r.top) * s);
    if (t) showTip(t, e.clientX, e.clientY); else tip.style.display = "none";
  });
  img.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  if (!d.attention) return;

  // Token view: hover a token (the query) to colour each token by the attention it receives.
  var view = root.querySelector(".tlsh-tokens"), tokens = d.grids[0].cl, n = tokens.length;
  var head = -1, pinned = -1, spans = [];
  var bar = document.createElement("div");
  bar.style.marginBottom = "4px";
  var label = document.createElement("span");
  label.textContent = "heads: ";
  label.style.font = "12px sans-serif";
  bar.appendChild(label);
  var buttons = [];
  function button(text, h) {
    var b = document.createElement("button");
    b.textContent = text;
    b.style.cssText = "font:11px sans-serif;margin:0 2px 2px 0;padding:1px 5px;border:1px solid #999;border-radius:3px;cursor:pointer";
    b.addEventListener("click", function () { head = h; paintButtons(); paint(pinned >= 0 ? pinned : -1); });
    buttons.push([b, h]);
    bar.appendChild(b);
  }
  button(d.grids.length > 1 ? "max of all" : (d.grids[0].title || "pattern"), -1);
  if (d.grids.length > 1) for (var h = 0; h < d.grids.length; h++) button(d.grids[h].title || ("head " + h), h);
  function paintButtons() {
    for (var i = 0; i < buttons.length; i++) {
      var on = buttons[i][1] === head;
      buttons[i][0].style.background = on ? "#2563eb" : "#f4f4f4";
      buttons[i][0].style.color = on ? "#fff" : "#222";
    }
  }
  view.appendChild(bar);
  var hint = document.createElement("div");
  hint.style.font = "12px sans-serif";
  hint.style.color = "#555";
  view.appendChild(hint);
  var line = document.createElement("div");
  line.style.cssText = "display:flex;flex-wrap:wrap;row-gap:2px";  // long prompts wrap between tokens
  view.appendChild(line);
  function weight(q, k) {
    if (head >= 0) return d.grids[head].v[q * n + k];
    var m = 0;
    for (var h = 0; h < d.grids.length; h++) m = Math.max(m, d.grids[h].v[q * n + k]);
    return m;
  }
  function paint(q) {
    for (var k = 0; k < n; k++) {
      var s = spans[k], w = q >= 0 ? weight(q, k) : 0;
      w = isFinite(w) ? Math.max(0, Math.min(1, w)) : 0;
      s.style.background = q >= 0 ? "rgba(37,99,235," + w.toFixed(3) + ")" : "transparent";
      s.style.color = w > 0.55 ? "#fff" : "#222";
      s.style.outline = k === q ? "2px solid #f59e0b" : "none";
      s.title = q >= 0 ? "position " + k + ": " + tokens[k] + "\nattention from " + tokens[q] + ": " + fmt(q >= 0 ? weight(q, k) : 0) : "position " + k;
    }
    if (q < 0) { hint.textContent = "hover a token to see what it attends to; click to pin it"; return; }
    var best = [];
    for (var j = 0; j < n; j++) best.push(j);
    best.sort(function (a, b) { return weight(q, b) - weight(q, a); });
    hint.textContent = "position " + q + " " + tokens[q] + (pinned >= 0 ? " (pinned)" : "") + " attends most to: " +
      best.slice(0, 3).map(function (j) { return tokens[j] + " (" + j + ") " + fmt(weight(q, j)); }).join(", ");
  }
  for (var k = 0; k < n; k++) (function (k) {
    var s = document.createElement("span");
    s.textContent = tokens[k];
    s.style.cssText = "padding:1px 2px;margin:0 1px;border-radius:2px;cursor:pointer;white-space:pre";
    s.addEventListener("mouseenter", function () { if (pinned < 0) paint(k); });
    s.addEventListener("click", function () { pinned = pinned === k ? -1 : k; paint(pinned >= 0 ? pinned : k); });
    spans.push(s);
    line.appendChild(s);
  })(k);
  line.addEventListener("mouseleave", function () { if (pinned < 0) paint(-1); });
  paintButtons();
  paint(-1);
})();
"""#

    /// A JSON string literal.
    static func json(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<": out += "\\u003c"  // never `</script>` inside the JSON block
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// A value for the hover data: 4 significant digits (what the tooltip shows); null for NaN.
    static func number(_ v: Float) -> String {
        guard v.isFinite else { return "null" }
        if v == 0 { return "0" }
        return String(format: "%.4g", Double(v))
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}

/// A picture for a notebook: the PNG (the fallback image/png) and the interactive HTML view that
/// embeds the same PNG.
public struct InteractiveRendering: Sendable {
    public var png: PNGImage
    public var html: String
}

extension ScenePicture {
    public func renderInteractive(fonts: FontSet, id: String) throws -> InteractiveRendering {
        try validate()
        let scene = scene(fonts: fonts)
        let canvas = Rasterizer.draw(scene, fonts: fonts)
        let png = try PNGEncoder.encode(pixels: canvas.pixels, width: canvas.width, height: canvas.height)
        return InteractiveRendering(png: png, html: HTMLView.render(scene: scene, png: png, id: id))
    }
}
