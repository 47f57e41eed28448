/// A one-line progress display on stderr, redrawn at most ten times a
/// second, and only when stderr is a terminal (logs and pipes stay clean).
struct ProgressLine {
    let label: String
    /// Total samples, or nil for an open-ended run.
    let total: Int?
    /// Steps per second of real time (audio), or nil where steps are not timed.
    let sampleRate: Int?
    /// What a step is called, plural ("samples", "frames").
    let steps: String
    let enabled: Bool
    private let start = now()
    private var lastDraw = 0.0

    init(label: String, total: Int?, sampleRate: Int?, steps: String = "samples", enabled: Bool = Console.stderrIsTerminal) {
        self.label = label
        self.total = total
        self.sampleRate = sampleRate
        self.steps = steps
        self.enabled = enabled
    }

    /// Redraws if enough time passed since the last redraw.
    mutating func update(done: Int) {
        guard enabled else { return }
        let t = now()
        guard t - lastDraw >= 0.1 else { return }
        lastDraw = t
        draw(done: done, elapsed: t - start)
    }

    /// Draws the final state and ends the line.
    mutating func finish(done: Int) {
        guard enabled else { return }
        draw(done: done, elapsed: now() - start)
        Console.errorRaw("\n")
    }

    private func draw(done: Int, elapsed: Double) {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let realtime = sampleRate.map { String(format: "  %.2fx real time", rate / Double($0)) } ?? ""
        // One terminal row, never wrapped (a wrapped line leaves a new line at
        // every redraw): the bar goes first, then the text is cut to fit.
        let columns = Console.stderrColumns - 1
        var text: String
        if let total, total > 0 {
            let counts = "\(grouped(done))/\(grouped(total))"
            let eta = rate > 0 ? Double(total - done) / rate : .infinity
            let figures = String(format: "  %.0f %@/s%@  ETA %@", rate, steps, realtime, clock(eta))
            let barWidth = min(24, columns - label.count - counts.count - figures.count - 4)
            var bar = ""
            if barWidth >= 8 {
                let filled = Int(min(1, Double(done) / Double(total)) * Double(barWidth))
                bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "] "
            }
            text = "\(label) \(bar)\(counts)\(figures)"
        } else {
            text = "\(label) " + String(format: "%@ %@  %.0f %@/s%@", grouped(done), steps, rate, steps, realtime)
        }
        if text.count > columns { text = String(text.prefix(max(columns, 0))) }
        Console.errorRaw("\r" + text + "\u{1B}[K")   // clear leftovers of a longer previous line
    }

    private func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}
