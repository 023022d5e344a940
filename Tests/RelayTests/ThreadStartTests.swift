#if os(Linux)
import Glibc
import Synchronization
import Testing

@testable import Relay

/// A thread the relay cannot create (the process or the system at its thread limit) is an error
/// its caller reports, never a trap.
struct ThreadStartTests {
    @Test func aThreadThatCannotBeCreatedIsAThrownErrorAndItsWorkIsReleasedUnrun() {
        final class Probe: Sendable {
            let ran = Atomic<Bool>(false)
        }
        weak var released: Probe?
        do {
            let probe = Probe()
            released = probe
            #expect(throws: SystemCallError.self) {
                _ = try TargetResolver.spawn(
                    { probe.ran.store(true, ordering: .relaxed) },
                    create: { _, _, _, _ in EAGAIN }
                )
            }
            let ran = probe.ran.load(ordering: .relaxed)
            #expect(!ran)
        }
        #expect(released == nil, "the closure handed to the thread that never started is freed")
    }

    @Test func theErrorNamesTheCallAndTheReason() {
        do {
            _ = try TargetResolver.spawn({}, create: { _, _, _, _ in EAGAIN })
            Issue.record("no error")
        } catch {
            #expect(error.code == EAGAIN)
            #expect(error.description.hasPrefix("pthread_create: "))
        }
    }

    @Test func detachedWorkRunsOnTheCallersThreadWhenNoThreadCanBeCreated() {
        let caller = pthread_self()
        let ranOn = Mutex<pthread_t?>(nil)
        TargetResolver.detached({ ranOn.withLock { $0 = pthread_self() } }, create: { _, _, _, _ in EAGAIN })
        let thread = ranOn.withLock { $0 }
        #expect(thread.map { pthread_equal($0, caller) != 0 } == true)
    }
}
#endif
