import Testing
@testable import Serving

/// The update engine alone: events in, actions out, no process and no clock.
@Suite struct UpdateMachineTests {
    func traffic(_ mode: TrafficConfig.Mode, step: Double = 0.1, bake: Double = 0) -> TrafficConfig {
        var traffic = TrafficConfig()
        traffic.mode = mode
        traffic.step = step
        traffic.bakeSeconds = bake
        return traffic
    }

    /// A machine that serves generation 1.
    func serving() -> UpdateMachine {
        var machine = UpdateMachine()
        _ = machine.desired(generation: 1, traffic: TrafficConfig())
        _ = machine.poolsStarted(generation: 1)
        _ = machine.bakeChecked(generation: 1, waited: .zero, counts: [])
        _ = machine.oldDrained(generation: 1)
        return machine
    }

    @Test func aFirstDeploymentGoesAllAtOnceWhateverTheMode() {
        var machine = UpdateMachine()
        #expect(machine.status == "Creating")
        #expect(machine.desired(generation: 1, traffic: traffic(.linear, step: 0.25)) == .startPools(generation: 1))
        #expect(machine.status == "Creating")
        #expect(machine.isBusy)
        #expect(machine.poolsStarted(generation: 1) == .shiftTraffic(generation: 1, share: 1))
        #expect(machine.bakeChecked(generation: 1, waited: .zero, counts: []) == .drainOld(generation: 1))
        #expect(machine.oldDrained(generation: 1) == .record(generation: 1, outcome: .succeeded, reason: nil))
        #expect(machine.status == "InService")
        #expect(machine.applied == 1)
        // The same generation is not applied twice.
        #expect(machine.desired(generation: 1, traffic: TrafficConfig()) == .none)
    }

    @Test func aLinearUpdateShiftsEachStepAfterItsBake() {
        var machine = serving()
        #expect(machine.desired(generation: 2, traffic: traffic(.linear, step: 0.34, bake: 0.25)) == .startPools(generation: 2))
        #expect(machine.status == "Updating")
        var shares: [Double] = []
        var action = machine.poolsStarted(generation: 2)
        var waited: Duration = .zero
        while true {
            switch action {
            case .shiftTraffic(2, let share):
                shares.append(share)
                action = machine.bakeChecked(generation: 2, waited: .zero, counts: [])
            case .wait(2, let duration):
                waited += duration
                action = machine.bakeChecked(generation: 2, waited: duration, counts: [.init(variant: "v2", requests: 3, errors: 0)])
            case .drainOld(2):
                action = machine.oldDrained(generation: 2)
            case .record(2, .succeeded, nil):
                #expect(shares == [0.34, 0.68, 1])
                #expect(waited == .milliseconds(750), "three bakes of 250 ms, checked every 100 ms")
                #expect(machine.applied == 2)
                return
            default:
                Issue.record("unexpected \(action)")
                return
            }
        }
    }

    @Test func aCanaryWithTooManyErrorsRollsBackAndIsNotTriedAgain() {
        var machine = serving()
        _ = machine.desired(generation: 2, traffic: traffic(.canary, step: 0.5, bake: 20))
        #expect(machine.poolsStarted(generation: 2) == .shiftTraffic(generation: 2, share: 0.5))
        #expect(machine.bakeChecked(generation: 2, waited: .zero, counts: []) == .wait(generation: 2, duration: .milliseconds(100)))
        // Below the minimum of requests nothing is judged.
        #expect(machine.bakeChecked(generation: 2, waited: .milliseconds(100), counts: [.init(variant: "v2", requests: 4, errors: 4)])
            == .wait(generation: 2, duration: .milliseconds(100)))
        let action = machine.bakeChecked(generation: 2, waited: .milliseconds(100), counts: [.init(variant: "v2", requests: 5, errors: 1)])
        let reason = "variant 'v2' answered 1 of 5 requests with an error during the bake (threshold 5%)"
        #expect(action == .rollBack(generation: 2, reason: reason))
        #expect(machine.status == "RollingBack")
        #expect(machine.rolledBack(generation: 2) == .record(generation: 2, outcome: .rolledBack, reason: reason))
        #expect(machine.status == "InService")
        #expect(machine.applied == 1)
        #expect(machine.desired(generation: 2, traffic: TrafficConfig()) == .none, "a rolled-back generation is not retried")
        #expect(machine.desired(generation: 3, traffic: TrafficConfig()) == .startPools(generation: 3))
    }

    @Test func clientErrorsDuringABakeAreNotHeldAgainstTheVersion() {
        var machine = serving()
        _ = machine.desired(generation: 2, traffic: traffic(.canary, step: 0.5, bake: 20))
        #expect(machine.poolsStarted(generation: 2) == .shiftTraffic(generation: 2, share: 0.5))
        // 8 malformed requests (400) and 2 served: nothing to hold against it, and too few to judge.
        let malformed = UpdateMachine.Counts(variant: "v2", requests: 10, errors: 0, clientErrors: 8)
        #expect(machine.bakeChecked(generation: 2, waited: .milliseconds(100), counts: [malformed]) == .wait(generation: 2, duration: .milliseconds(100)))
        // The same 8 with the model failing 2 of the 7 it was asked properly: rolled back, on 7.
        let failing = UpdateMachine.Counts(variant: "v2", requests: 15, errors: 2, clientErrors: 8)
        guard case .rollBack(2, let reason) = machine.bakeChecked(generation: 2, waited: .milliseconds(100), counts: [failing]) else {
            Issue.record("a failing canary was not rolled back")
            return
        }
        #expect(reason.contains("2 of 7 requests") && reason.contains("8 client errors not counted"), "\(reason)")
    }

    @Test func aFailedHealthCheckRollsBackOrFailsWhenNothingServes() {
        var first = UpdateMachine()
        _ = first.desired(generation: 1, traffic: TrafficConfig())
        #expect(first.poolsFailed(generation: 1, reason: "RuntimeError")
            == .record(generation: 1, outcome: .failed, reason: "the new variant did not become healthy: RuntimeError"))
        #expect(first.status == "Failed")

        var machine = serving()
        _ = machine.desired(generation: 2, traffic: TrafficConfig())
        #expect(machine.poolsFailed(generation: 2, reason: "RuntimeError")
            == .record(generation: 2, outcome: .rolledBack, reason: "the new variant did not become healthy: RuntimeError"))
        #expect(machine.status == "InService")
    }

    @Test func aNewerGenerationAbandonsPoolsStillStartingOnce() {
        var machine = serving()
        _ = machine.desired(generation: 2, traffic: TrafficConfig())
        #expect(machine.desired(generation: 3, traffic: TrafficConfig()) == .abandonStarting(generation: 2, newer: 3))
        #expect(machine.desired(generation: 3, traffic: TrafficConfig()) == .none, "abandoned once")
        #expect(machine.poolsFailed(generation: 2, reason: "killed").isRecord(outcome: .rolledBack))
        #expect(machine.desired(generation: 3, traffic: TrafficConfig()) == .startPools(generation: 3))
        // Once traffic moves, a newer generation waits for the update to end.
        _ = machine.poolsStarted(generation: 3)
        #expect(machine.desired(generation: 4, traffic: TrafficConfig()) == .none)
    }

    @Test func aRestartRestoresThenRetriesAnUnfinishedUpdate() {
        var machine = UpdateMachine()
        #expect(machine.restarted(applied: 1, lastGeneration: nil) == .restore(generation: 1))
        #expect(machine.status == "Updating")
        #expect(machine.desired(generation: 2, traffic: TrafficConfig()) == .none, "no update while restoring")
        #expect(machine.restored(generation: 1, failure: nil) == .recordRestore(generation: 1, failure: nil))
        #expect(machine.status == "InService")
        #expect(machine.desired(generation: 2, traffic: TrafficConfig()) == .startPools(generation: 2))

        var finished = UpdateMachine()
        _ = finished.restarted(applied: 1, lastGeneration: 2)
        _ = finished.restored(generation: 1, failure: nil)
        #expect(finished.desired(generation: 2, traffic: TrafficConfig()) == .none, "generation 2 had an outcome before the restart")

        var broken = UpdateMachine()
        _ = broken.restarted(applied: 1, lastGeneration: 1)
        #expect(broken.restored(generation: 1, failure: "no python") == .recordRestore(generation: 1, failure: "restarting generation 1 failed: no python"))
        #expect(broken.status == "Failed")
    }

    @Test func eventsOfAnotherGenerationOrPhaseAreIgnored() {
        var machine = serving()
        _ = machine.desired(generation: 2, traffic: TrafficConfig())
        let before = machine
        #expect(machine.poolsStarted(generation: 3) == .none)
        #expect(machine.oldDrained(generation: 2) == .none)
        #expect(machine.rolledBack(generation: 2) == .none)
        #expect(machine.bakeChecked(generation: 2, waited: .zero, counts: []) == .none)
        #expect(machine == before)
    }

    @Test func sharesFollowTheMode() {
        #expect(UpdateMachine.shares(traffic(.canary, step: 0.2), hasOld: true) == [0.2, 1])
        #expect(UpdateMachine.shares(traffic(.linear, step: 0.5), hasOld: true) == [0.5, 1])
        #expect(UpdateMachine.shares(traffic(.allAtOnce), hasOld: true) == [1])
        #expect(UpdateMachine.shares(traffic(.canary), hasOld: false) == [1])
    }
}

extension UpdateMachine.Action {
    func isRecord(outcome: UpdateMachine.Outcome) -> Bool {
        if case .record(_, outcome, _) = self { return true }
        return false
    }
}

/// Autoscaling decisions alone.
@Suite struct ScalerTests {
    @Test func scalesOutAtOnceAndInAfterTheCooldownOneAtATime() {
        var policy = AutoscalingConfig()
        policy.maxWorkers = 3
        policy.targetInFlight = 1
        policy.scaleInCooldown = 30
        var scaler = Scaler()
        #expect(scaler.observe(inFlight: 3, planned: 1, dead: 0, now: .seconds(0), policy: policy) == .scaleOut(from: 1, to: 3, average: 3))
        // The average of the last six samples falls slowly; the cooldown holds the workers.
        for second in 1...5 { #expect(scaler.observe(inFlight: 0, planned: 3, dead: 0, now: .seconds(second), policy: policy) == .none) }
        for _ in 0..<5 { _ = scaler.observe(inFlight: 0, planned: 3, dead: 0, now: .seconds(10), policy: policy) }
        #expect(scaler.observe(inFlight: 0, planned: 3, dead: 0, now: .seconds(29), policy: policy) == .none)
        #expect(scaler.observe(inFlight: 0, planned: 3, dead: 0, now: .seconds(30), policy: policy) == .scaleIn(from: 3, to: 2, average: 0))
        #expect(scaler.observe(inFlight: 0, planned: 2, dead: 0, now: .seconds(31), policy: policy) == .none, "cooling down again")
        #expect(scaler.observe(inFlight: 0, planned: 2, dead: 1, now: .seconds(90), policy: policy) == .none, "no scale-in while workers die")
        #expect(scaler.observe(inFlight: 0, planned: 0, dead: 1, now: .seconds(91), policy: policy) == .scaleOut(from: 0, to: 1, average: 0))
    }
}
