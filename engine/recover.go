package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// recover brings back the catalog of an existing data directory: tables, indexes, views and
// materialized views in the order they were created. Materialized views are recomputed from
// their tables (durable arrangements come with the Pebble store).
func (e *Engine) recover(ctx context.Context) error {
	lsn, err := e.store.LastLSN()
	if err != nil {
		return fmt.Errorf("read change log head: %w", err)
	}
	e.lsn = lsn
	entries, err := e.store.LoadCatalog()
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
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
			e.tables[ent.Name] = t
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
			q, err := sqlplan.PlanQuery(catalog{e}, cmv.Query)
			if err != nil {
				return fmt.Errorf("materialized view %s: %w", cmv.Name, err)
			}
			v, err := e.buildView(cmv.Name, ent.Definition, q, tx)
			if err != nil {
				return fmt.Errorf("materialized view %s: %w", cmv.Name, err)
			}
			v.refs = referencedNames(cmv.Query)
			e.register(v)
			e.log.Info("recomputed materialized view", "view", cmv.Name, "lsn", e.lsn)
		default:
			return fmt.Errorf("catalog entry %s has unknown kind %q", ent.Name, ent.Kind)
		}
	}
	return nil
}
