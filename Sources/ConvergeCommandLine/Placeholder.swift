// ConvergeCommandLine: placeholder until its first file lands.
