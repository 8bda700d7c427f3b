package engine

import (
	"context"
	"fmt"
	"time"
)

// purgeDropped deletes the rows of the tables that DROP TABLE set aside (too large to delete
// in the dropping transaction; see sources/genji_drop.go): each table's key ranges at once,
// in a transaction of its own holding the writer slot.
// It runs after such a DROP TABLE, before it returns, and at Open for a purge a crash
// interrupted. The dropped table is already gone from the catalog: the purge only frees
// its room (and its index names). It stops when ctx is done or the engine closes; what is
// left is purged the next time.
func (e *Engine) purgeDropped(ctx context.Context) error {
	trash, err := e.store.DroppedTables()
	if err != nil {
		return fmt.Errorf("list dropped tables: %w", err)
	}
	for _, name := range trash {
		start, steps := time.Now(), 0
		for done := false; !done; steps++ {
			if done, err = e.purgeStep(ctx, name); err != nil {
				return err
			}
		}
		e.log.Info("purged the rows of a dropped table", "table", name, "steps", steps, "took", time.Since(start))
	}
	return nil
}

// purgeStep runs one purge transaction of a set-aside table.
func (e *Engine) purgeStep(ctx context.Context, name string) (bool, error) {
	select {
	case e.writer <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-e.writer }()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false, errEngineClosed
	}
	gtx, err := e.store.Begin(true)
	if err != nil {
		e.mu.Unlock()
		return false, fmt.Errorf("purge %s: %w", name, err)
	}
	e.openTxn = gtx
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.openTxn = nil
		e.mu.Unlock()
	}()
	done, err := gtx.PurgeStep(name)
	if err != nil {
		_ = gtx.Rollback()
		return false, err
	}
	if err := gtx.Commit(); err != nil {
		return false, fmt.Errorf("purge %s: commit: %w", name, err)
	}
	return done, nil
}
