/// Registry items are JSON: users of the registry get `JSONValue` with it.
@_exported import JSON
