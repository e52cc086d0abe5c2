// swift-tools-version:6.0
import PackageDescription

// System libraries are linked by name here; `make dist` adds the static archives.
let package = Package(
    name: "Converge",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "converge", targets: ["converge"]),
        .executable(name: "agent", targets: ["agent"]),
        .executable(name: "wsproxy", targets: ["wsproxy"]),
        .executable(name: "tcptows", targets: ["tcptows"]),
        // For the fuzz package in Fuzz/ (a separate package, so its sanitizer flags stay there).
        .library(name: "ConvergeWire", targets: ["ConvergeWire"]),
        .library(name: "ConvergeNet", targets: ["ConvergeNet"]),
        .library(name: "ConvergeClient", targets: ["ConvergeClient"]),
        .library(name: "ConvergeServer", targets: ["ConvergeServer"]),
        .library(name: "ConvergeAgent", targets: ["ConvergeAgent"]),
        .library(name: "ConvergeSSH", targets: ["ConvergeSSH"]),
        .library(name: "ConvergeJump", targets: ["ConvergeJump"]),
        .library(name: "ConvergeSFTP", targets: ["ConvergeSFTP"]),
        .library(name: "ConvergeCommandLine", targets: ["ConvergeCommandLine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // C: what Swift cannot reach safely (fd passing, forkpty, libssh callbacks, proctitle).
        .target(name: "CShims", path: "CShims", linkerSettings: [.linkedLibrary("bsd"), .linkedLibrary("ssh")]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        .systemLibrary(name: "CLibSSH", path: "Sources/CLibSSH"),

        // Pure protocol code: bytes in, values or typed errors out. No I/O.
        .target(name: "ConvergeWire", dependencies: ["COpenSSL"]),
        .target(name: "ConvergeSFTP", dependencies: [
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Sockets, poll, TLS, HTTP CONNECT, fd passing.
        .target(name: "ConvergeNet", dependencies: [
            "CShims", "COpenSSL", "ConvergeWire",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Dialing a ws[s]:// URL and relaying a byte stream over it (wsproxy, tcptows, agent).
        .target(name: "ConvergeClient", dependencies: ["COpenSSL", "ConvergeNet", "ConvergeWire"]),
        // libssh server foundations shared by the agent and the server's jump host.
        .target(name: "ConvergeSSH", dependencies: ["CShims", "CLibSSH", "COpenSSL", "ConvergeWire"]),
        // The jump host process (ssh -J): libssh's server on one connection, channels relayed to agents.
        .target(name: "ConvergeJump", dependencies: [
            "CShims", "CLibSSH", "ConvergeClient", "ConvergeNet", "ConvergeSSH", "ConvergeWire",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "ConvergeServer", dependencies: [
            "ConvergeNet", "ConvergeWire", "ConvergeJump", "ConvergeSSH", "CShims", "COpenSSL",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "ConvergeAgent", dependencies: [
            "CShims", "CLibSSH", "COpenSSL", "ConvergeClient", "ConvergeNet", "ConvergeSSH", "ConvergeWire", "ConvergeSFTP",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Shared by the four command lines: durations, exit codes, usage errors, the build's version.
        .target(name: "ConvergeCommandLine", dependencies: [
            "CShims", "ConvergeWire",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "converge", dependencies: ["ConvergeServer", "ConvergeJump", "ConvergeCommandLine", "CShims"]),
        .executableTarget(name: "agent", dependencies: ["ConvergeAgent", "ConvergeCommandLine"]),
        .executableTarget(name: "wsproxy", dependencies: ["ConvergeClient", "ConvergeCommandLine"]),
        .executableTarget(name: "tcptows", dependencies: ["ConvergeClient", "ConvergeCommandLine"]),

        // Test harnesses (never shipped): drive one layer with the real OpenSSH tools.
        // `sftp -D` runs the SFTP server over stdio; the SSH harness serves sessions on a TCP port.
        .executableTarget(name: "sftp-stdio-harness", dependencies: ["ConvergeSFTP"], path: "Tests/Harness/sftp-stdio"),
        .executableTarget(name: "ssh-session-harness", dependencies: ["ConvergeAgent", "ConvergeCommandLine"], path: "Tests/Harness/ssh-session",
                          exclude: ["check.sh"]),

        // Threads and socket peers for the tests that drive a pump from the outside.
        .target(name: "ConvergeTestSupport", dependencies: ["ConvergeNet", "ConvergeWire"], path: "Tests/Support"),

        .testTarget(name: "ConvergeWireTests", dependencies: ["ConvergeWire"]),
        .testTarget(name: "ConvergeNetTests", dependencies: ["ConvergeNet", "ConvergeWire", "ConvergeTestSupport"]),
        .testTarget(name: "ConvergeClientTests", dependencies: ["ConvergeClient", "ConvergeNet", "ConvergeWire", "ConvergeTestSupport"]),
        .testTarget(name: "ConvergeCommandLineTests", dependencies: ["ConvergeCommandLine"]),
        .testTarget(name: "ConvergeSFTPTests", dependencies: ["ConvergeSFTP"]),
        .testTarget(name: "ConvergeAgentTests", dependencies: ["ConvergeAgent"]),
        .testTarget(name: "ConvergeServerTests", dependencies: ["ConvergeServer", "ConvergeNet", "ConvergeWire", "ConvergeTestSupport"]),
        .testTarget(name: "ConvergeSSHTests", dependencies: ["ConvergeSSH"]),
        .testTarget(name: "ConvergeJumpTests", dependencies: ["ConvergeJump"]),
    ]
)
