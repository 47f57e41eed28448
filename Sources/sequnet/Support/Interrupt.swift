import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM, polled by long loops. The handler only stores to
/// a lock-free atomic: nothing else is async-signal-safe.
private let interruptFlag = Atomic<Int32>(0)

/// Cooperative interruption: long-running commands install the handler, poll
/// `requested` every few hundred samples (and while priming), then finish
/// their output cleanly (a complete WAV, a flushed pipe) instead of dying
/// mid-write. SIGQUIT stops them the same way.
enum Interrupt {
    /// Gives SIGQUIT its default action (quit) back from the Swift runtime's
    /// crash reporter, which would print a crash report and let the program
    /// go on. Commands that install the handler make it a clean stop instead.
    static func restoreQuitSignal() {
        signal(SIGQUIT, SIG_DFL)
    }

    /// Installs the SIGINT, SIGTERM and SIGQUIT handlers. Idempotent.
    static func install() {
        _ = interruptFlag.load(ordering: .relaxed)   // initialise the global before any signal can arrive
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            interruptFlag.store(signal, ordering: .relaxed)
        }
        sigemptyset(&action.sa_mask)
        // No SA_RESTART: a write blocked on a stalled pipe returns EINTR,
        // and RawOutput retries it, so the loop gets to see the flag.
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGQUIT, &action, nil)
    }

    /// Whether a stop was requested.
    static var requested: Bool { interruptFlag.load(ordering: .relaxed) != 0 }

    /// "SIGINT" or "SIGTERM" for messages.
    static var signalName: String {
        switch interruptFlag.load(ordering: .relaxed) {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGQUIT: return "SIGQUIT"
        default: return "signal"
        }
    }
}
