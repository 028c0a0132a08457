import Foundation

/// RFC 3339 timestamps as Step Functions accepts them (`2026-03-14T01:59:00Z`, with
/// optional fractional seconds and a numeric offset).
package enum Timestamps {
    /// Seconds since 1970, or nil when `text` is not an RFC 3339 timestamp.
    package static func parse(_ text: String) -> Double? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date.timeIntervalSince1970 }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)?.timeIntervalSince1970
    }
}
