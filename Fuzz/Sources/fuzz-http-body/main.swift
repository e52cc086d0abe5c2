import FuzzSupport

runLibFuzzer(fuzzHTTPBody)
