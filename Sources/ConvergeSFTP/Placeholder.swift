// ConvergeSFTP: placeholder until its first file lands.
