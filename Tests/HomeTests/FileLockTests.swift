import Foundation
import Testing
@testable import Home

/// `flock` locks: held until released, refused or waited for while another holder has
/// them, and a holder named by the pid it recorded. (`flock` belongs to the open file, so
/// two locks in one process exclude each other like two processes.)
@Suite struct FileLockTests {
    let fixture = ProcessFixture()

    @Test func aHeldLockIsRefusedWithoutWaitingAndNamesItsHolderUntilReleased() throws {
        let path = fixture.root + "/agent.lock"
        var held: FileLock? = try FileLock.attempt(path: path, creating: true)
        #expect(held != nil)
        held?.record(pid: getpid())
        #expect(try FileLock.attempt(path: path) == nil)
        #expect(FileLock.holder(of: path) == getpid())
        held = nil
        #expect(FileLock.holder(of: path) == nil)
        #expect(try FileLock.attempt(path: path) != nil)
    }

    @Test func aMissingLockFileIsNilUnlessItMayBeCreated() throws {
        #expect(try FileLock.attempt(path: fixture.root + "/missing") == nil)
        #expect(try FileLock.existing(path: fixture.root + "/missing", timeout: 0) == nil)
        #expect(FileLock.holder(of: fixture.root + "/missing") == nil)
        #expect(throws: FileError.self) { try FileLock.attempt(path: fixture.root + "/no/folder/lock", creating: true) }
    }

    @Test func aWaitGivesUpAfterItsTimeoutSayingHowToFindTheHolder() throws {
        let path = fixture.root + "/stripe"
        let held = try FileLock(path: path)
        let error = #expect(throws: FileError.self) { try FileLock(path: path, timeout: 0.05) }
        #expect(error == .lockTimeout(path: path, seconds: 0.05))
        #expect(error?.description.contains("fuser -v '\(path)'") == true)
        withExtendedLifetime(held) {}
    }

    @Test func anAsyncWaitGetsTheLockOnceItsHolderLetsGo() async throws {
        let path = fixture.root + "/env.lock"
        var held: FileLock? = try FileLock(path: path)
        async let waited = FileLock.waiting(path: path, poll: .milliseconds(5))
        try await Task.sleep(for: .milliseconds(50))
        #expect(FileLock.holder(of: path) == -1, "still held (without a recorded pid) while the other waits")
        #expect(held != nil)
        held = nil
        let lock = try await waited
        #expect(lock.path == path)
    }

    @Test func aLockKnowsWhenItsFileWasRemoved() throws {
        let path = fixture.root + "/journal.json"
        let lock = try FileLock(path: path)
        #expect(!lock.isUnlinked)
        #expect(try FileIO.remove(path))
        #expect(lock.isUnlinked)
    }
}
