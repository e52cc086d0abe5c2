// ConvergeClient: placeholder until its first file lands.
