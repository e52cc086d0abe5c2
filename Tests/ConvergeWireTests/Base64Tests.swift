import Testing
@testable import ConvergeWire

@Suite struct Base64Tests {
    // RFC 4648 §10.
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                      ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func rfc4648Vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func fullAlphabet() {
        let bytes: [UInt8] = [0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8B, 0x30, 0xD3, 0x8F, 0x41, 0x14, 0x93, 0x51,
                              0x55, 0x97, 0x61, 0x96, 0x9B, 0x71, 0xD7, 0x9F, 0x82, 0x18, 0xA3, 0x92, 0x59, 0xA7, 0xA2, 0x9A,
                              0xAB, 0xB2, 0xDB, 0xAF, 0xC3, 0x1C, 0xB3, 0xD3, 0x5D, 0xB7, 0xE3, 0x9E, 0xBB, 0xF3, 0xDF, 0xBF]
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        #expect(Base64.encode(bytes) == alphabet)
        #expect(Base64.decode(alphabet) == bytes)
    }

    @Test func roundTripsEveryLengthAndByte() {
        var random = TestRandom(seed: 64)
        for length in 0..<100 {
            let bytes = random.bytes(length)
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == (length + 2) / 3 * 4)
            #expect(Base64.decode(text) == bytes, "length \(length)")
        }
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Base64.encode(all)) == all)
        #expect(Base64.decode(Base64.encode(all.reversed())) == all.reversed())
    }

    @Test(arguments: [
        "Z", "Zg", "Zg=", "Zm9vY", "Zg===",          // lengths that are not a multiple of 4
        "Zg-=", "Zm9_", "Zm 9", "Zm9v\n", " Zm9v",   // characters outside the alphabet
        "Zm9vé===", "Zm\u{0}v",
        "=Zm9", "Z=m9", "Zm=9", "Z===", "====",      // padding in the wrong place
        "Zg==Zm9v", "Zm8=Zm9v",                      // padding before the last group
    ])
    func invalidInputIsNil(text: String) {
        #expect(Base64.decode(text) == nil, "\(text)")
    }

    @Test func emptyDecodesToEmpty() {
        #expect(Base64.decode("") == [])
    }
}
