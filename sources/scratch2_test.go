package sources

import (
	"testing"

	"github.com/genjidb/genji"
)

func benchGenji(b *testing.B, path string, prep bool) {
	db, err := genji.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.Exec("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c DOUBLE)")
	db.Exec("CREATE TABLE __cdc_log (lsn INTEGER PRIMARY KEY, data BLOB NOT NULL)")
	payload := make([]byte, 60)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, err := db.Begin(true)
		if err != nil {
			b.Fatal(err)
		}
		if prep {
			s1, err := tx.Prepare("INSERT INTO t (a, b, c) VALUES (?, ?, ?)")
			if err != nil {
				b.Fatal(err)
			}
			s2, err := tx.Prepare("INSERT INTO __cdc_log (lsn, data) VALUES (?, ?)")
			if err != nil {
				b.Fatal(err)
			}
			if err := s1.Exec(int64(i), "hello", 1.5); err != nil {
				b.Fatal(err)
			}
			if err := s2.Exec(int64(i+1), payload); err != nil {
				b.Fatal(err)
			}
		} else {
			if err := tx.Exec("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", int64(i), "hello", 1.5); err != nil {
				b.Fatal(err)
			}
			if err := tx.Exec("INSERT INTO __cdc_log (lsn, data) VALUES (?, ?)", int64(i+1), payload); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawMem(b *testing.B)  { benchGenji(b, ":memory:", false) }
func BenchmarkRawDisk(b *testing.B) { benchGenji(b, b.TempDir(), false) }

func BenchmarkRawPrepareOnly(b *testing.B) {
	db, _ := genji.Open(":memory:")
	defer db.Close()
	db.Exec("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c DOUBLE)")
	tx, _ := db.Begin(true)
	defer tx.Rollback()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := tx.Prepare("INSERT INTO t (a, b, c) VALUES (?, ?, ?)"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawExecPrepared(b *testing.B) {
	db, _ := genji.Open(":memory:")
	defer db.Close()
	db.Exec("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c DOUBLE)")
	tx, _ := db.Begin(true)
	defer tx.Rollback()
	s, _ := tx.Prepare("INSERT INTO t (a, b, c) VALUES (?, ?, ?)")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := s.Exec(int64(i), "hello", 1.5); err != nil {
			b.Fatal(err)
		}
	}
}
func BenchmarkRawSelectPK(b *testing.B) {
	db, _ := genji.Open(":memory:")
	defer db.Close()
	db.Exec("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c DOUBLE)")
	tx, _ := db.Begin(true)
	defer tx.Rollback()
	for i := 0; i < 10000; i++ {
		tx.Exec("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", int64(i), "hello", 1.5)
	}
	s, _ := tx.Prepare("SELECT a, b, c FROM t WHERE a = ?")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.QueryDocument(int64(i % 10000)); err != nil {
			b.Fatal(err)
		}
	}
}
