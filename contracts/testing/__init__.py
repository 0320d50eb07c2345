"""The testing tools built on the contract: strategies, invariants, the state machine, transports and verify."""
