@testable import ConvergeClient
import ConvergeTestSupport

/// Runs a relay in the background and gives back its result.
func runRelay(_ relay: Relay) -> Background<Result<RelayOutcome, RelayError>> {
    nonisolated(unsafe) let relay = relay
    return Background { Result { () throws(RelayError) in try relay.run() } }
}

func quickOptions() -> RelayOptions {
    var options = RelayOptions()
    options.closeGrace = 1
    return options
}
