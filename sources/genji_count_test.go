package sources

import (
	"fmt"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

// TestCountRows checks the counts a view's join order is chosen by: exact for a small table
// and for a large one whose keys are all in the memtable, estimated within a factor of 1.5
// for a large one on disk, and never above the limit.
func TestCountRows(t *testing.T) {
	s := openMem(t)
	schema := func(name string) TableSchema {
		return TableSchema{Name: name, Columns: []ColumnSchema{
			{Name: "k", Kind: dataflow.KindInt}, {Name: "v", Kind: dataflow.KindString},
		}, PrimaryKey: []int{0}}
	}
	fill := func(ts TableSchema, n int) {
		for from := 0; from < n; from += 20_000 {
			update(t, s, func(tx *Txn) {
				for i := from; i < min(n, from+20_000); i++ {
					mustKey(t)(tx.Insert(ts, dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString(fmt.Sprintf("row %d of %s", i, ts.Name))}))
				}
			})
		}
	}
	small, big, fresh := schema("small"), schema("big"), schema("fresh")
	update(t, s, func(tx *Txn) {
		for _, ts := range []TableSchema{small, big, fresh} {
			must(t, tx.CreateTable(ts))
		}
	})
	fill(small, 1000)
	fill(big, 200_000)
	must(t, s.db.DB.DB.Flush())
	fill(fresh, 50_000) // in the memtable only
	count := func(ts TableSchema, limit int64) int64 {
		t.Helper()
		tx := begin(t, s, false)
		n, err := tx.CountRows(ts, limit)
		must(t, err)
		return n
	}
	if n := count(small, 1<<21); n != 1000 {
		t.Errorf("small: counted %d rows, want 1000", n)
	}
	if n := count(fresh, 1<<21); n != 50_000 {
		t.Errorf("fresh (in the memtable): counted %d rows, want 50000", n)
	}
	n := count(big, 1<<21)
	t.Logf("big: estimated %d rows of 200000", n)
	if n == 200_000 {
		t.Errorf("big: counted exactly, not estimated")
	}
	if n < 200_000*2/3 || n > 300_000 {
		t.Errorf("big: estimated %d rows, want 200000 within a factor of 1.5", n)
	}
	if n := count(big, 100_000); n != 100_000 {
		t.Errorf("big with limit 100000: %d", n)
	}
	if n := count(small, 10); n != 10 {
		t.Errorf("small with limit 10: %d", n)
	}
}
