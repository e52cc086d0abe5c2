import Testing
@testable import ConvergeServer
@Test func placeholder() { #expect(Bool(true)) }
