import Glibc

/// A closure handed to a new pthread.
private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

private final class ValueBox<T>: @unchecked Sendable {
    var value: T?
}

/// Runs a closure on its own pthread (the relay under test), so the test thread can play
/// the peers with blocking I/O. Tests only: the library itself never starts threads.
public final class Background<T>: @unchecked Sendable {
    private var thread = pthread_t()
    private let box = ValueBox<T>()

    public init(_ body: @escaping () -> T) {
        let box = self.box
        let raw = Unmanaged.passRetained(ThreadBody { box.value = body() }).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, raw)
        precondition(rc == 0, "pthread_create failed")
    }

    public func join() -> T {
        pthread_join(thread, nil)
        return box.value!
    }
}
