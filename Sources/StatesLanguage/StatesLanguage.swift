/// StatesLanguage: an Amazon States Language engine (parse, validate, execute, history,
/// journal). It knows nothing of ML and imports nothing of ours.
///
/// Not built yet (issue "StatesLanguage").
package enum StatesLanguageModule {}
