/// The one rule for a name that Slipway joins into a path: a data input, a stage output,
/// a training channel, a job id, an endpoint or a variant. A safe name is 1 to 63 ASCII
/// letters, digits, `_`, `-` or `.`, starts with a letter or a digit, and never holds
/// `..`; so it is a single path component that cannot climb out of its folder, hide as a
/// dot-file or carry a separator. `slipway model validate` checks config names with it,
/// and the job layer checks again where the path is built, so a hand-written execution
/// input cannot reach further than a config can.
package enum SafeName {
    /// The longest name a config may give (a path component, and readable in a log line).
    package static let maxLength = 63

    /// The rule in words, for hints: "1 to 63 letters, digits, '_', '-' or '.', …".
    package static let rule = "use 1 to \(maxLength) letters, digits, '_', '-' or '.', starting with a letter or digit, without '..'"

    /// Whether `name` is a safe single path component (at most `maxLength` characters).
    package static func isSafe(_ name: String, maxLength: Int = SafeName.maxLength) -> Bool {
        problem(with: name, maxLength: maxLength) == nil
    }

    /// What is wrong with `name` ("it contains '/'"), or nil when it is safe.
    package static func problem(with name: String, maxLength: Int = SafeName.maxLength) -> String? {
        let scalars = name.unicodeScalars
        guard let first = scalars.first else { return "it is empty" }
        guard scalars.count <= maxLength else { return "it is longer than \(maxLength) characters" }
        if let bad = scalars.first(where: { !isAlphanumeric($0) && $0 != "_" && $0 != "-" && $0 != "." }) {
            return "it contains '\(bad.escaped(asASCII: true))'"
        }
        if name.contains("..") { return "it contains '..'" }
        guard isAlphanumeric(first) else { return "it starts with '\(first.escaped(asASCII: true))'" }
        return nil
    }

    private static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}

/// The bounds of a job's or worker's limits, shared by the config checker (which reports
/// a value outside them) and the job layer (which refuses one): a value past them is an
/// error, never a trap or a silent clamp.
package enum ResourceBounds {
    /// The most CPUs a job may ask for (`resources.cpus` is in (0, 1024]).
    package static let maxCPUs = 1024.0
    /// The least and most memory a job or worker may ask for: 1 MiB to 1 TiB.
    package static let memoryBytes: ClosedRange<Int64> = (1 << 20)...(1 << 40)
    /// The longest a job may run: 7 days.
    package static let maxTimeoutSeconds = 7 * 86_400
}
