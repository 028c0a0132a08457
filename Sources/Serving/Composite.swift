import Foundation
import Registry

/// A composite endpoint's request: its script says what to ask each member
/// (`{"phase": "requests", "request": BODY}`), the members answer (concurrently), and the
/// script combines their answers (`{"phase": "combine", "request", "answers",
/// "versions"}`, where versions name the model version that answered for each member).
struct Composite {
    let manager: EndpointManager
    let runtime: EndpointRuntime
    let members: [String: String]
    let depth: Int

    func invoke(_ invocation: Invocation) async -> (variant: VariantConfig?, result: InvocationResult) {
        guard let request = try? JSONValue(parsing: invocation.body) else {
            return (nil, .failure(400, "endpoint '\(runtime.name)' combines models and takes a JSON object; the body is not valid JSON", .client))
        }
        let (planner, planned) = await ask(["phase": "requests", "request": request])
        guard planned.status == 200 else { return (planner, planned) }
        guard let payloads = try? JSONValue(parsing: planned.body) else {
            return (planner, .failure(500, "the requests phase of '\(runtime.name)' did not answer JSON", .model))
        }
        var answers: [String: JSONValue] = [:]
        var versions: [String: JSONValue] = [:]
        let results = await withTaskGroup(of: (String, VariantConfig?, InvocationResult).self) { group in
            for (member, endpoint) in members {
                let payload = payloads[member] ?? .null
                group.addTask {
                    let call = Invocation(body: Array(payload.serialized().utf8), contentType: "application/json", accept: "application/json")
                    let (variant, result) = await manager.invokeVariant(endpoint: endpoint, call, depth: depth + 1)
                    return (member, variant, result)
                }
            }
            var all: [(String, VariantConfig?, InvocationResult)] = []
            for await result in group { all.append(result) }
            return all
        }
        for (member, variant, result) in results.sorted(by: { $0.0 < $1.0 }) {
            guard result.status == 200, let answer = try? JSONValue(parsing: result.body) else {
                return (planner, .failure(502, "member '\(member)' (endpoint '\(members[member] ?? "")') answered \(result.status): \(result.error ?? String(decoding: result.body, as: UTF8.self))", result.cause ?? .model))
            }
            answers[member] = answer
            versions[member] = ["endpoint": .string(members[member] ?? ""), "model": .string(variant?.model ?? ""),
                                "version": .int(Int64(variant?.version ?? 0)), "variant": .string(variant?.name ?? "")]
        }
        return await ask(["phase": "combine", "request": request, "answers": .object(answers), "versions": .object(versions)])
    }

    private func ask(_ body: JSONValue) async -> (variant: VariantConfig?, result: InvocationResult) {
        await runtime.invoke(Invocation(body: Array(body.serialized().utf8), contentType: "application/json", accept: "application/json"))
    }
}
