import Testing
@testable import ConvergeWire

private func parse(_ bytes: [UInt8]) throws(WebSocketError) -> (WebSocketFrameHeader, Int)? {
    do {
        return try bytes.withUnsafeBytes { try WebSocketFrameHeader.parse($0) }
    } catch let error as WebSocketError {
        throw error
    } catch {
        fatalError("unexpected \(error)")
    }
}

private func parseError(_ bytes: [UInt8]) -> WebSocketError? {
    do {
        _ = try parse(bytes)
        return nil
    } catch {
        return error
    }
}

@Suite struct WebSocketFrameHeaderTests {
    // RFC 6455 §5.7 examples.
    @Test func rfcExampleUnmaskedText() throws {
        let frame: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        let (header, length) = try #require(try parse(frame))
        #expect(header == WebSocketFrameHeader(fin: true, opcode: .text, maskKey: nil, payloadLength: 5))
        #expect(length == 2)
        #expect(WebSocketFrameHeader.frame(.text, payload: Array("Hello".utf8)) == frame)
    }

    @Test func rfcExampleMaskedText() throws {
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        let (header, length) = try #require(try parse(frame))
        #expect(header == WebSocketFrameHeader(opcode: .text, maskKey: 0x37fa_213d, payloadLength: 5))
        #expect(length == 6)
        #expect(WebSocketFrameHeader.frame(.text, payload: Array("Hello".utf8), maskKey: 0x37fa_213d) == frame)
        #expect(referenceMask(Array(frame[6...]), key: 0x37fa_213d) == Array("Hello".utf8))
    }

    @Test func rfcExampleFragmentsAndPing() throws {
        #expect(try parse([0x01, 0x03, 0x48, 0x65, 0x6c])?.0 == WebSocketFrameHeader(fin: false, opcode: .text, payloadLength: 3))
        #expect(try parse([0x80, 0x02, 0x6c, 0x6f])?.0 == WebSocketFrameHeader(fin: true, opcode: .continuation, payloadLength: 2))
        #expect(try parse([0x89, 0x05])?.0 == WebSocketFrameHeader(opcode: .ping, payloadLength: 5))
        #expect(try parse([0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d])?.0 == WebSocketFrameHeader(opcode: .pong, maskKey: 0x37fa_213d, payloadLength: 5))
    }

    @Test func rfcExampleExtendedLengths() throws {
        let (h16, n16) = try #require(try parse([0x82, 0x7E, 0x01, 0x00]))
        #expect(h16.payloadLength == 256 && h16.opcode == .binary && n16 == 4)
        let (h64, n64) = try #require(try parse([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]))
        #expect(h64.payloadLength == 65536 && n64 == 10)
        #expect(WebSocketFrameHeader(opcode: .binary, payloadLength: 256).encoded == [0x82, 0x7E, 0x01, 0x00])
        #expect(WebSocketFrameHeader(opcode: .binary, payloadLength: 65536).encoded == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
    }

    static let lengths: [UInt64] = [0, 1, 125, 126, 127, 255, 256, 65535, 65536, 1 << 32, 0x0123_4567_89AB_CDEF, UInt64(Int64.max)]

    @Test(arguments: lengths)
    func roundTripsEveryLengthClass(length: UInt64) throws {
        for maskKey in [nil, 0 as UInt32, 0xDEAD_BEEF] {
            for opcode in [WebSocketOpcode.continuation, .text, .binary] {
                for fin in [true, false] {
                    let header = WebSocketFrameHeader(fin: fin, opcode: opcode, maskKey: maskKey, payloadLength: length)
                    let bytes = header.encoded
                    let expectedLength = (length < 126 ? 2 : length < 65536 ? 4 : 10) + (maskKey == nil ? 0 : 4)
                    #expect(bytes.count == expectedLength)
                    #expect(header.encodedLength == expectedLength)
                    let (parsed, used) = try #require(try parse(bytes + [0xAA, 0xBB]))
                    #expect(parsed == header)
                    #expect(used == bytes.count)
                }
            }
        }
    }

    @Test func encodeIntoReturnsItsLength() {
        var out = [UInt8](repeating: 0xEE, count: 20)
        let header = WebSocketFrameHeader(opcode: .binary, maskKey: 0x0102_0304, payloadLength: 70000)
        let n = out.withUnsafeMutableBytes { header.encode(into: $0) }
        #expect(n == 14)
        #expect(Array(out[..<n]) == [0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70, 1, 2, 3, 4])
        #expect(out[n...].allSatisfy { $0 == 0xEE })
    }

    @Test func lengthsAreEncodedMinimally() {
        #expect(WebSocketFrameHeader(opcode: .binary, payloadLength: 125).encoded == [0x82, 125])
        #expect(WebSocketFrameHeader(opcode: .binary, payloadLength: 126).encoded == [0x82, 126, 0, 126])
        #expect(WebSocketFrameHeader(opcode: .binary, payloadLength: 65535).encoded == [0x82, 126, 0xFF, 0xFF])
        #expect(WebSocketFrameHeader(opcode: .binary, payloadLength: 65536).encoded.count == 10)
    }

    @Test(arguments: lengths)
    func truncatedHeadersAtEveryByteNeedMore(length: UInt64) throws {
        for maskKey in [nil, 0x1234_5678 as UInt32] {
            let bytes = WebSocketFrameHeader(opcode: .binary, maskKey: maskKey, payloadLength: length).encoded
            for cut in 0..<bytes.count {
                #expect(try parse(Array(bytes[..<cut])) == nil, "length \(length), \(cut) of \(bytes.count) bytes")
            }
            #expect(try parse(bytes) != nil)
        }
        for cut in 0..<2 {
            #expect(try parse(Array([0x89, 0x80, 1, 2, 3, 4][..<cut])) == nil)
        }
    }

    @Test func lengthWithTopBitIsRejected() {
        for top: UInt8 in [0x80, 0xFF] {
            let bytes: [UInt8] = [0x82, 0x7F, top, 0, 0, 0, 0, 0, 0, 0]
            #expect(parseError(bytes)?.closeCode == WebSocketCloseCode.protocolError)
            #expect(parseError(bytes + [1, 2, 3, 4])?.closeCode == WebSocketCloseCode.protocolError)
        }
        // 2^63 - 1 is the largest allowed.
        #expect(parseError([0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)
    }

    @Test(arguments: [0x40, 0x20, 0x10, 0x70] as [UInt8])
    func reservedBitsAreRejected(bits: UInt8) {
        #expect(parseError([0x82 | bits, 0x00])?.closeCode == WebSocketCloseCode.protocolError)
        #expect(parseError([0x02 | bits, 0x80])?.closeCode == WebSocketCloseCode.protocolError)
    }

    @Test(arguments: [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedOpcodesAreRejected(opcode: UInt8) {
        #expect(parseError([0x80 | opcode, 0x00])?.closeCode == WebSocketCloseCode.protocolError)
        #expect(parseError([opcode, 0x85])?.closeCode == WebSocketCloseCode.protocolError)
    }

    @Test func knownOpcodes() throws {
        for (raw, opcode) in [(0x0, WebSocketOpcode.continuation), (0x1, .text), (0x2, .binary), (0x8, .close), (0x9, .ping), (0xA, .pong)] {
            #expect(try parse([0x80 | UInt8(raw), 0])?.0.opcode == opcode)
            #expect(opcode.isControl == (raw >= 8))
        }
    }

    @Test(arguments: [WebSocketOpcode.close, .ping, .pong])
    func controlFramesLongerThan125AreRejected(opcode: WebSocketOpcode) throws {
        let op = 0x80 | opcode.rawValue
        #expect(try parse([op, 125])?.0.payloadLength == 125)
        #expect(parseError([op, 126, 0, 126])?.closeCode == WebSocketCloseCode.protocolError)
        #expect(parseError([op, 0xFE, 0xFF, 0xFF, 1, 2, 3, 4]) != nil)
        #expect(parseError([op, 127, 0, 0, 0, 0, 0, 0, 1, 0]) != nil)
    }

    @Test(arguments: [WebSocketOpcode.close, .ping, .pong])
    func fragmentedControlFramesAreRejected(opcode: WebSocketOpcode) {
        #expect(parseError([opcode.rawValue, 0])?.closeCode == WebSocketCloseCode.protocolError)
        #expect(parseError([opcode.rawValue, 0x80, 1, 2, 3, 4]) != nil)
    }

    @Test func dataFramesMayBeFragmentedAndLong() throws {
        #expect(try parse([0x02, 126, 0xFF, 0xFF])?.0 == WebSocketFrameHeader(fin: false, opcode: .binary, payloadLength: 65535))
    }

    @Test func framesCarryTheirPayload() {
        let payload = Array(0..<200 as Range<UInt8>)
        let plain = WebSocketFrameHeader.frame(.binary, payload: payload)
        #expect(plain == [0x82, 126, 0, 200] + payload)
        let masked = WebSocketFrameHeader.frame(.binary, payload: payload, maskKey: 0xA1B2_C3D4)
        #expect(Array(masked[..<8]) == [0x82, 0xFE, 0, 200, 0xA1, 0xB2, 0xC3, 0xD4])
        #expect(Array(masked[8...]) == referenceMask(payload, key: 0xA1B2_C3D4))
        #expect(WebSocketFrameHeader.frame(.ping, payload: []) == [0x89, 0x00])
        #expect(WebSocketFrameHeader.frame(.close, payload: [], maskKey: 7) == [0x88, 0x80, 0, 0, 0, 7])
    }

    @Test func closePayloads() {
        #expect(WebSocketFrameHeader.closePayload(code: 1000, reason: "") == [0x03, 0xE8])
        #expect(WebSocketFrameHeader.closePayload(code: 1002, reason: "bad") == [0x03, 0xEA] + Array("bad".utf8))
        let long = WebSocketFrameHeader.closePayload(code: 1009, reason: String(repeating: "x", count: 500))
        #expect(long.count == 125)
    }

    @Test func closeReasonsAreCutOnACharacterBoundary() {
        // 62 two-byte characters are 124 bytes: only 61 of them fit in 123.
        let payload = WebSocketFrameHeader.closePayload(code: 1000, reason: String(repeating: "é", count: 62))
        #expect(payload.count <= 125)
        #expect(String(validating: payload[2...], as: UTF8.self) == String(repeating: "é", count: 61))
        for extra in 0..<4 {
            let reason = String(repeating: "a", count: extra) + String(repeating: "😀", count: 40)
            let cut = WebSocketFrameHeader.closePayload(code: 1000, reason: reason)
            #expect(cut.count <= 125 && cut.count >= 122)
            #expect(String(validating: cut[2...], as: UTF8.self) != nil, "\(extra) leading ASCII bytes")
        }
    }
}

@Suite struct WebSocketMaskTests {
    static let keys: [UInt32] = [0x37fa_213d, 0x0102_0304, 0xFFFF_FFFF, 0, 0x8000_0001]

    @Test(arguments: keys)
    func everyPhaseAndLengthMatchesTheReference(key: UInt32) {
        var random = TestRandom(seed: UInt64(key))
        for phase in 0..<16 {
            for length in 0..<40 {
                let data = random.bytes(length)
                var bytes = data
                let after = bytes.withUnsafeMutableBytes { WebSocketMask.apply(key: key, phase: phase, to: $0) }
                #expect(bytes == referenceMask(data, key: key, phase: phase), "phase \(phase), length \(length)")
                #expect(after % 4 == (phase + length) % 4, "phase \(phase), length \(length)")
            }
        }
    }

    @Test func unalignedBuffersMatchTheReference() {
        var random = TestRandom(seed: 7)
        let key: UInt32 = 0x9A3C_5E71
        for start in 0..<16 {
            for length in 0..<40 {
                let data = random.bytes(start + length + 8)
                var bytes = data
                bytes.withUnsafeMutableBytes {
                    _ = WebSocketMask.apply(key: key, phase: start, to: UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + length]))
                }
                #expect(Array(bytes[..<start]) == Array(data[..<start]), "bytes before are untouched")
                #expect(Array(bytes[(start + length)...]) == Array(data[(start + length)...]), "bytes after are untouched")
                #expect(Array(bytes[start..<start + length]) == referenceMask(Array(data[start..<start + length]), key: key, phase: start))
            }
        }
    }

    @Test func maskingInPiecesEqualsMaskingAtOnce() {
        var random = TestRandom(seed: 99)
        let key: UInt32 = 0xC0FF_EE42
        let data = random.bytes(61)
        let whole = referenceMask(data, key: key)
        for split in 0...data.count {
            var bytes = data
            bytes.withUnsafeMutableBytes { buffer in
                let phase = WebSocketMask.apply(key: key, phase: 0, to: UnsafeMutableRawBufferPointer(rebasing: buffer[..<split]))
                #expect(phase == split % 4)
                WebSocketMask.apply(key: key, phase: phase, to: UnsafeMutableRawBufferPointer(rebasing: buffer[split...]))
            }
            #expect(bytes == whole, "split at \(split)")
        }
    }

    @Test func maskingTwiceRestores() {
        var random = TestRandom(seed: 5)
        let data = random.bytes(1000)
        var bytes = data
        _ = bytes.withUnsafeMutableBytes { WebSocketMask.apply(key: 0x1357_9BDF, phase: 3, to: $0) }
        #expect(bytes != data)
        _ = bytes.withUnsafeMutableBytes { WebSocketMask.apply(key: 0x1357_9BDF, phase: 3, to: $0) }
        #expect(bytes == data)
    }

    @Test func emptyBufferKeepsThePhase() {
        #expect(WebSocketMask.apply(key: 1, phase: 2, to: UnsafeMutableRawBufferPointer(start: nil, count: 0)) == 2)
    }
}
