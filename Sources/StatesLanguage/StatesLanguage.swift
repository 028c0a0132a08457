/// StatesLanguage: an Amazon States Language engine (parse, validate, execute, history,
/// journal). It knows nothing of ML and imports only the shared JSON module.
///
/// Built so far: JSONPath (`JSONPath`), every intrinsic function (`Intrinsic`), and the
/// parser and validator of definitions (`StateMachine`), which reports every problem with
/// the JSON pointer of its field. The interpreter, history and journal come next.
///
/// Where AWS Step Functions differs from the written specification, this module does what
/// AWS does:
/// - A reference path that matches nothing in `InputPath`, `OutputPath`, `ItemsPath` and
///   the `...Path` fields raises `States.Runtime` (not catchable), as AWS does.
/// - `States.JsonMerge` supports only shallow merges (its third argument must be false).
/// - `States.ArrayRange` produces at most 1000 elements, and `States.Base64Encode` takes
///   at most 10000 characters, as AWS limits them.
package enum StatesLanguageModule {}
