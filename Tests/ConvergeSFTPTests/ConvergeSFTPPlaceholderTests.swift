import Testing
@testable import ConvergeSFTP
@Test func placeholder() { #expect(Bool(true)) }
