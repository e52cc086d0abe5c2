import Testing
@testable import ConvergeWire

/// Drives a decoder the way a relay does: appends each chunk to what was left over,
/// decodes, collects data (unmasked in place) and control frames, keeps the rest.
private struct Driver {
    var decoder: WebSocketDecoder
    var pending: [UInt8] = []
    var data: [UInt8] = []
    var controls: [Control] = []
    var problems: [String] = []

    struct Control: Equatable {
        var opcode: WebSocketOpcode
        var payload: [UInt8]
    }

    init(_ masking: WebSocketDecoder.Masking, maxFrameSize: UInt64 = 1 << 24) {
        decoder = WebSocketDecoder(masking: masking, maxFrameSize: maxFrameSize)
    }

    mutating func feed(_ chunk: [UInt8]) throws {
        pending += chunk
        var events: [WebSocketDecoder.Event] = []
        var decoder = self.decoder
        let used = try pending.withUnsafeMutableBytes { try decoder.decode($0, into: &events) }
        self.decoder = decoder
        // Plain checks, not #expect: this runs once per byte in the byte-by-byte tests.
        if used > pending.count { problems.append("used \(used) of \(pending.count) bytes") }
        var lastEnd = 0
        for event in events {
            switch event {
            case .data(let range):
                if range.lowerBound < lastEnd || range.upperBound > used || range.isEmpty {
                    problems.append("bad range \(range), used \(used)")
                }
                lastEnd = range.upperBound
                data += pending[range]
            case .control(let opcode, let payload):
                if !opcode.isControl { problems.append("control event for \(opcode)") }
                controls.append(Control(opcode: opcode, payload: payload))
            }
        }
        pending.removeFirst(used)
    }

    mutating func feed(_ chunks: [[UInt8]]) throws {
        for chunk in chunks { try feed(chunk) }
    }
}

private func frame(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true, mask: UInt32? = nil) -> [UInt8] {
    var bytes = WebSocketFrameHeader(fin: fin, opcode: opcode, maskKey: mask, payloadLength: UInt64(payload.count)).encoded
    bytes += mask.map { referenceMask(payload, key: $0) } ?? payload
    return bytes
}

private func decodeError(_ masking: WebSocketDecoder.Masking, _ bytes: [UInt8], maxFrameSize: UInt64 = 1 << 24) -> WebSocketError? {
    var driver = Driver(masking, maxFrameSize: maxFrameSize)
    do {
        try driver.feed(bytes)
        return nil
    } catch {
        return error as? WebSocketError
    }
}

@Suite struct WebSocketDecoderTests {
    @Test func decodesMaskedDataAndControlFrames() throws {
        var driver = Driver(.required)
        try driver.feed(frame(.binary, [1, 2, 3, 4, 5], mask: 0x37fa_213d) + frame(.ping, Array("hi".utf8), mask: 9)
                        + frame(.text, Array("Hello".utf8), mask: 0xFFFF_0000))
        #expect(driver.data == [1, 2, 3, 4, 5] + Array("Hello".utf8))
        #expect(driver.controls == [.init(opcode: .ping, payload: Array("hi".utf8))])
        #expect(driver.pending.isEmpty)
    }

    @Test func dataRangesPointIntoTheBufferPastHeaders() throws {
        var decoder = WebSocketDecoder(masking: .forbidden)
        var bytes = frame(.binary, [10, 11]) + frame(.binary, [20]) + frame(.pong, [7]) + frame(.binary, [30, 31, 32])
        var events: [WebSocketDecoder.Event] = []
        let used = try bytes.withUnsafeMutableBytes { try decoder.decode($0, into: &events) }
        #expect(used == bytes.count)
        #expect(events == [.data(2..<4), .data(6..<7), .control(.pong, [7]), .data(12..<15)])
    }

    @Test func rfcMaskedHelloIsUnmaskedInPlace() throws {
        var decoder = WebSocketDecoder(masking: .required)
        var bytes: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        var events: [WebSocketDecoder.Event] = []
        let used = try bytes.withUnsafeMutableBytes { try decoder.decode($0, into: &events) }
        #expect(used == 11)
        #expect(events == [.data(6..<11)])
        #expect(Array(bytes[6...]) == Array("Hello".utf8))
    }

    // MARK: masking rules

    @Test func requiredRejectsUnmaskedFrames() {
        #expect(decodeError(.required, frame(.binary, [1])) != nil)
        #expect(decodeError(.required, frame(.ping, [])) != nil)
        #expect(decodeError(.required, frame(.close, [3, 0xE8])) != nil)
        #expect(decodeError(.required, frame(.binary, [1], mask: 1)) == nil)
    }

    @Test func forbiddenRejectsMaskedFrames() {
        #expect(decodeError(.forbidden, frame(.binary, [1], mask: 0)) != nil)
        #expect(decodeError(.forbidden, frame(.pong, [], mask: 5)) != nil)
        #expect(decodeError(.forbidden, frame(.binary, [1])) == nil)
    }

    @Test func anyAcceptsBothEvenMixed() throws {
        var driver = Driver(.any)
        try driver.feed(frame(.binary, [1, 2], mask: 0xAABB_CCDD) + frame(.binary, [3, 4]) + frame(.ping, [5], mask: 1) + frame(.ping, [6]))
        #expect(driver.data == [1, 2, 3, 4])
        #expect(driver.controls.map(\.payload) == [[5], [6]])
    }

    @Test func maskingIsCheckedBeforeThePayloadArrives() {
        // The header alone shows the violation: no need to wait for the payload.
        #expect(decodeError(.required, [0x82, 0x7E, 0x10, 0x00]) != nil)
        #expect(decodeError(.forbidden, [0x89, 0x85, 1, 2, 3, 4]) != nil)
    }

    // MARK: fragmentation

    @Test func fragmentedMessageWithControlFramesInBetween() throws {
        var driver = Driver(.required)
        try driver.feed(frame(.text, Array("Hel".utf8), fin: false, mask: 1)
                        + frame(.ping, Array("p1".utf8), mask: 2)
                        + frame(.continuation, Array("l".utf8), fin: false, mask: 3)
                        + frame(.pong, [], mask: 4)
                        + frame(.close, [0x03, 0xE8], mask: 5)
                        + frame(.continuation, Array("o".utf8), mask: 6))
        #expect(driver.data == Array("Hello".utf8))
        #expect(driver.controls == [.init(opcode: .ping, payload: Array("p1".utf8)), .init(opcode: .pong, payload: []),
                                    .init(opcode: .close, payload: [0x03, 0xE8])])
    }

    @Test func aNewMessageMayStartAfterTheLastFragment() throws {
        var driver = Driver(.forbidden)
        try driver.feed(frame(.binary, [1], fin: false) + frame(.continuation, [2]) + frame(.binary, [3])
                        + frame(.text, [4], fin: false) + frame(.continuation, [], fin: false) + frame(.continuation, [5]))
        #expect(driver.data == [1, 2, 3, 4, 5])
    }

    @Test func continuationWithoutAStartIsRejected() {
        #expect(decodeError(.forbidden, frame(.continuation, [1]))?.closeCode == WebSocketCloseCode.protocolError)
        #expect(decodeError(.forbidden, frame(.continuation, [1], fin: false)) != nil)
        #expect(decodeError(.forbidden, frame(.binary, [1]) + frame(.continuation, [2])) != nil)
        #expect(decodeError(.forbidden, frame(.binary, [1], fin: false) + frame(.continuation, [2]) + frame(.continuation, [3])) != nil)
    }

    @Test func newDataFrameInsideAFragmentedMessageIsRejected() {
        #expect(decodeError(.forbidden, frame(.binary, [1], fin: false) + frame(.binary, [2]))?.closeCode == WebSocketCloseCode.protocolError)
        #expect(decodeError(.forbidden, frame(.text, [1], fin: false) + frame(.ping, []) + frame(.text, [2])) != nil)
        #expect(decodeError(.required, frame(.binary, [1], fin: false, mask: 1) + frame(.continuation, [2], fin: false, mask: 1)
                            + frame(.binary, [3], mask: 1)) != nil)
    }

    // MARK: control frames

    @Test func closeWithOneBytePayloadIsRejected() {
        #expect(decodeError(.forbidden, frame(.close, [0x03]))?.closeCode == WebSocketCloseCode.protocolError)
        #expect(decodeError(.required, frame(.close, [0x03], mask: 0x1234_5678)) != nil)
    }

    @Test func closeWithNoneOrTwoOrMoreBytes() throws {
        var driver = Driver(.forbidden)
        try driver.feed(frame(.close, []) + frame(.close, [0x03, 0xE8]) + frame(.close, [0x03, 0xE9, 0x62, 0x79, 0x65]))
        #expect(driver.controls.map(\.payload) == [[], [0x03, 0xE8], [0x03, 0xE9, 0x62, 0x79, 0x65]])
    }

    @Test func controlFramesUpTo125BytesAreWholeAndUnmasked() throws {
        var random = TestRandom(seed: 125)
        let payload = random.bytes(125)
        var driver = Driver(.required)
        try driver.feed(frame(.ping, payload, mask: 0xDEAD_BEEF))
        #expect(driver.controls == [.init(opcode: .ping, payload: payload)])
    }

    @Test func oversizedOrFragmentedControlFramesAreRejected() {
        #expect(decodeError(.forbidden, [0x89, 0x7E, 0x00, 0x7E] + [UInt8](repeating: 0, count: 126)) != nil)
        #expect(decodeError(.forbidden, [0x09, 0x00]) != nil)
        #expect(decodeError(.forbidden, frame(.binary, [1], fin: false) + [0x0A, 0x00]) != nil)
    }

    @Test func partialControlFrameIsLeftForLater() throws {
        var driver = Driver(.forbidden)
        let ping = frame(.ping, Array("abcdef".utf8))
        try driver.feed(frame(.binary, [1, 2]) + Array(ping[..<5]))
        #expect(driver.data == [1, 2])
        #expect(driver.controls.isEmpty)
        #expect(driver.pending == Array(ping[..<5]))
        try driver.feed(Array(ping[5...]))
        #expect(driver.controls == [.init(opcode: .ping, payload: Array("abcdef".utf8))])
        #expect(driver.pending.isEmpty)
    }

    // MARK: reserved bits and opcodes, limits

    @Test func headerViolationsAreRejected() {
        #expect(decodeError(.forbidden, [0xC2, 0x00]) != nil)  // RSV1
        #expect(decodeError(.forbidden, [0x83, 0x00]) != nil)  // opcode 3
        #expect(decodeError(.forbidden, [0x8B, 0x00]) != nil)  // opcode 0xB
        #expect(decodeError(.forbidden, [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]) != nil)  // 2^63
        #expect(decodeError(.any, [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]) != nil)
    }

    @Test func framesOverTheSizeLimitAre1009() throws {
        #expect(decodeError(.forbidden, WebSocketFrameHeader(opcode: .binary, payloadLength: 1001).encoded, maxFrameSize: 1000)?.closeCode
                == WebSocketCloseCode.tooBig)
        #expect(decodeError(.forbidden, WebSocketFrameHeader(opcode: .binary, payloadLength: UInt64(Int64.max)).encoded)?.closeCode
                == WebSocketCloseCode.tooBig)
        var driver = Driver(.forbidden, maxFrameSize: 1000)
        try driver.feed(frame(.binary, [UInt8](repeating: 9, count: 1000)))
        #expect(driver.data.count == 1000)
    }

    // MARK: streaming

    /// A mixed stream: masked when `masked`, lengths in all three length classes,
    /// fragments, control frames in between. Returns the bytes, the payload, the controls.
    private func stream(masked: Bool, seed: UInt64) -> ([UInt8], [UInt8], [Driver.Control]) {
        var random = TestRandom(seed: seed)
        var bytes: [UInt8] = [], data: [UInt8] = [], controls: [Driver.Control] = []
        func key() -> UInt32? { masked ? UInt32(truncatingIfNeeded: random.next()) : nil }
        func add(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) {
            bytes += frame(opcode, payload, fin: fin, mask: key())
            if opcode.isControl { controls.append(.init(opcode: opcode, payload: payload)) } else { data += payload }
        }
        for length in [0, 1, 3, 7, 8, 9, 17, 125, 126, 127, 1000, 65535, 65536, 70_001] {
            add(.binary, random.bytes(length))
        }
        add(.ping, random.bytes(125))
        add(.text, random.bytes(13), fin: false)
        add(.pong, random.bytes(3))
        add(.continuation, random.bytes(300), fin: false)
        add(.ping, [])
        add(.continuation, random.bytes(5))
        add(.close, [0x03, 0xE8] + Array("bye".utf8))
        return (bytes, data, controls)
    }

    @Test(arguments: [true, false])
    func aStreamSplitByteByByteUnmasksToTheOriginal(masked: Bool) throws {
        let (bytes, data, controls) = stream(masked: masked, seed: masked ? 1 : 2)
        for masking in masked ? [WebSocketDecoder.Masking.required, .any] : [.forbidden, .any] {
            var driver = Driver(masking)
            for byte in bytes { try driver.feed([byte]) }
            #expect(driver.data == data)
            #expect(driver.controls == controls)
            #expect(driver.pending.isEmpty)
            #expect(driver.problems == [])
        }
    }

    @Test(arguments: [3, 4, 11, 4096] as [UInt64])
    func aStreamSplitAtRandomPointsUnmasksToTheOriginal(seed: UInt64) throws {
        let (bytes, data, controls) = stream(masked: true, seed: seed)
        var random = TestRandom(seed: seed ^ 0xFF)
        var driver = Driver(.required)
        var offset = 0
        while offset < bytes.count {
            let take = min(bytes.count - offset, 1 + random.below(seed == 4096 ? 20_000 : 40))
            try driver.feed(Array(bytes[offset..<offset + take]))
            offset += take
        }
        #expect(driver.data == data)
        #expect(driver.controls == controls)
        #expect(driver.pending.isEmpty)
        #expect(driver.problems == [])
    }

    @Test func wholeStreamAtOnce() throws {
        let (bytes, data, controls) = stream(masked: true, seed: 42)
        var driver = Driver(.required)
        try driver.feed(bytes)
        #expect(driver.data == data)
        #expect(driver.controls == controls)
        #expect(driver.problems == [])
    }

    @Test func everyHeaderTruncationIsLeftOver() throws {
        for length in [0, 5, 200, 70_000] {
            for mask in [nil, 0x0BAD_F00D as UInt32] {
                let payload = [UInt8](repeating: 0x5A, count: length)
                let bytes = frame(.binary, payload, mask: mask)
                let headerLength = WebSocketFrameHeader(opcode: .binary, maskKey: mask, payloadLength: UInt64(length)).encodedLength
                for cut in 0..<headerLength {
                    var driver = Driver(.any)
                    try driver.feed(Array(bytes[..<cut]))
                    #expect(driver.pending.count == cut && driver.data.isEmpty)
                    try driver.feed(Array(bytes[cut...]))
                    #expect(driver.data == payload && driver.pending.isEmpty)
                }
            }
        }
    }

    @Test func emptyBufferDecodesNothing() throws {
        var decoder = WebSocketDecoder(masking: .any)
        var events: [WebSocketDecoder.Event] = []
        let used = try decoder.decode(UnsafeMutableRawBufferPointer(start: nil, count: 0), into: &events)
        #expect(used == 0 && events.isEmpty)
    }
}
