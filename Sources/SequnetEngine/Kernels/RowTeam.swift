import Synchronization
import SequnetKernels
#if canImport(Glibc)
import Glibc
#endif

/// Persistent threads that share the rows of every product of one stream
/// state: the caller's thread and `threads - 1` workers each compute a fixed
/// share of each matrix's panels, so each thread keeps reading the same
/// weights and they stay in its core's cache. No thread is created per
/// step and no library threading is involved.
///
/// Workers spin while products come in quick succession and park on a
/// condition variable after about a tenth of a millisecond without work, so
/// an idle team costs no CPU. Every row is summed by the same kernel code
/// whichever thread runs it, so the output bytes do not depend on the
/// number of threads.
public final class RowTeam: @unchecked Sendable {
    /// Threads computing each product, the caller's included.
    public let threads: Int

    /// Products smaller than this (multiply-adds, all streams of a batch
    /// together) run on the caller's thread alone: waking a worker would cost
    /// more than it saves. Indexed by `PanelFormat` (fp32, bf16, int8): an
    /// int8 multiply-add costs about half an fp32 one, so int8 shares from
    /// twice the size. Set by measurement on the bundled model and the paper
    /// WaveNet, whose products are small (see the README's "Two threads on
    /// one stream"). Tests set it to zeros to share out every product.
    nonisolated(unsafe) static var minimumSharedWork = SIMD3<Int>(32_768, 32_768, 65_536)

    private let job = UnsafeMutablePointer<PanelJob>.allocate(capacity: 1)
    /// Bumped for each posted job (and once more to stop).
    private let posted = Atomic<Int>(0)
    /// Workers still computing the current job.
    private let remaining = Atomic<Int>(0)
    /// Workers parked on `wake`.
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var workers: [pthread_t] = []

    /// A team of `threads` (at least 1; 1 runs everything on the caller's thread).
    public init(threads: Int) {
        precondition(threads >= 1)
        self.threads = threads
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for index in 1..<max(threads, 1) {
            let context = Unmanaged.passRetained(WorkerContext(team: self, index: index)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.team.work(index: context.index)
                return nil
            }, context)
            precondition(status == 0, "cannot start a worker thread (error \(status))")
            workers.append(thread)
        }
    }

    /// Workers hold the team only through this unowned reference: the team's
    /// owner decides its lifetime, and `deinit` joins them.
    private final class WorkerContext {
        unowned(unsafe) let team: RowTeam
        let index: Int
        init(team: RowTeam, index: Int) { (self.team, self.index) = (team, index) }
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        posted.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for thread in workers { pthread_join(thread, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        wake.deallocate()
        job.deallocate()
    }

    /// The panels thread `index` of `threads` computes: a fixed, contiguous share.
    @inline(__always)
    static func share(_ index: Int, of threads: Int, panels: Int) -> Range<Int> {
        (index * panels / threads)..<((index + 1) * panels / threads)
    }

    /// Runs `product` with every thread on its share, and returns when all are done.
    @inline(__always)
    func run(_ product: PanelJob) {
        let panels = product.matrix.panelCount
        if threads == 1 || product.matrix.rows * product.matrix.columns * product.batch < Self.minimumSharedWork[product.matrix.format] {
            product.run(panels: 0..<panels)
            return
        }
        job.pointee = product
        remaining.store(threads - 1, ordering: .relaxed)
        posted.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
        product.run(panels: Self.share(0, of: threads, panels: panels))
        // A worker normally finishes within microseconds; if it has lost its
        // core (more threads than cores), give the core back while waiting.
        var spins = 0
        while remaining.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins >= 1 << 14 { sched_yield() }
        }
    }

    private func work(index: Int) {
        var seen = 0
        while true {
            var generation = posted.load(ordering: .acquiring)
            var spins = 0
            while generation == seen {
                spins += 1
                spinPause()
                if spins == 1 << 12 {   // about 0.1 ms of pauses (25-40 ns each)
                    park(seen: seen)
                    spins = 0
                }
                generation = posted.load(ordering: .acquiring)
            }
            seen = generation
            if stopping.load(ordering: .acquiring) { return }
            let product = job.pointee
            product.run(panels: Self.share(index, of: threads, panels: product.matrix.panelCount))
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// Sleeps until a job after `seen` is posted. The poster checks
    /// `sleepers` after posting and the sleeper re-checks `posted` after
    /// counting itself in, both sequentially consistent, so a wake-up is
    /// never missed.
    private func park(seen: Int) {
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        while posted.load(ordering: .sequentiallyConsistent) == seen {
            pthread_cond_wait(wake, mutex)
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
    }
}
