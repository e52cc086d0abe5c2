// Separators are bytes, not Characters: a space or tab followed by a combining mark is
// one Character in Swift, which a Character-wise split or trim would not see (an HTTP head
// that parsed differently after a round trip, found by fuzzing). Working on Unicode
// scalars keeps every cut on a byte the wire has.
extension Substring {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace; values in
    /// lists on command lines, in environment variables and files). `trailingCR`: carriage
    /// returns go from the end too (a line cut at LF, or a stray CR before a CRLF).
    public func trimmingSpaces(trailingCR: Bool = false) -> Substring {
        var scalars = unicodeScalars
        while let f = scalars.first, f == " " || f == "\t" { scalars.removeFirst() }
        while let l = scalars.last, l == " " || l == "\t" || (trailingCR && l == "\r") { scalars.removeLast() }
        return Substring(scalars)
    }
}
