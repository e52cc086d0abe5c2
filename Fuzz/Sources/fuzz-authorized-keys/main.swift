import FuzzSupport

runLibFuzzer(fuzzAuthorizedKeys)
