package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"

	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// recover brings back the catalog of an existing data directory (tables, indexes, views and
// materialized views in the order they were created) and the materialized views: each from
// its stored state, brought up to the log head by replaying the change log after the store's
// frontier. A view whose state is missing or unusable, or that reads such a view, is
// recomputed from its tables instead, and the log says so.
func (e *Engine) recover(ctx context.Context) error {
	lsn, err := e.store.LastLSN()
	if err != nil {
		return fmt.Errorf("read change log head: %w", err)
	}
	e.setLSN(lsn)
	entries, err := e.store.LoadCatalog()
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	staleReason := ""
	covered := true // the undo records cover the epochs of a view store ahead of the log
	if e.state.durable() {
		oldest, err := e.store.OldestLSN()
		if err != nil {
			return fmt.Errorf("read change log: %w", err)
		}
		if e.state.frontier > lsn {
			if covered, err = e.state.undoCovers(lsn); err != nil {
				return err
			}
		}
		switch {
		case !covered:
			staleReason = fmt.Sprintf("the view store is at LSN %d, ahead of the change log (LSN %d)", e.state.frontier, lsn)
		case oldest > 0 && e.state.frontier+1 < oldest:
			staleReason = fmt.Sprintf("the view store is at LSN %d and the change log starts at LSN %d", e.state.frontier, oldest)
		}
	}
	rebuild := map[*view]string{}
	tx, err := e.store.Begin(false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, ent := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.catSeq = ent.Seq
		switch ent.Kind {
		case kindTable:
			stmt, err := sqlplan.Parser().Parse(ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			ct, ok := stmt.(*sqlparser.CreateTable)
			if !ok {
				return fmt.Errorf("catalog entry %s is not CREATE TABLE", ent.Name)
			}
			t, err := tableFromAST(ct)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			if err := e.storedName(t); err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			e.tables[ent.Name] = t
		case kindSource:
			st, err := sqlplan.Parse(ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			cs, ok := st.(*sqlplan.CreateSource)
			if !ok {
				return fmt.Errorf("catalog entry %s is not CREATE SOURCE", ent.Name)
			}
			e.tables[ent.Name] = sourceTable(cs, ent.Definition)
		case kindModule:
			st, err := sqlplan.Parse(ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			cm, ok := st.(*sqlplan.CreateModule)
			if !ok {
				return fmt.Errorf("catalog entry %s is not CREATE MODULE", ent.Name)
			}
			mod, err := compileModule(cm)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			key := strings.ToLower(cm.Name)
			e.modules[key] = &module{key: key, def: ent.Definition, mod: mod}
			for _, mt := range mod.Tables {
				if t, ok := e.tables[strings.ToLower(mt.Name)]; ok {
					t.module = key
				}
			}
		case kindSink:
			st, err := sqlplan.Parse(ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			cs, ok := st.(*sqlplan.CreateSink)
			if !ok {
				return fmt.Errorf("catalog entry %s is not CREATE SINK", ent.Name)
			}
			sk, err := newSink(cs, ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			e.sinks[strings.ToLower(cs.Name)] = sk
		case kindIndex:
			stmt, err := sqlplan.Parser().Parse(ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			if at, ok := stmt.(*sqlparser.AlterTable); ok {
				e.indexes[strings.TrimPrefix(ent.Name, "index:")] = strings.ToLower(at.Table.Name.String())
			}
		case kindView:
			stmt, err := sqlplan.Parser().Parse(ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			cv, ok := stmt.(*sqlparser.CreateView)
			if !ok {
				return fmt.Errorf("catalog entry %s is not CREATE VIEW", ent.Name)
			}
			e.plain[ent.Name] = &plainView{name: cv.ViewName.Name.String(), sql: ent.Definition, query: cv.Select, refs: referencedNames(cv.Select)}
		case kindMaterializedView:
			st, err := sqlplan.Parse(ent.Definition)
			if err != nil {
				return fmt.Errorf("catalog entry %s: %w", ent.Name, err)
			}
			cmv, ok := st.(*sqlplan.CreateMaterializedView)
			if !ok {
				return fmt.Errorf("catalog entry %s is not CREATE MATERIALIZED VIEW", ent.Name)
			}
			// Its stored record (nil if none) has the row counts it was planned with, so
			// that it plans the same way and finds its state.
			var rec *viewRecord
			var joinRows map[string]int64
			if e.state.durable() {
				r, ok, err := e.state.loadViewRecord(ent.Seq)
				if err != nil {
					return fmt.Errorf("read stored state of materialized view %s: %w", cmv.Name, err)
				}
				if ok {
					rec, joinRows = &r, r.joinRows
				}
			}
			q, _, err := e.planView(cmv.Query, nil, joinRows)
			if err != nil {
				return fmt.Errorf("materialized view %s: %w", cmv.Name, err)
			}
			v := newView(ent.Seq, cmv.Name, ent.Definition, q)
			v.refs, v.joinRows = referencedNames(cmv.Query), joinRows
			why := staleReason
			if why == "" {
				why = e.upstreamRebuilt(v)
			}
			if why == "" {
				if why, err = e.attachView(v, rec); err != nil {
					return err
				}
			}
			if why != "" {
				// Rebuilt once the others have caught up with the log (see rebuild).
				v.graph = nil
				rebuild[v] = why
				e.views[strings.ToLower(v.name)] = v
				e.order = append(e.order, v)
				continue
			}
			e.register(v)
		default:
			return fmt.Errorf("catalog entry %s has unknown kind %q", ent.Name, ent.Kind)
		}
	}
	e.indexMethods()
	// Before the garbage collection, which deletes the undo records with every history no
	// view owns.
	if covered {
		if err := e.undoAhead(lsn); err != nil {
			return err
		}
	}
	if err := e.collectGarbage(); err != nil {
		return err
	}
	if err := e.replay(ctx, lsn); err != nil {
		return err
	}
	e.setLSN(lsn)
	return e.rebuild(ctx, tx, rebuild)
}

// upstreamRebuilt returns why v must be rebuilt if a view it reads is being rebuilt.
func (e *Engine) upstreamRebuilt(v *view) string {
	for _, r := range v.refs {
		if u, ok := e.views[r]; ok && u.graph == nil {
			return fmt.Sprintf("it reads materialized view %s, which is rebuilt", u.name)
		}
	}
	return ""
}

// collectGarbage deletes the stored state of views that are no longer in the catalog (a
// crash between dropping a view and deleting its state leaves it behind) and of views
// about to be rebuilt.
func (e *Engine) collectGarbage() error {
	if !e.state.durable() {
		return nil
	}
	keepArr := map[string]bool{}
	keepHist := map[string]bool{}
	keepMeta := map[string]bool{}
	for _, v := range e.order {
		if v.graph == nil {
			continue
		}
		for _, n := range v.owned {
			keepArr[n] = true
		}
		for id := range v.shared {
			keepArr[id] = true
		}
		keepHist[v.historyName()] = true
		keepMeta[string(v.metaKey())] = true
	}
	st := e.state.store
	names, err := st.ArrangementNames()
	if err != nil {
		return fmt.Errorf("list stored arrangements: %w", err)
	}
	b := st.NewBatch()
	for _, n := range names {
		if !keepArr[n] {
			b.DeleteArrangement(n)
		}
	}
	if names, err = st.HistoryNames(); err != nil {
		return fmt.Errorf("list stored histories: %w", err)
	}
	for _, n := range names {
		if !keepHist[n] {
			b.DeleteHistory(n)
		}
	}
	err = st.ScanMeta(metaViewPrefix, func(k, _ []byte) error {
		if !keepMeta[string(k)] {
			b.DeleteMeta(append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list stored views: %w", err)
	}
	if b.Empty() {
		return nil
	}
	return b.Commit(false)
}

// replay runs the transactions of the change log after the view store's frontier through
// the attached views, up to head.
func (e *Engine) replay(ctx context.Context, head uint64) error {
	from := e.state.frontier
	if !e.state.durable() || from >= head {
		return nil
	}
	needed := map[string]*table{}
	attached := 0
	for _, v := range e.order {
		if v.graph == nil {
			continue
		}
		attached++
		for src := range v.sources {
			if name, ok := strings.CutPrefix(src, "table:"); ok {
				needed[name] = e.tables[name]
			}
		}
	}
	if attached == 0 {
		return nil
	}
	start := time.Now()
	n := 0
	err := e.store.ReadLog(from, func(tx *changelogpb.Transaction) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		inputs, err := logInputs(tx, needed)
		if err != nil {
			return fmt.Errorf("replay LSN %d: %w", tx.Lsn, err)
		}
		res, err := e.runEpoch(tx.Lsn, inputs, nil) // committed: replayed whatever it costs
		if err != nil {
			return fmt.Errorf("replay LSN %d: %w", tx.Lsn, err)
		}
		n++
		return e.applyEpoch(tx.Lsn, res)
	})
	if err != nil {
		return err
	}
	e.log.Info("replayed the change log into the materialized views", "from", from, "to", head,
		"transactions", n, "took", time.Since(start))
	return nil
}

// logInputs turns a logged transaction into the dataflow changes of the tables in needed.
func logInputs(tx *changelogpb.Transaction, needed map[string]*table) (map[string][]dataflow.Update, error) {
	inputs := map[string][]dataflow.Update{}
	for _, ev := range tx.Events {
		name := strings.ToLower(ev.Table)
		if _, ok := needed[name]; !ok {
			continue
		}
		src := tableSource(name)
		for _, img := range []struct {
			row  *changelogpb.Row
			diff dataflow.Diff
		}{{ev.Before, -1}, {ev.After, 1}} {
			if img.row == nil {
				continue
			}
			row, err := sources.DecodeRow(img.row)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", ev.Table, err)
			}
			inputs[src] = append(inputs[src], dataflow.Update{Row: row, Time: tx.Lsn, Diff: img.diff})
		}
	}
	for src, us := range inputs {
		inputs[src] = dataflow.Consolidate(us)
	}
	return inputs, nil
}

// rebuild recomputes the views recover could not attach, in catalog order, from the
// tables at the log head.
func (e *Engine) rebuild(ctx context.Context, tx *sources.Txn, rebuild map[*view]string) error {
	for i, v := range e.order {
		why, ok := rebuild[v]
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		// A view built again is planned for the tables as they are now.
		q, joinRows, err := e.replanView(v, tx)
		if err != nil {
			return fmt.Errorf("rebuild materialized view %s: %w", v.name, err)
		}
		built, err := e.buildView(ctx, v.id, v.name, v.sql, q, joinRows, tx, false, func(f func() error) error { return f() })
		if err != nil {
			e.state.discard()
			return fmt.Errorf("rebuild materialized view %s: %w", v.name, err)
		}
		built.refs = v.refs
		e.order[i] = built
		e.views[strings.ToLower(v.name)] = built
		e.acquireShared(built)
		if err := e.state.commitView(built); err != nil {
			return err
		}
		e.log.Warn("recomputed materialized view from its tables", "view", v.name, "why", why,
			"lsn", e.lsn, "took", time.Since(start))
	}
	return nil
}

// replanView plans a view's definition again, counting the rows of what it reads through tx.
func (e *Engine) replanView(v *view, tx *sources.Txn) (*sqlplan.Query, map[string]int64, error) {
	st, err := sqlplan.Parse(v.sql)
	if err != nil {
		return nil, nil, err
	}
	cmv, ok := st.(*sqlplan.CreateMaterializedView)
	if !ok {
		return nil, nil, fmt.Errorf("definition of %s is not CREATE MATERIALIZED VIEW", v.name)
	}
	return e.planView(cmv.Query, tx, nil)
}

// storedName gives a table the name its storage has when its definition no longer parses to
// it: earlier builds accepted names that are not valid UTF-8, which the parser reads back
// with U+FFFD in place of the invalid bytes. The stored table whose name lower-cases to the
// same key is the one; the table stays reachable under that key, for DROP TABLE.
func (e *Engine) storedName(t *table) error {
	if e.storedTables == nil {
		names, err := e.store.StoredTableNames()
		if err != nil {
			return err
		}
		e.storedTables = map[string]bool{}
		for _, n := range names {
			e.storedTables[n] = true
		}
	}
	if e.storedTables[t.schema.Name] {
		return nil
	}
	key := strings.ToLower(t.schema.Name)
	for n := range e.storedTables {
		if strings.ToLower(n) == key {
			e.log.Warn("a table created by an earlier build has a name that is not valid UTF-8: new objects cannot be named so; drop it", "table", strconv.Quote(n))
			t.schema.Name = n
			return nil
		}
	}
	return nil
}
