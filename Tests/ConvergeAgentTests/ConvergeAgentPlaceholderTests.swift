import Testing
@testable import ConvergeAgent
@Test func placeholder() { #expect(Bool(true)) }
