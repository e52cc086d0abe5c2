// ConvergeWire: placeholder until its first file lands.
