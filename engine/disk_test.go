package engine_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// tinyDisk mounts a tmpfs of the given MiB on a temporary directory, or skips the test where
// that is not allowed (mounting needs root).
func tinyDisk(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mib), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// TestDiskFull fills a small disk: writes are refused with MySQL's disk-full error before
// the storage engines run out of space (which would stop the process), nothing is half
// applied, reads and views keep working, and a start on a full disk says what to do.
func TestDiskFull(t *testing.T) {
	ctx := context.Background()
	// The reserve is the default one: it must cover what the storage engines write in the
	// background between a write's check and its commit (a Genji memtable flush of 16 MiB
	// and the compactions after it). A reserve of 24 MiB on an 80 MiB disk once let such
	// work fill the disk under a commit's write-ahead log (Pebble stops the process).
	dir := tinyDisk(t, 200) + "/data"
	opts := engine.Options{MinFreeDisk: engine.DefaultMinFreeDisk}
	e, _ := reopen(t, nil, dir, opts)
	s := e.NewSession()
	mustExec(t, s, `CREATE TABLE t (k INT PRIMARY KEY, s TEXT)`)
	mustExec(t, s, `CREATE MATERIALIZED VIEW v AS SELECT COUNT(*) AS n, SUM(LENGTH(s)) AS bytes FROM t`)
	blob := strings.Repeat("x", 100_000)
	var full error
	n := 0
	for i := 0; i < 3000 && full == nil; i++ {
		_, full = s.Exec(ctx, fmt.Sprintf(`INSERT INTO t VALUES (%d, '%s')`, i, blob))
		if full == nil {
			n++
		}
	}
	if se := sqlerr.As(full); se == nil || se.Code != sqlerr.DiskFull || !strings.Contains(full.Error(), "until space is freed") {
		t.Fatalf("filling the disk: %v", full)
	}
	if n == 0 {
		t.Fatal("no write succeeded before the disk was full")
	}
	if got := rowsOf(t, s, "SELECT n FROM v"); len(got) != 1 || got[0] != fmt.Sprint(n) {
		t.Fatalf("view after %d accepted writes: %v", n, got)
	}
	verifyAll(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// A start with less free space than the reserve (here: more reserve than the disk has).
	if e, err := engine.Open(ctx, engine.Options{Dir: dir, MinFreeDisk: 256 << 20}); err == nil || !strings.Contains(err.Error(), "Free space on that disk") {
		if err == nil {
			e.Close()
		}
		t.Fatalf("opening on a full disk: %v", err)
	}
	// With space freed (here: a smaller reserve) it starts and writes again.
	opts.MinFreeDisk = 1 << 20
	e, _ = reopen(t, nil, dir, opts)
	mustExec(t, e.NewSession(), fmt.Sprintf(`INSERT INTO t VALUES (%d, 'small')`, n))
	verifyAll(t, e)
}
