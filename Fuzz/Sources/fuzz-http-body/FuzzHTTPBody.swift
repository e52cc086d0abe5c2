@testable import ConvergeWire
import FuzzSupport

/// `HTTPBodyDecoder`: where a response body ends (Content-Length, chunked, the end of the
/// connection) and its size limit, as `HTTPFetch` (`--authorized-keys-url`) reads bodies.
///
/// Input: limit choice, 4 split sizes, then a response head and its body. The body is fed
/// the way reads deliver it: each prefix ending at a split, then the whole with the
/// connection ended. Checked: a prefix's answer never changes once given (a body stays
/// that body, an error stays an error, unless more bytes only make it too large); the end
/// of the connection always gives a body or an error; a body fits the limit and its
/// framing; every error is one printable line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPBody(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limit = input.pick([4096, 64, 1 << 20])
    var splits = Splits(from: &input)
    let bytes = input.rest()
    guard let (head, headLength) = try? HTTPResponseHead.parse(bytes, limit: 16384) else { return 0 }
    let body = Array(bytes[headLength...])
    let decoder: HTTPBodyDecoder
    do {
        decoder = try HTTPBodyDecoder(headers: head.headers, limit: limit)
    } catch {
        requireOneLine(error.description)
        require(error.kind != .truncated, "a head alone cannot be cut short")
        return 0
    }
    var settled: Result<[UInt8], HTTPBodyError>? = nil
    var end = 0
    while end < body.count {
        end = min(body.count, end + splits.size())
        let answer = Result { () throws(HTTPBodyError) in try decoder.decode(Array(body[..<end]), ended: false) }
        switch (settled, answer) {
        case (_, .failure(let error)):
            require(error.kind != .truncated, "cut short while the connection is open")
            if case .success = settled { require(error.kind == .tooLarge, "a settled body became \(error)") }
            if case .failure(let earlier) = settled { require(error == earlier || error.kind == .tooLarge, "\(earlier) became \(error)") }
            settled = .failure(error)
        case (nil, .success(.body(let got))):
            settled = .success(got)
        case (.success(let earlier)?, .success(.body(let got))):
            require(got == earlier, "a settled body changed with more bytes")
        case (.failure(let earlier)?, .success(let got)):
            require(false, "\(earlier) became \(got)")
        case (_, .success(.needsMore)):
            require(settled == nil, "a settled answer went back to needing more")
        }
    }
    let final = Result { () throws(HTTPBodyError) in try decoder.decode(body, ended: true) }
    switch final {
    case .success(.needsMore):
        require(false, "needs more bytes after the connection ended")
    case .success(.body(let got)):
        if case .success(let earlier) = settled { require(got == earlier, "the body changed at the end of the connection") }
        if case .failure(let earlier) = settled { require(false, "\(earlier) became a body at the end") }
        require(got.count <= limit, "a \(got.count)-byte body passed a \(limit)-byte limit")
        switch decoder.framing {
        case .contentLength(let length): require(got.count == length && got[...] == body.prefix(length), "not the declared body")
        case .untilClose: require(got == body, "not everything until the end")
        case .chunked: require(got.count <= body.count, "a chunked body longer than its bytes")
        }
    case .failure(let error):
        requireOneLine(error.description)
        if case .success = settled { require(false, "a settled body became \(error)") }
    }
    return 0
}

private func requireOneLine(_ text: String) {
    require(!text.isEmpty && text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "error is not one printable line: \(text.debugDescription)")
}
