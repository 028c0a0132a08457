import JSON

extension Interpreter {
    /// Runs every branch on the same input, at once; the result is their outputs in order.
    /// When a branch fails, the state fails with that branch's error.
    func parallel(_ state: StateMachine.State, input: JSONValue, context: JSONValue, key: String) async throws(StatesError) -> JSONValue {
        history.record("ParallelStateStarted")
        let outcomes = await withTaskGroup(of: (Int, Result<JSONValue, StatesError>).self) { group in
            for (index, machine) in state.machines.enumerated() {
                group.addTask {
                    do throws(StatesError) {
                        return (index, .success(try await run(machine, input: input, context: context, scope: "\(key)/branch\(index)")))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results: [(Int, Result<JSONValue, StatesError>)] = []
            for await result in group {
                results.append(result)
                if case .failure = result.1 {
                    group.cancelAll()  // as Step Functions does: one failed branch stops the others
                    break
                }
            }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var outputs: [JSONValue] = []
        for outcome in outcomes {
            switch outcome {
            case .success(let output): outputs.append(output)
            case .failure(let error):
                history.record("ParallelStateFailed")
                throw error
            }
        }
        history.record("ParallelStateSucceeded")
        return .array(outputs)
    }

    /// Runs the item processor for each item of ItemsPath, at most MaxConcurrency at once;
    /// the result is the outputs in item order. Failures up to ToleratedFailureCount or
    /// ToleratedFailurePercentage leave their error in the item's place.
    func map(_ state: StateMachine.State, input: JSONValue, context: JSONValue, key: String) async throws(StatesError) -> JSONValue {
        let fields = state.fields
        guard case .array(let items) = try Processing.select(fields["ItemsPath"], in: input, context: context, name: "ItemsPath") else {
            throw .runtime("Map state '\(state.name)': ItemsPath '\(fields["ItemsPath"]?.stringValue ?? "$")' must select an array")
        }
        guard let processor = state.machines.first else { throw .runtime("Map state '\(state.name)' has no ItemProcessor") }
        let selector = fields["ItemSelector"] ?? fields["Parameters"]
        let limit = try concurrency(fields, input: input, context: context)
        var tolerance = fields["ToleratedFailureCount"]?.intValue.map(Int.init)
        var percentage = fields["ToleratedFailurePercentage"]?.doubleValue
        if let path = fields["ToleratedFailureCountPath"] {
            tolerance = try Processing.select(path, in: input, context: context, name: "ToleratedFailureCountPath").intValue.map(Int.init)
        }
        if let path = fields["ToleratedFailurePercentagePath"] {
            percentage = try Processing.select(path, in: input, context: context, name: "ToleratedFailurePercentagePath").doubleValue
        }
        // The most failures the state survives; past it, no more items start.
        let maxFailures = min(tolerance ?? Int.max, percentage.map { Int(($0 * Double(items.count) / 100).rounded(.down)) } ?? Int.max)
        let tolerated = tolerance != nil || percentage != nil ? maxFailures : 0
        history.record("MapStateStarted", "mapStateStartedEventDetails", ["length": .int(Int64(items.count))])

        var itemInputs: [JSONValue] = []
        for (index, item) in items.enumerated() {
            var itemContext = context
            if case .object(var members) = context {
                members["Map"] = ["Item": ["Index": .int(Int64(index)), "Value": item]]
                itemContext = .object(members)
            }
            itemInputs.append(try selector.map { t throws(StatesError) in
                try Processing.template(t, input: input, context: itemContext, field: "ItemSelector")
            } ?? item)
        }
        let name = state.name
        let inputs = itemInputs
        let results = await withTaskGroup(of: (Int, Result<JSONValue, StatesError>).self) { group in
            var next = 0
            var running = 0
            var collected: [(Int, Result<JSONValue, StatesError>)] = []
            func start(_ index: Int) {
                history.record("MapIterationStarted", "mapIterationStartedEventDetails", ["name": .string(name), "index": .int(Int64(index))])
                group.addTask {
                    do throws(StatesError) {
                        return (index, .success(try await run(processor, input: inputs[index], context: context, scope: "\(key)/item\(index)")))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            while next < inputs.count && (limit == 0 || running < limit) {
                start(next)
                next += 1
                running += 1
            }
            var failed = 0
            while let result = await group.next() {
                let succeeded = if case .success = result.1 { true } else { false }
                history.record(succeeded ? "MapIterationSucceeded" : "MapIterationFailed",
                               succeeded ? "mapIterationSucceededEventDetails" : "mapIterationFailedEventDetails",
                               ["name": .string(name), "index": .int(Int64(result.0))])
                collected.append(result)
                if !succeeded {
                    failed += 1
                    if failed > tolerated {
                        group.cancelAll()  // the Map has failed: start nothing more
                        break
                    }
                }
                if next < inputs.count {
                    start(next)
                    next += 1
                }
            }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let failures = results.compactMap { if case .failure(let error) = $0 { return error } else { return nil } }
        if let first = failures.first, failures.count > tolerated {
            history.record("MapStateFailed")
            guard tolerance != nil || percentage != nil else { throw first }
            throw StatesError("States.ExceedToleratedFailureThreshold",
                              "\(failures.count) of \(items.count) items failed, more than the state tolerates")
        }
        history.record("MapStateSucceeded")
        return .array(results.map { result in
            switch result {
            case .success(let output): return output
            case .failure(let error): return error.json
            }
        })
    }

    private func concurrency(_ fields: [String: JSONValue], input: JSONValue, context: JSONValue) throws(StatesError) -> Int {
        if let path = fields["MaxConcurrencyPath"] {
            guard let value = try Processing.select(path, in: input, context: context, name: "MaxConcurrencyPath").intValue, value >= 0 else {
                throw .runtime("MaxConcurrencyPath must select a non-negative integer")
            }
            return Int(value)
        }
        return Int(fields["MaxConcurrency"]?.intValue ?? 0)
    }
}
