import FuzzSupport

runLibFuzzer(fuzzWebSocket)
