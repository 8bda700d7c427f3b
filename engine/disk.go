package engine

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cdc-dev/cdc/sqlerr"
)

// DefaultMinFreeDisk is the free space below which writes are refused unless
// Options.MinFreeDisk says otherwise.
const DefaultMinFreeDisk = 64 << 20

// diskFull is the error of a write refused for want of space.
func diskFull(dir string, free, min uint64) error {
	return sqlerr.New(sqlerr.DiskFull, "Disk full: the disk holding %s has %s free, below the %s the engine keeps in reserve; "+
		"writes are refused until space is freed", dir, byteSize(free), byteSize(min))
}

// diskGuard refuses writes with a disk-full error when the file system holding dir has
// less than min bytes free. The storage engines treat a failed write as fatal (Pebble stops
// the process), so the engine refuses writes while some space is still left: reads go on,
// and writes resume as soon as space is freed. A file system whose free space cannot be
// read passes.
//
// Its answer is reused briefly: a statfs on every BEGIN and every commit was a syscall per
// transaction twice over. While the free space measured last is
// several reserves above the reserve (diskSlack), it is trusted for diskRecheck: writes of
// that long cannot fill the gap (a group commit is at most a few MiB). Nearer the reserve
// every call measures. Safe for concurrent use.
type diskGuard struct {
	dir  string
	min  uint64
	at   atomic.Int64  // when free was measured (UnixNano); 0: never
	free atomic.Uint64 // bytes free then
}

// Bounds of diskGuard's reuse.
const (
	diskRecheck = 50 * time.Millisecond
	diskSlack   = 4
)

// check returns the disk-full error when the guard's directory is short of space.
func (g *diskGuard) check() error {
	if g.dir == "" || g.min == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	if at := g.at.Load(); at != 0 && now-at < int64(diskRecheck) && g.free.Load() >= diskSlack*g.min {
		return nil
	}
	free, low := lowDisk(g.dir, g.min) // free is 0 when unreadable: measured again next time
	g.free.Store(free)
	g.at.Store(now)
	if low {
		return diskFull(g.dir, free, g.min)
	}
	return nil
}

// checkDiskAtStart is diskGuard's start-up error: it says what to do.
func checkDiskAtStart(dir string, min uint64) error {
	if free, low := lowDisk(dir, min); low {
		return fmt.Errorf("cannot start: the disk holding %s has %s free, below the %s the engine keeps in reserve. "+
			"Free space on that disk (or lower the reserve, --min-free-mb) and start again", dir, byteSize(free), byteSize(min))
	}
	return nil
}

// lowDisk returns the free bytes of dir's file system and whether they are below min.
func lowDisk(dir string, min uint64) (uint64, bool) {
	if dir == "" || min == 0 {
		return 0, false
	}
	free, ok := freeBytes(dir)
	return free, ok && free < min
}

// byteSize prints a number of bytes for people.
func byteSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
