// ConvergeServer: placeholder until its first file lands.
