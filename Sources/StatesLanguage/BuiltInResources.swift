import JSON

/// Task resources every engine has, for tests and simple pipelines.
package enum BuiltInResources {
    /// `slipway:echo` (also `echo`): returns its input.
    package struct Echo: TaskResource {
        package init() {}
        package func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue { request.input }
    }

    /// `slipway:fail` (also `fail`): fails with the input's `Error` and `Cause`
    /// (default `States.TaskFailed`).
    package struct Fail: TaskResource {
        package init() {}
        package func invoke(_ request: TaskRequest) async throws(StatesError) -> JSONValue {
            throw StatesError(request.input["Error"]?.stringValue ?? "States.TaskFailed", request.input["Cause"]?.stringValue ?? "failed on purpose")
        }
    }

    /// The built-in resources by URI.
    package static var all: [String: any TaskResource] {
        ["slipway:echo": Echo(), "echo": Echo(), "slipway:fail": Fail(), "fail": Fail()]
    }
}
