// Package sources is the write side of the engine: durable, transactional source tables in an
// embedded Genji database (v0.15.2), the change log written in the same transactions, and the
// engine's catalog. The engine evaluates all SQL itself; Genji only stores rows.
//
// Layout in Genji. User identifiers never reach Genji's parser: Genji persists its catalog as
// SQL text without quoting column names, and a database with a column named `key`, `select`
// or `a b` cannot be reopened. Names are mangled instead (prefix + "_" + name when the name is
// [A-Za-z0-9_]+, else prefix + "x_" + hex of the name):
//
//   - table T  -> Genji table t_T; a table without primary key gets a hidden INTEGER primary
//     key __cdc_rowid (Genji's own docid cannot be looked up without a full scan);
//   - column C of kind k -> field c<k>_C, k one of i f d s b t (int, float, decimal, string,
//     bytes, time), so Genji's catalog alone tells a column's name and kind;
//   - index I  -> Genji index i_I (index names are global to the store);
//   - __cdc_log, __cdc_catalog, __cdc_meta: change log, engine catalog, format version.
//
// Values are stored in encodings that avoid Genji v0.15.2 bugs (see genji_encoding.go):
// Int and Time as INTEGER, Float as INTEGER (order-preserving IEEE bits), String, Bytes and
// Decimal as BLOB holding the dataflow key encoding padded to 128 bytes. Keys returned by
// Insert are dataflow.AppendColumnsKey of the primary key, or dataflow.AppendKey of the row id.
//
// Limits that follow from Genji: a transaction may add at most about 8 MiB to Genji's write
// batch (IsTxnTooLarge), values in a primary key or index at most 16000 bytes, and generated
// table and index names at most 127 bytes.
package sources
