// Package sources is the write side of the engine: durable, transactional source tables in an
// embedded Genji database, the change log written in the same transactions, and the engine's
// catalog.
//
// Storage layout in Genji (all names are generated; user identifiers never reach Genji's
// parser, because Genji v0.15 persists its own catalog as unquoted SQL and would fail to reopen
// a database with a column named `key`, `select`, `a b`, ...):
//
//   - table T        -> Genji table t_T (or tx_<hex of T> if T is not [A-Za-z0-9_]+)
//   - column C       -> field c<k>_C (or c<k>x_<hex>), k is the kind: i int, f float,
//     d decimal, s string, b bytes, t time
//   - index I        -> Genji index i_I (or ix_<hex>)
//   - a table without a primary key gets a hidden INTEGER primary key __cdc_rowid
//   - __cdc_log, __cdc_catalog and __cdc_meta hold the change log, the engine's catalog and
//     the storage format version.
//
// Value encodings onto Genji types: Int, Time (microseconds) -> INTEGER; Float -> INTEGER
// holding the order-preserving transform of its IEEE bits (Genji v0.15 corrupts -0.0 and NaN
// in DOUBLE); Decimal, String -> TEXT; Bytes -> BLOB.
package sources
