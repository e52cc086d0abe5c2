import FuzzSupport

runLibFuzzer(fuzzSFTP)
