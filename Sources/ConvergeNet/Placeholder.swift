// ConvergeNet: placeholder until its first file lands.
