// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for every parser that reads bytes from the network or a file.
// A package of its own, so the sanitizer flags never reach the root package's builds:
//   swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
// (scripts/fuzz.sh does that; -enable-testing lets targets reach internal parsers with
// @testable import). Each target exports LLVMFuzzerTestOneInput; its main.swift hands it
// to libFuzzer's driver (SwiftPM links `main` to the target's own entry point, so
// libFuzzer's main cannot be used).
func converge(_ modules: String...) -> [Target.Dependency] {
    ["FuzzSupport"] + modules.map { .product(name: $0, package: "Converge") }
}

let package = Package(
    name: "ConvergeFuzz",
    dependencies: [.package(name: "Converge", path: "..")],
    targets: [
        // Reading the fuzzer's input, scripted streams, invariant checks, starting libFuzzer.
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "ConvergeNet", package: "Converge")]),
        .systemLibrary(name: "CLibFuzzer"),

        .executableTarget(name: "fuzz-http-request", dependencies: converge("ConvergeWire", "ConvergeServer")),
        .executableTarget(name: "fuzz-http-response", dependencies: converge("ConvergeWire", "ConvergeNet", "ConvergeClient")),
        .executableTarget(name: "fuzz-http-body", dependencies: converge("ConvergeWire")),
        .executableTarget(name: "fuzz-websocket", dependencies: converge("ConvergeWire", "ConvergeNet", "ConvergeClient")),
        .executableTarget(name: "fuzz-agent-leg", dependencies: converge("ConvergeWire", "ConvergeServer", "ConvergeAgent")),
        .executableTarget(name: "fuzz-sftp", dependencies: converge("ConvergeSFTP")),
        .executableTarget(name: "fuzz-authorized-keys", dependencies: converge("ConvergeWire", "ConvergeAgent")),
        .executableTarget(name: "fuzz-urls", dependencies: converge("ConvergeWire", "ConvergeNet", "ConvergeClient", "ConvergeAgent", "ConvergeCommandLine")),
        .executableTarget(name: "fuzz-secrets", dependencies: converge("ConvergeWire", "ConvergeServer")),
    ]
)
