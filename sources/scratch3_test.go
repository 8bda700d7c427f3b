package sources

import (
	"testing"

	"github.com/genjidb/genji"
)

func TestScratchReopen(t *testing.T) {
	for _, ddl := range []string{
		"CREATE TABLE `user` (`key` INTEGER NOT NULL, PRIMARY KEY (`key`))",
		"CREATE TABLE `t1` (`size` INTEGER)",
		"CREATE TABLE `t2` (`Select` INTEGER)",
		"CREATE TABLE `t3` (`a b` INTEGER)",
		"CREATE TABLE `t4` (`a.b` INTEGER)",
		"CREATE TABLE `my table` (a INTEGER)",
		"CREATE TABLE `select` (a INTEGER)",
		"CREATE TABLE t5 (a INTEGER); CREATE INDEX `key` ON t5 (a)",
		"CREATE TABLE t6 (`ORDER` INTEGER); CREATE INDEX i6 ON t6 (`ORDER`)",
		"CREATE TABLE t7 (`é` INTEGER)",
		"CREATE TABLE t8 (`1a` INTEGER)",
		"CREATE TABLE t9 (`a'b` INTEGER)",
	} {
		dir := t.TempDir()
		db, err := genji.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(ddl); err != nil {
			t.Logf("%s: exec: %v", ddl, err)
		}
		db.Close()
		db, err = genji.Open(dir)
		if err != nil {
			t.Logf("%s: REOPEN FAILED: %v", ddl, err)
			continue
		}
		t.Logf("%s: ok", ddl)
		db.Close()
	}
}
