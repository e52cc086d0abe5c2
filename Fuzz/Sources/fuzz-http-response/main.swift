import FuzzSupport

runLibFuzzer(fuzzHTTPResponse)
