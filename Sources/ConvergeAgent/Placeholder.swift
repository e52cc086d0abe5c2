// ConvergeAgent: placeholder until its first file lands.
