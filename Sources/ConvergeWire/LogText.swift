/// Makes untrusted text (IDs, host names, user names, header values) safe to put in a
/// log line: control characters, backslashes, quotes and non-ASCII become escapes, and
/// long values are cut, so a hostile peer cannot forge or flood a line.
///
/// `quoting: false` keeps quotes and backslashes as they are: for a message shown to a
/// person (a server's refusal), where they are not field delimiters.
public enum LogText {
    public static func escaped(_ text: String, limit: Int = 200, quoting: Bool = true) -> String {
        escaped(Array(text.utf8), limit: limit, quoting: quoting)
    }

    public static func escaped(_ bytes: some Collection<UInt8>, limit: Int = 200, quoting: Bool = true) -> String {
        var out = ""
        var count = 0
        for byte in bytes {
            if count >= limit { out += "..."; break }
            count += 1
            switch byte {
            case UInt8(ascii: "\\") where quoting: out += "\\\\"
            case UInt8(ascii: "\"") where quoting: out += "\\\""
            case 0x20...0x7e: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789abcdef")
                out += "\\x\(hex[Int(byte >> 4)])\(hex[Int(byte & 15)])"
            }
        }
        return out
    }
}
