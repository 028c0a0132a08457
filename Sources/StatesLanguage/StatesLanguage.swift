/// StatesLanguage: an Amazon States Language engine. It knows nothing of ML and imports
/// only the shared JSON module.
///
/// - `StateMachine` parses and validates a definition, reporting every problem with the
///   JSON pointer of its field.
/// - `Engine` runs it: every state type, input and output processing, the context object,
///   intrinsic functions (`Intrinsic`), JSONPath (`JSONPath`), Retry and Catch, task and
///   execution timeouts, heartbeats, `.waitForTaskToken` tasks (`TaskTokens`), and a history
///   with Step Functions' event names. The clock is injected (`EngineClock`).
/// - `ExecutionJournal` records progress as it happens: a resumed execution skips the
///   states whose exit was recorded and never calls a Task whose success was recorded
///   again; `ExecutionStore` keeps executions on disk, and stops and redrives them.
/// - Task resources are found by URI (`TaskResource`); built in: `echo`, `fail`,
///   `slipway:command`, and the HTTP task `arn:aws:states:::http:invoke`.
///
/// Where AWS Step Functions differs from the written specification, this module does what
/// AWS does:
/// - A path that matches nothing in `InputPath`, `OutputPath`, `ItemsPath`, a Choice
///   `Variable` or a `...Path` field, and a `.$` parameter whose path matches nothing, raise
///   `States.Runtime` (the specification says `States.ParameterPathFailure` for the latter),
///   which ends the execution: neither Retry nor Catch sees it.
/// - `States.TaskFailed` in `ErrorEquals` matches every error but `States.Timeout`.
/// - A Parallel state whose branch fails fails with that branch's error.
/// - `States.JsonMerge` supports only shallow merges (its third argument must be false);
///   `States.ArrayRange` makes at most 1000 elements; `States.Base64Encode` takes at most
///   10000 characters.
/// - A non-2xx answer to the HTTP task fails with `States.Http.StatusCode.NNN`.
/// - `States.Timeout` in `ErrorEquals` also matches `States.HeartbeatTimeout`; only the
///   execution's own `TimeoutSeconds` ends it `TIMED_OUT` (an uncaught task timeout is `FAILED`).
/// - JSONPath filters test an object itself and an array's elements, as Jayway does.
///
/// Known differences from AWS: objects keep no member order here, so `.*`, `..` and
/// filters over an object's members list them sorted by key, where AWS keeps the order of
/// the document.
///
/// Not yet supported, and refused by validation with a message saying so: JSONata
/// (`QueryLanguage`), and the distributed Map's `ItemReader`, `ResultWriter`, `ItemBatcher`.
package enum StatesLanguageModule {}
