import FuzzSupport

runLibFuzzer(fuzzAgentLeg)
