/// Registry keys are UTF-8 text, compared by their bytes. Bytes that are not UTF-8 (a
/// Latin-1 name pasted into a shell, say) would be read as U+FFFD, and two keys that
/// differ only there would name one item, so they are refused before anything is read
/// or written, with the bytes shown escaped.
package enum KeyText {
    /// `bytes` as text when they are valid UTF-8; nil when they are not.
    package static func decode(_ bytes: [UInt8]) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// `bytes` for a message: printable ASCII as is, a backslash doubled, and every other
    /// byte as `\xNN` (`caf\xE9`).
    package static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text
    }

    /// Nil when every one of `arguments` (a command line's, without the program) is UTF-8;
    /// else what to say about the first that is not: its position, escaped, and what to do.
    package static func problem(inArguments arguments: [[UInt8]]) -> String? {
        for (index, bytes) in arguments.enumerated() where decode(bytes) == nil {
            return "argument \(index + 1), \"\(escaped(bytes))\", is not valid UTF-8; registry keys and names must be UTF-8 text "
                + "(convert it, for example with `iconv -f latin1 -t utf-8`)"
        }
        return nil
    }
}
