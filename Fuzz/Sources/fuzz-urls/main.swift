import FuzzSupport

runLibFuzzer(fuzzURLs)
