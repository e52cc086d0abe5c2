import SystemPackage

/// What a handle refers to. The path is kept for error messages and diagnostics.
enum SFTPOpenObject {
    case file(FileDescriptor, path: SFTPPath)
    case directory(SFTPDirectoryStream, path: SFTPPath)
}

/// The session's open files and directories, by the handle given to the client.
/// Handle numbers are not reused soon after a close, so a client bug that uses a
/// stale handle gets "Invalid handle" rather than someone else's file.
struct SFTPHandleTable {
    private var objects: [UInt32: SFTPOpenObject] = [:]
    private var nextHandle: UInt32 = 0
    let capacity: Int

    init(capacity: Int = SFTPLimits.maximumOpenHandles) {
        self.capacity = capacity
    }

    var count: Int { objects.count }
    var isFull: Bool { objects.count >= capacity }

    /// Stores `object` and returns its new handle. The caller checks `isFull` first.
    mutating func insert(_ object: SFTPOpenObject) -> SFTPHandle {
        precondition(!isFull, "handle table is full")
        while objects[nextHandle] != nil || nextHandle == SFTPHandle.invalid.rawValue {
            nextHandle &+= 1
        }
        let handle = nextHandle
        nextHandle &+= 1
        objects[handle] = object
        return SFTPHandle(rawValue: handle)
    }

    subscript(handle: SFTPHandle) -> SFTPOpenObject? {
        objects[handle.rawValue]
    }

    mutating func remove(_ handle: SFTPHandle) -> SFTPOpenObject? {
        objects.removeValue(forKey: handle.rawValue)
    }

    mutating func removeAll() -> [SFTPOpenObject] {
        defer { objects.removeAll() }
        return Array(objects.values)
    }
}
