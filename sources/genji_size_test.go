package sources

import (
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/cdc-dev/cdc/dataflow"
)

// batchLen returns the real size of the Genji write batch of t (test-only introspection of
// genji.Tx's unexported transaction).
func batchLen(t testing.TB, tx *Txn) int64 {
	t.Helper()
	f := reflect.ValueOf(tx.tx).Elem().FieldByName("tx")
	dtx := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem() // *database.Transaction
	sess := dtx.Elem().FieldByName("Session").Elem()                      // *kv.BatchSession
	batch := sess.Elem().FieldByName("Batch").Interface().(interface{ Len() int })
	return int64(batch.Len())
}

// TestSizeEstimateBoundsBatch checks that the estimate charged for each kind of write is never
// below what Genji really adds to its batch.
func TestSizeEstimateBoundsBatch(t *testing.T) {
	s := openMem(t)
	pk := TableSchema{Name: "sz", Columns: []ColumnSchema{
		{Name: "k", Kind: dataflow.KindString}, {Name: "n", Kind: dataflow.KindInt},
		{Name: "blob", Kind: dataflow.KindBytes}, {Name: "f", Kind: dataflow.KindFloat},
		{Name: "d", Kind: dataflow.KindDecimal}, {Name: "t", Kind: dataflow.KindTime},
	}, PrimaryKey: []int{0, 1}}
	bag := TableSchema{Name: "szbag", Columns: pk.Columns}
	tx := begin(t, s, true)
	base := batchLen(t, tx)
	check := func(what string) {
		t.Helper()
		if real := batchLen(t, tx) - base; real > tx.bytes {
			t.Fatalf("%s: batch grew to %d bytes, estimate %d", what, real, tx.bytes)
		}
	}
	must(t, tx.CreateTable(pk))
	must(t, tx.CreateTable(bag))
	check("create")
	row := func(i int, size int) dataflow.Row {
		return dataflow.Row{dataflow.NewString(strings.Repeat("k", size) + string(rune('a'+i%26))),
			dataflow.NewInt(int64(i) * 1e12), dataflow.NewBytes(make([]byte, size*3)),
			dataflow.NewFloat(float64(i) + 0.5), dec(t, "-123456.789"), dataflow.NewTimeMicros(int64(i))}
	}
	var keys, bagKeys [][]byte
	for i := 0; i < 60; i++ {
		keys = append(keys, mustKey(t)(tx.Insert(pk, row(i, i*7))))
		bagKeys = append(bagKeys, mustKey(t)(tx.Insert(bag, row(i, i*7))))
		if i == 20 {
			must(t, tx.CreateIndex("sz_n", "sz", []string{"n", "blob"}, false))
			must(t, tx.CreateIndex("sz_u", "sz", []string{"k", "n", "d"}, true))
			must(t, tx.CreateIndex("szbag_k", "szbag", []string{"k", "f"}, false))
		}
	}
	check("insert + create index")
	for i := 0; i < 60; i += 2 {
		r := row(i+100, i*5)
		keys[i] = mustKey(t)(tx.Update(pk, keys[i], r)) // moves the row
		mustKey(t)(tx.Update(bag, bagKeys[i], r))
		r2 := row(i+100, i*5)
		r2[3] = dataflow.NewFloat(-1)
		mustKey(t)(tx.Update(pk, keys[i], r2)) // in place
	}
	check("update")
	for i := 1; i < 60; i += 2 {
		must(t, tx.Delete(pk, keys[i]))
		must(t, tx.Delete(bag, bagKeys[i]))
	}
	check("delete")
	must(t, tx.AppendLog(logTx(1, strings.Repeat("t", 5000))))
	must(t, tx.PutCatalog("sz", "table", strings.Repeat("x", 3000), 1))
	must(t, tx.DeleteCatalog("sz"))
	check("log and catalog")
	must(t, tx.DropIndex("sz_n"))
	must(t, tx.DropTable("szbag"))
	must(t, tx.DropTable("sz"))
	check("drop")
	t.Logf("real %d bytes, estimate %d", batchLen(t, tx)-base, tx.bytes)
}

// TestTxnSizeBound checks that a transaction is refused writes before Genji would spill it, and
// that the refused write left it usable.
func TestTxnSizeBound(t *testing.T) {
	s := openMem(t)
	s.maxTxnBytes = 256 << 10
	ts := TableSchema{Name: "big", Columns: []ColumnSchema{
		{Name: "id", Kind: dataflow.KindInt}, {Name: "v", Kind: dataflow.KindString},
	}, PrimaryKey: []int{0}}
	update(t, s, func(tx *Txn) { must(t, tx.CreateTable(ts)) })
	tx := begin(t, s, true)
	n := 0
	var err error
	for ; n < 10000; n++ {
		if _, err = tx.Insert(ts, dataflow.Row{dataflow.NewInt(int64(n)), dataflow.NewString(strings.Repeat("v", 1000))}); err != nil {
			break
		}
	}
	if !IsTxnTooLarge(err) {
		t.Fatalf("after %d rows: %v", n, err)
	}
	if n < 100 {
		t.Fatalf("refused after only %d rows", n)
	}
	if real := batchLen(t, tx); real > s.maxTxnBytes {
		t.Fatalf("batch %d bytes above the bound", real)
	}
	must(t, tx.Commit())
	if _, rows := scanStore(t, s, ts); len(rows) != n {
		t.Fatalf("%d rows committed, want %d", len(rows), n)
	}
	// A table too large to drop in one transaction is refused the same way.
	tx = begin(t, s, true)
	s.maxTxnBytes = 1 << 10
	if err := tx.DropTable("big"); !IsTxnTooLarge(err) {
		t.Fatalf("drop: %v", err)
	}
	must(t, tx.Rollback())
}
