package sources

import (
	"testing"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
)

var benchTable = TableSchema{Name: "bench", Columns: []ColumnSchema{
	{Name: "id", Kind: dataflow.KindInt, NotNull: true},
	{Name: "name", Kind: dataflow.KindString},
	{Name: "score", Kind: dataflow.KindFloat},
	{Name: "at", Kind: dataflow.KindTime},
}, PrimaryKey: []int{0}}

func benchStore(b *testing.B, disk bool, ts TableSchema) *Store {
	dir := ""
	if disk {
		dir = b.TempDir()
	}
	s, err := OpenStore(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	update(b, s, func(tx *Txn) { must(b, tx.CreateTable(ts)) })
	return s
}

func benchRow(i int) dataflow.Row {
	return dataflow.Row{dataflow.NewInt(int64(i)), dataflow.NewString("name-of-the-row"),
		dataflow.NewFloat(float64(i) / 3), dataflow.NewTimeMicros(1700000000000000 + int64(i))}
}

// BenchmarkInsert measures one committed transaction = one row insert + its change-log record,
// the engine's single-row write path.
func BenchmarkInsert(b *testing.B) {
	for _, c := range []struct {
		name string
		disk bool
		ts   TableSchema
	}{
		{"mem/pk", false, benchTable},
		{"mem/bag", false, TableSchema{Name: "bag", Columns: benchTable.Columns}},
		{"disk/pk", true, benchTable},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := benchStore(b, c.disk, c.ts)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tx, err := s.Begin(true)
				if err != nil {
					b.Fatal(err)
				}
				row := benchRow(i)
				key, err := tx.Insert(c.ts, row)
				if err != nil {
					b.Fatal(err)
				}
				lsn := uint64(i + 1)
				now := time.Now().UnixMicro()
				err = tx.AppendLog(&changelogpb.Transaction{Lsn: lsn, CommitTimeMicros: now,
					Events: []*changelogpb.ChangeEvent{{Lsn: lsn, Table: c.ts.Name, Op: changelogpb.ChangeEvent_INSERT,
						Key: key, After: EncodeRow(row), CommitTimeMicros: now}}})
				if err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
		})
	}
}

// BenchmarkInsertBatch measures rows per second in transactions of 1,000 rows plus one log
// record each (on disk).
func BenchmarkInsertBatch(b *testing.B) {
	s := benchStore(b, true, benchTable)
	b.ReportAllocs()
	b.ResetTimer()
	id := 0
	for i := 0; i < b.N; i++ {
		tx, err := s.Begin(true)
		if err != nil {
			b.Fatal(err)
		}
		lsn := uint64(i + 1)
		rec := &changelogpb.Transaction{Lsn: lsn}
		for j := 0; j < 1000; j++ {
			row := benchRow(id)
			id++
			key, err := tx.Insert(benchTable, row)
			if err != nil {
				b.Fatal(err)
			}
			rec.Events = append(rec.Events, &changelogpb.ChangeEvent{Lsn: lsn, Table: benchTable.Name,
				Op: changelogpb.ChangeEvent_INSERT, Key: key, After: EncodeRow(row)})
		}
		if err := tx.AppendLog(rec); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRowOps measures single operations inside one long transaction on a 10,000-row
// table (no commit cost): Insert, Get, Update and Delete each do O(1) Genji statements.
func BenchmarkRowOps(b *testing.B) {
	for _, ts := range []TableSchema{benchTable, {Name: "bag", Columns: benchTable.Columns}} {
		kind := "pk"
		if len(ts.PrimaryKey) == 0 {
			kind = "bag"
		}
		s := benchStore(b, false, ts)
		tx := begin(b, s, true)
		keys := make([][]byte, 10000)
		for i := range keys {
			keys[i] = mustKey(b)(tx.Insert(ts, benchRow(i)))
		}
		b.Run(kind+"/get", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, ok, err := tx.Get(ts, keys[i%len(keys)]); err != nil || !ok {
					b.Fatal(err, ok)
				}
			}
		})
		b.Run(kind+"/update", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				k := keys[i%len(keys)]
				r := benchRow(i % len(keys))
				r[1] = dataflow.NewString("updated")
				if _, err := tx.Update(ts, k, r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kind+"/insert+delete", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				k, err := tx.Insert(ts, benchRow(100000+i))
				if err != nil {
					b.Fatal(err)
				}
				if err := tx.Delete(ts, k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
