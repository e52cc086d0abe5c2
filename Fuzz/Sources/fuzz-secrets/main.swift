import FuzzSupport

runLibFuzzer(fuzzSecrets)
