/// Makes untrusted text (IDs, host names, user names, header values) safe to put in a
/// log line: control characters, backslashes, quotes and non-ASCII become escapes, and
/// long values are cut, so a hostile peer cannot forge or flood a line.
public enum LogText {
    public static func escaped(_ text: String, limit: Int = 200) -> String {
        escaped(Array(text.utf8), limit: limit)
    }

    public static func escaped(_ bytes: some Collection<UInt8>, limit: Int = 200) -> String {
        var out = ""
        var count = 0
        for byte in bytes {
            if count >= limit { out += "..."; break }
            count += 1
            switch byte {
            case UInt8(ascii: "\\"): out += "\\\\"
            case UInt8(ascii: "\""): out += "\\\""
            case 0x20...0x7e: out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789abcdef")
                out += "\\x\(hex[Int(byte >> 4)])\(hex[Int(byte & 15)])"
            }
        }
        return out
    }
}
