import CLibFuzzer
import Glibc

/// Runs libFuzzer on `testOneInput` with this process's arguments, then exits.
///
/// SwiftPM gives every executable target its own entry point and links `main` to it
/// (`--defsym main=<module>_main`), so libFuzzer's `main` is never used: each target's
/// main.swift calls this instead.
public func runLibFuzzer(_ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}
