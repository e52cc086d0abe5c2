import ConvergeWire
import Testing

@Suite struct DurationTextTests {
    @Test func wholeSecondsInTheFlagsUnits() {
        #expect(DurationText.of(seconds: 0) == "0s")
        #expect(DurationText.of(seconds: 90) == "1m30s")
        #expect(DurationText.of(seconds: 5400) == "1h30m")
        #expect(DurationText.of(seconds: 86400) == "1d")
        #expect(DurationText.of(seconds: 93784) == "1d2h3m4s")
    }

    @Test func fractionsAreRounded() {
        #expect(DurationText.of(90) == "1m30s")
        #expect(DurationText.of(1800) == "30m")
        #expect(DurationText.of(3) == "3s")
        #expect(DurationText.of(0.2) == "0s")
        #expect(DurationText.of(-5) == "0s")
    }

    @Test func retryDelaysAreInTenthsBelowTenSeconds() {
        #expect(DurationText.of(0.375, tenths: true) == "0.4s")
        #expect(DurationText.of(8, tenths: true) == "8.0s")
        #expect(DurationText.of(30, tenths: true) == "30s")
        #expect(DurationText.of(300, tenths: true) == "5m")
    }
}
