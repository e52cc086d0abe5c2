import Testing
@testable import ConvergeWire
@Test func placeholder() { #expect(Bool(true)) }
