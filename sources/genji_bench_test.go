package sources

import (
	"fmt"
	"testing"
	"time"

	"github.com/genjidb/genji"

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

// BenchmarkRowOps measures single operations on a 10,000-row in-memory table, without commit
// cost (the transaction is renewed every 500 operations, off the clock): Insert, Get, Update
// and Delete each run O(1) Genji statements.
func BenchmarkRowOps(b *testing.B) {
	for _, ts := range []TableSchema{benchTable, {Name: "bag", Columns: benchTable.Columns}} {
		kind := "pk"
		if len(ts.PrimaryKey) == 0 {
			kind = "bag"
		}
		s := benchStore(b, false, ts)
		keys := make([][]byte, 10000)
		update(b, s, func(tx *Txn) {
			for i := range keys {
				keys[i] = mustKey(b)(tx.Insert(ts, benchRow(i)))
			}
		})
		run := func(name string, op func(tx *Txn, i int) error) {
			b.Run(kind+"/"+name, func(b *testing.B) {
				tx, err := s.Begin(true)
				must(b, err)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%500 == 499 {
						b.StopTimer()
						must(b, tx.Commit())
						tx, err = s.Begin(true)
						must(b, err)
						b.StartTimer()
					}
					if err := op(tx, i); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				must(b, tx.Commit())
			})
		}
		run("get", func(tx *Txn, i int) error {
			_, ok, err := tx.Get(ts, keys[i%len(keys)])
			if err == nil && !ok {
				err = ErrRowNotFound
			}
			return err
		})
		run("update", func(tx *Txn, i int) error {
			r := benchRow(i % len(keys))
			r[1] = dataflow.NewString(fmt.Sprint("updated ", i))
			_, err := tx.Update(ts, keys[i%len(keys)], r)
			return err
		})
		run("insert+delete", func(tx *Txn, i int) error {
			k, err := tx.Insert(ts, benchRow(100000+i))
			if err != nil {
				return err
			}
			return tx.Delete(ts, k)
		})
	}
}

// BenchmarkGenjiBaseline is the floor BenchmarkInsert is measured against: plain Genji SQL
// with the same shape (one row insert + one log row per committed transaction), statements
// prepared in each transaction as the store must.
func BenchmarkGenjiBaseline(b *testing.B) {
	for _, disk := range []bool{false, true} {
		name := "mem"
		if disk {
			name = "disk"
		}
		b.Run(name, func(b *testing.B) {
			path := ":memory:"
			if disk {
				path = b.TempDir()
			}
			db, err := genji.Open(path)
			must(b, err)
			b.Cleanup(func() { db.Close() })
			must(b, db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER, at INTEGER)"))
			must(b, db.Exec("CREATE TABLE log (lsn INTEGER PRIMARY KEY, data BLOB NOT NULL)"))
			payload := make([]byte, 80)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tx, err := db.Begin(true)
				must(b, err)
				must(b, tx.Exec("INSERT INTO t (id, name, score, at) VALUES (?, ?, ?, ?)", int64(i), "name-of-the-row", int64(i), int64(i)))
				must(b, tx.Exec("INSERT INTO log (lsn, data) VALUES (?, ?)", int64(i+1), payload))
				must(b, tx.Commit())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txn/s")
		})
	}
}
