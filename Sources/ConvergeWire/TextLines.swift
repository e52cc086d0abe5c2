/// Lines of a small text file (authorized keys, token lists), LF or CRLF ended.
/// (In Swift "\r\n" is one Character, so splitting on "\n" alone misses CRLF lines.)
public enum TextLines {
    public static func of(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }
}
