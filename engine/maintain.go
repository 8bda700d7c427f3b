package engine

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// maintain runs maintainOnce every interval until ctx ends.
func (e *Engine) maintain(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.maintainOnce(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("maintenance", "err", err)
			}
		}
	}
}

// truncateChunk is how many log records one truncating transaction deletes.
const truncateChunk = 2000

// maintainOnce syncs the view store, drops view history beyond the retention and truncates
// the change log below what both the views and the retention still need.
//
// The log is the durable truth and view store batches are not synced, so a crash may lose
// the view store's last epochs; they are replayed from the log. The log is therefore only
// truncated below the frontier of the last synced view store batch.
func (e *Engine) maintainOnce(ctx context.Context) error {
	e.mu.Lock()
	if e.closed || e.failed != nil {
		e.mu.Unlock()
		return nil
	}
	head := e.lsn
	synced := head
	var toSync uint64
	if e.state.durable() {
		synced, toSync = e.state.synced, e.state.frontier
	}
	e.mu.Unlock()
	if toSync > synced {
		// Syncing the write-ahead log makes every batch committed before it durable; it
		// needs no lock (Pebble is safe for concurrent use) and writers go on meanwhile.
		if err := e.state.store.Flush(); err != nil {
			return fmt.Errorf("sync view store: %w", err)
		}
		e.mu.Lock()
		e.state.synced = max(e.state.synced, toSync)
		synced = e.state.synced
		e.mu.Unlock()
	}

	oldest, err := e.store.OldestLSN()
	if err != nil {
		return err
	}
	keep, err := e.retainedFrom(head, oldest)
	if err != nil {
		return err
	}
	if err := e.truncateHistory(keep); err != nil {
		return err
	}
	e.mu.Lock()
	err = e.pruneUndo()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	below := min(synced, keep)
	for from := oldest; from < below; from += truncateChunk {
		select {
		case e.writer <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		err := e.store.TruncateLog(from, min(from+truncateChunk, below))
		<-e.writer
		if err != nil {
			return err
		}
	}
	return nil
}

// retainedFrom returns, for a log from oldest to head, the oldest LSN the retention asks to
// keep resumable: feeds may resume AS OF it, and the change log keeps the transactions after
// it.
func (e *Engine) retainedFrom(head, oldest uint64) (uint64, error) {
	r := e.retention
	keep := head
	if r.LSNs > 0 && head > r.LSNs {
		keep = head - r.LSNs
	} else if r.LSNs > 0 {
		keep = 0
	}
	if r.For > 0 {
		byTime, err := e.lastCommittedBefore(time.Now().Add(-r.For).UnixMicro(), oldest, head)
		if err != nil {
			return 0, err
		}
		keep = min(keep, byTime)
	}
	return keep, nil
}

// lastCommittedBefore returns the highest LSN in [oldest, head] committed before micros (a
// binary search over the log, whose commit times grow with the LSN), or oldest less one when
// none is.
func (e *Engine) lastCommittedBefore(micros int64, oldest, head uint64) (uint64, error) {
	if oldest == 0 {
		return 0, nil
	}
	lo, hi := oldest, head+1 // the answer is lo-1 ... hi-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		t, ok, err := e.store.CommitTime(mid)
		if err != nil {
			return 0, err
		}
		if ok && t < micros {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1, nil
}

// truncateHistory drops the view history at and below keep.
func (e *Engine) truncateHistory(keep uint64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state
	if !st.durable() || keep <= st.historyFrom || e.closed || e.failed != nil {
		return nil
	}
	for _, v := range e.order {
		if v.graph != nil {
			st.batch.TruncateHistory(v.historyName(), keep+1)
		}
	}
	st.batch.SetMeta(metaHistoryFrom, beUint64(keep))
	if err := st.batch.Commit(false); err != nil {
		return e.fail(err)
	}
	st.historyFrom = keep
	return nil
}

// ParseRetention reads a retention as a command line gives it: a duration ("24h", "90m")
// keeps the transactions of that long, a plain number that many LSNs.
func ParseRetention(s string) (Retention, error) {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		if n == 0 {
			return Retention{}, fmt.Errorf("log retention %q: keep at least one LSN", s)
		}
		return Retention{LSNs: n}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Retention{}, fmt.Errorf("log retention %q: want a positive duration (24h) or a number of LSNs", s)
	}
	return Retention{For: d}, nil
}
