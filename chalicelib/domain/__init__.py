"""Pure logic, no I/O: schemas, validation, geo, pseudonyms, statistics keys, cursors."""
