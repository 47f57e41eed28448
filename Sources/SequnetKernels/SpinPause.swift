// The spin-wait hint, for the threads of one stream's `RowTeam`.

import Builtin

/// Tells the core that the caller is spinning on a flag (`pause` on x86):
/// the loop stops issuing loads as fast as it can, which frees the core's
/// other hardware thread (a VM's two "cores" may be one core's two) and
/// avoids the memory-order flush when the flag finally changes. It holds
/// only this one instruction, so it runs on any x86-64 CPU.
@inline(never)
public func spinPause() {
    #if arch(x86_64)
    Builtin.int_x86_sse2_pause()
    #endif
}
