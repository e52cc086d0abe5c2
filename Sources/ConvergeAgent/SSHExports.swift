// The agent's SSH server is built on the shared libssh foundation (host keys,
// fingerprints, errors); whoever imports the agent sees those types too.
@_exported import ConvergeSSH
