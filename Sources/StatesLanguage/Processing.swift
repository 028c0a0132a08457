import JSON

/// Input and output processing as the specification orders it: InputPath, Parameters,
/// ResultSelector, ResultPath, OutputPath.
enum Processing {
    /// A path field's value applied to `document`: absent means `$` (all of it), null
    /// means `{}`. A definite path that matches nothing raises `States.Runtime`, as AWS does.
    static func select(_ field: JSONValue?, in document: JSONValue, context: JSONValue, name: String) throws(StatesError) -> JSONValue {
        guard let field else { return document }
        guard case .string(let text) = field else { return .object([:]) }
        let path: JSONPath
        do { path = try JSONPath(text) } catch { throw .runtime(error.description) }
        guard let value = path.evaluate(in: path.root == .context ? context : document) else {
            throw .runtime("Invalid path '\(text)' in \(name): No results for path: \(text)")
        }
        return value
    }

    /// Fills a payload template (Parameters, ResultSelector, ItemSelector): `key.$` fields
    /// take the value of a path or an intrinsic call and lose their `.$`.
    static func template(_ value: JSONValue, input: JSONValue, context: JSONValue, field: String) throws(StatesError) -> JSONValue {
        switch value {
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                if key.hasSuffix(".$"), case .string(let expression) = member {
                    let name = String(key.dropLast(2))
                    if Intrinsic.looksLikeCall(expression) {
                        do {
                            result[name] = try Intrinsic(expression).evaluate(input: input, context: context)
                        } catch {
                            throw StatesError("States.IntrinsicFailure", error.message)
                        }
                    } else {
                        let path: JSONPath
                        do { path = try JSONPath(expression) } catch { throw .runtime(error.description) }
                        guard let selected = path.evaluate(in: path.root == .context ? context : input) else {
                            // The specification says States.ParameterPathFailure; AWS raises States.Runtime.
                            throw .runtime("The JSONPath '\(expression)' specified for the field '\(key)' could not be found in the input")
                        }
                        result[name] = selected
                    }
                } else {
                    result[key] = try template(member, input: input, context: context, field: field)
                }
            }
            return .object(result)
        case .array(let elements):
            var result: [JSONValue] = []
            for element in elements { result.append(try template(element, input: input, context: context, field: field)) }
            return .array(result)
        default:
            return value
        }
    }

    /// Places `result` into the state's raw input at ResultPath (absent: `$`, the result
    /// replaces the input; null: the input passes through unchanged).
    static func place(_ result: JSONValue, at field: JSONValue?, in input: JSONValue) throws(StatesError) -> JSONValue {
        guard let field else { return result }
        guard case .string(let text) = field else { return input }
        let path: JSONPath
        do { path = try JSONPath(text) } catch { throw .runtime(error.description) }
        guard let placed = path.setting(result, in: input) else {
            throw StatesError("States.ResultPathMatchFailure", "Unable to apply ResultPath '\(text)' to input \(input)")
        }
        return placed
    }

    /// A string from a path or an intrinsic call (Fail's `ErrorPath` and `CausePath`);
    /// anything but a string raises `States.Runtime`, as AWS does.
    static func string(_ field: JSONValue, in input: JSONValue, context: JSONValue, name: String) throws(StatesError) -> String {
        let value: JSONValue
        if let text = field.stringValue, Intrinsic.looksLikeCall(text) {
            do { value = try Intrinsic(text).evaluate(input: input, context: context) } catch {
                throw StatesError("States.IntrinsicFailure", error.message)
            }
        } else {
            value = try select(field, in: input, context: context, name: name)
        }
        guard case .string(let text) = value else { throw .runtime("\(name) must select a string, not \(value.kindName)") }
        return text
    }
}
