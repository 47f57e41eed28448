import Foundation
import Histogram

/// Latency percentiles in microseconds.
public struct LatencySummary: Encodable, Sendable {
    public let p50, p90, p99, p999, max, mean: Double

    public init(_ h: Histogram<UInt64>) {
        p50 = Double(h.valueAtPercentile(50)) / 1000
        p90 = Double(h.valueAtPercentile(90)) / 1000
        p99 = Double(h.valueAtPercentile(99)) / 1000
        p999 = Double(h.valueAtPercentile(99.9)) / 1000
        max = Double(h.max) / 1000
        mean = h.mean / 1000
    }
}

/// A log-scale per-step latency histogram as a self-contained SVG picture.
public func latencyHistogramSVG(_ h: Histogram<UInt64>, title: String) -> String {
    // Buckets: powers of 2^(1/4) microseconds between the min and max seen.
    let lo = max(Double(h.min) / 1000, 0.1), hi = max(Double(h.max) / 1000, lo * 2)
    let edges = stride(from: log2(lo), through: log2(hi) + 0.25, by: 0.25).map { pow(2, $0) }
    var counts = [UInt64](repeating: 0, count: edges.count)
    for bucket in h.recordedValues() {
        let us = Double(bucket.value) / 1000
        let index = min(max(Int(((log2(max(us, lo)) - log2(lo)) / 0.25).rounded(.down)), 0), counts.count - 1)
        counts[index] += UInt64(bucket.count)
    }
    let width = 720.0, height = 360.0, left = 60.0, bottom = 40.0, top = 40.0
    let plotW = width - left - 20, plotH = height - top - bottom
    let peak = Double(counts.max() ?? 1)
    let barW = plotW / Double(counts.count)
    var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="24" font-size="14">\(title.replacingOccurrences(of: "<", with: "&lt;")) (log count)</text>

        """
    for (i, c) in counts.enumerated() where c > 0 {
        let hBar = log10(Double(c) + 1) / log10(peak + 1) * plotH
        svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b6ea5\"/>\n",
                      left + Double(i) * barW, top + plotH - hBar, max(barW - 1, 1), hBar)
    }
    for i in stride(from: 0, to: counts.count, by: max(1, counts.count / 8)) {
        svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
                      left + Double(i) * barW, height - bottom + 16, edges[i])
    }
    for p in [50.0, 99.0, 99.9] {
        let us = Double(h.valueAtPercentile(p)) / 1000
        let x = left + (log2(max(us, lo)) - log2(lo)) / 0.25 * barW
        svg += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" stroke-dasharray=\"4 3\"/>\n<text x=\"%.1f\" y=\"%.1f\" fill=\"#c0392b\">p%@ %.1f us</text>\n",
                      x, x, top, top + plotH, x + 3, top + 12 + (p == 50 ? 0 : p == 99 ? 14 : 28),
                      p == 99.9 ? "99.9" : String(Int(p)), us)
    }
    svg += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\">per-sample latency (us, log scale)</text>\n</svg>\n"
    return svg
}
