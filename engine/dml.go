package engine

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// commitTime is the wall-clock time recorded in change events.
func commitTime() int64 { return time.Now().UnixMicro() }

// lookupTable returns a table for writing; views are read-only.
func (e *Engine) lookupTable(name string) (*table, error) {
	e.catMu.RLock()
	defer e.catMu.RUnlock()
	key := strings.ToLower(name)
	if t, ok := e.tables[key]; ok {
		if t.source != nil {
			return nil, sqlerr.New(sqlerr.NonUpdatable, "The target table %s of the INSERT/UPDATE/DELETE is not updatable: sources are read-only, their rows follow the bucket", name)
		}
		return t, nil
	}
	if _, ok := e.views[key]; ok {
		return nil, sqlerr.New(sqlerr.NonUpdatable, "The target table %s of the INSERT/UPDATE/DELETE is not updatable: materialized views are read-only", name)
	}
	if _, ok := e.plain[key]; ok {
		return nil, sqlerr.New(sqlerr.NonUpdatable, "The target table %s of the INSERT/UPDATE/DELETE is not updatable", name)
	}
	return nil, sqlerr.New(sqlerr.NoSuchTable, "Table '%s' doesn't exist", name)
}

// relation describes a table to the expression binder under an alias.
func (t *table) relation(alias string) *sqlplan.Relation {
	cols := make([]sqlplan.ColumnInfo, len(t.schema.Columns))
	for i, c := range t.schema.Columns {
		cols[i] = sqlplan.ColumnInfo{Name: c.Name, Kind: c.Kind}
	}
	return &sqlplan.Relation{Name: alias, Columns: cols}
}

// record adds a row change to the transaction: its dataflow update and its change event,
// whose change-log bytes count against the transaction's size bound (it fails with
// sources.IsTxnTooLarge when they would pass it; the statement is then undone).
func (t *txnState) record(tb *table, op changelogpb.ChangeEvent_Op, key []byte, before, after dataflow.Row) error {
	src := tableSource(tb.schema.Name)
	t.tables[tb.schema.Name] = tb
	ev := &changelogpb.ChangeEvent{Table: tb.schema.Name, Op: op, Key: key}
	if before != nil {
		t.changes[src] = append(t.changes[src], dataflow.Update{Row: before, Diff: -1})
		ev.Before = sources.EncodeRow(before)
	}
	if after != nil {
		t.changes[src] = append(t.changes[src], dataflow.Update{Row: after, Diff: 1})
		ev.After = sources.EncodeRow(after)
	}
	t.events = append(t.events, ev)
	// The event's bytes, its field tag and length in the Transaction record.
	return t.gtx.ChargeLog(int64(proto.Size(ev)) + 6)
}

// insert runs INSERT ... VALUES and INSERT ... SELECT, and REPLACE, which first deletes the
// row with the same primary key (counting it as affected, as MySQL does).
func (s *Session) insert(ctx context.Context, t *txnState, st *sqlparser.Insert, undo *[]undoEntry) (int64, error) {
	replace := st.Action == sqlparser.ReplaceAct
	if st.Ignore || len(st.OnDup) > 0 {
		return 0, sqlerr.New(sqlerr.NotSupported, "INSERT IGNORE and ON DUPLICATE KEY UPDATE are not supported yet")
	}
	tn, ok := st.Table.Expr.(sqlparser.TableName)
	if !ok {
		return 0, sqlerr.New(sqlerr.NotSupported, "INSERT target must be a table")
	}
	tb, err := s.e.lookupTable(tn.Name.String())
	if err != nil {
		return 0, err
	}
	names := make([]string, len(st.Columns))
	for i, c := range st.Columns {
		names[i] = c.String()
	}
	cols, err := tb.columnList(names)
	if err != nil {
		return 0, err
	}
	var values [][]dataflow.Datum
	switch rows := st.Rows.(type) {
	case sqlparser.Values:
		for n, tuple := range rows {
			if len(tuple) != len(cols) {
				return 0, sqlerr.New(sqlerr.WrongValueCnt, "Column count doesn't match value count at row %d", n+1)
			}
			vals := make([]dataflow.Datum, len(cols))
			for i, ex := range tuple {
				if _, isDefault := ex.(*sqlparser.Default); isDefault {
					vals[i] = defaultOf(tb.schema.Columns[cols[i]])
					continue
				}
				conv, err := sqlplan.BindExpr(nil, ex)
				if err != nil {
					return 0, err
				}
				if vals[i], err = conv.Eval(nil); err != nil {
					return 0, err
				}
			}
			values = append(values, vals)
		}
	case sqlparser.TableStatement:
		res, err := s.selectInTxn(ctx, rows)
		if err != nil {
			return 0, err
		}
		if len(res.Columns) != len(cols) {
			return 0, sqlerr.New(sqlerr.WrongValueCnt, "Column count doesn't match value count at row 1")
		}
		for _, r := range res.Rows {
			values = append(values, r)
		}
	default:
		return 0, sqlerr.New(sqlerr.NotSupported, "INSERT source not supported: %s", sqlparser.String(st.Rows))
	}
	return insertValues(t, tb, cols, values, replace, undo)
}

// columnList resolves the column list of an INSERT or LOAD DATA to column positions; no
// names is every column in order.
func (tb *table) columnList(names []string) ([]int, error) {
	cols := make([]int, 0, len(tb.schema.Columns))
	if len(names) == 0 {
		for i := range tb.schema.Columns {
			cols = append(cols, i)
		}
		return cols, nil
	}
	seen := map[int]bool{}
	for _, c := range names {
		i := tb.columnIndex(c)
		if i < 0 {
			return nil, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'field list'", c)
		}
		if seen[i] {
			return nil, sqlerr.New(sqlerr.FieldSpecifiedTwice, "Column '%s' specified twice", c)
		}
		seen[i] = true
		cols = append(cols, i)
	}
	return cols, nil
}

// insertValues inserts rows of values for the columns cols of tb (the others get their
// defaults), REPLACE deleting the row with the same primary key first.
func insertValues(t *txnState, tb *table, cols []int, values [][]dataflow.Datum, replace bool, undo *[]undoEntry) (int64, error) {
	provided := make([]bool, len(tb.schema.Columns))
	for _, c := range cols {
		provided[c] = true
	}
	rows := make([]dataflow.Row, 0, len(values))
	for n, vals := range values {
		row := make(dataflow.Row, len(tb.schema.Columns))
		for i, c := range tb.schema.Columns {
			if !provided[i] {
				if c.Default == nil && c.NotNull {
					return 0, sqlerr.New(sqlerr.NoDefault, "Field '%s' doesn't have a default value", c.Name)
				}
				row[i] = defaultOf(c)
			}
		}
		for i, c := range cols {
			row[c] = vals[i]
		}
		if err := tb.coerceRow(row, n+1); err != nil {
			return 0, err
		}
		rows = append(rows, row)
	}
	if len(rows) > 1 { // one row is refused by its own write before anything is written
		if err := t.gtx.CheckInserts(tb.schema, rows); err != nil {
			return 0, err
		}
	}
	var affected int64
	for _, row := range rows {
		if replace && len(tb.schema.PrimaryKey) > 0 {
			k := dataflow.AppendColumnsKey(nil, row, tb.schema.PrimaryKey)
			old, found, err := t.gtx.Get(tb.schema, k)
			if err != nil {
				return 0, err
			}
			if found {
				if err := t.gtx.Delete(tb.schema, k); err != nil {
					return 0, err
				}
				*undo = append(*undo, undoEntry{schema: tb.schema, restore: old})
				if err := t.record(tb, changelogpb.ChangeEvent_DELETE, k, old, nil); err != nil {
					return 0, err
				}
				affected++
			}
		}
		key, err := t.gtx.Insert(tb.schema, row)
		if err != nil {
			return 0, err
		}
		*undo = append(*undo, undoEntry{schema: tb.schema, key: key})
		if err := t.record(tb, changelogpb.ChangeEvent_INSERT, key, nil, row); err != nil {
			return 0, err
		}
		affected++
	}
	return affected, nil
}

// defaultOf is a column's default value, NULL when it has none.
func defaultOf(c sources.ColumnSchema) dataflow.Datum {
	if c.Default != nil {
		return *c.Default
	}
	return dataflow.Null
}

// coerceRow converts every value to its column's type in place.
func (tb *table) coerceRow(row dataflow.Row, rowNum int) error {
	for i, c := range tb.schema.Columns {
		v, err := coerce(row[i], c, tb.rules[i], rowNum)
		if err != nil {
			return err
		}
		row[i] = v
	}
	return nil
}

// selectInTxn runs a query that must see the session's own uncommitted writes. Like a
// query, it is evaluated without the engine's lock.
func (s *Session) selectInTxn(ctx context.Context, stmt sqlparser.TableStatement) (*Result, error) {
	e := s.e
	e.mu.Lock()
	q, err := sqlplan.PlanQuery(catalog{e}, stmt)
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	snap, err := e.readSnapshot(q, s.txn.gtx)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer snap.close()
	rows, err := evalQuery(ctx, q, snap, e.budget(ctx))
	if err != nil {
		return nil, err
	}
	return &Result{Columns: resultColumns(q.Columns()), Rows: rows}, nil
}

// target resolves the single table of an UPDATE or DELETE and its alias.
func (s *Session) target(exprs []sqlparser.TableExpr) (*table, string, error) {
	if len(exprs) != 1 {
		return nil, "", sqlerr.New(sqlerr.NotSupported, "multi-table UPDATE and DELETE are not supported yet")
	}
	ate, ok := exprs[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return nil, "", sqlerr.New(sqlerr.NotSupported, "multi-table UPDATE and DELETE are not supported yet")
	}
	tn, ok := ate.Expr.(sqlparser.TableName)
	if !ok {
		return nil, "", sqlerr.New(sqlerr.NotSupported, "UPDATE and DELETE need a table")
	}
	tb, err := s.e.lookupTable(tn.Name.String())
	if err != nil {
		return nil, "", err
	}
	alias := tn.Name.String()
	if !ate.As.IsEmpty() {
		alias = ate.As.String()
	}
	return tb, alias, nil
}

type storedRow struct {
	key []byte
	row dataflow.Row
}

// matching returns the rows of a table that satisfy WHERE, up to LIMIT.
func (s *Session) matching(t *txnState, tb *table, alias string, where *sqlparser.Where, order sqlparser.OrderBy, limit *sqlparser.Limit) ([]storedRow, error) {
	if len(order) > 0 {
		return nil, sqlerr.New(sqlerr.NotSupported, "ORDER BY in UPDATE and DELETE is not supported yet")
	}
	max := int64(-1)
	if limit != nil {
		if limit.Offset != nil {
			return nil, sqlerr.New(sqlerr.Parse, "LIMIT with an offset is not allowed here")
		}
		lit, ok := limit.Rowcount.(*sqlparser.Literal)
		if !ok || lit.Type != sqlparser.IntVal {
			return nil, sqlerr.New(sqlerr.Parse, "LIMIT takes an integer literal")
		}
		n, err := strconv.ParseInt(lit.Val, 10, 64)
		if err != nil {
			return nil, sqlerr.New(sqlerr.Parse, "LIMIT takes an integer literal")
		}
		max = n
	}
	var pred dataflow.Expr
	if where != nil {
		if sqlplan.HasSubquery(where.Expr) {
			return nil, sqlerr.New(sqlerr.NotSupported, "subqueries in UPDATE and DELETE are not supported yet")
		}
		var err error
		if pred, err = sqlplan.BindExpr(tb.relation(alias), where.Expr); err != nil {
			return nil, err
		}
	}
	var out []storedRow
	if max == 0 {
		return nil, nil
	}
	if where != nil {
		if key, ok := tb.pointKey(alias, where.Expr); ok {
			row, found, err := t.gtx.Get(tb.schema, key)
			if err != nil || !found {
				return nil, err
			}
			if pred != nil {
				v, err := pred.Eval(row)
				if err != nil || !dataflow.IsTrue(v) {
					return nil, err
				}
			}
			return []storedRow{{key: key, row: row}}, nil
		}
	}
	err := t.gtx.Scan(tb.schema, func(key []byte, row dataflow.Row) error {
		if pred != nil {
			v, err := pred.Eval(row)
			if err != nil {
				return err
			}
			if !dataflow.IsTrue(v) {
				return nil
			}
		}
		out = append(out, storedRow{key: append([]byte(nil), key...), row: row})
		if max > 0 && int64(len(out)) >= max {
			return errStopScan
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopScan) {
		return nil, err
	}
	return out, nil
}

// errStopScan ends a table scan early once LIMIT rows matched.
var errStopScan = errors.New("stop scan")

// update runs a single-table UPDATE. Assignments are evaluated left to right, each seeing the
// ones before it, as MySQL does.
func (s *Session) update(t *txnState, st *sqlparser.Update, undo *[]undoEntry) (int64, error) {
	if st.With != nil {
		return 0, sqlerr.New(sqlerr.NotSupported, "WITH is not supported yet")
	}
	tb, alias, err := s.target(st.TableExprs)
	if err != nil {
		return 0, err
	}
	rel := tb.relation(alias)
	type assignment struct {
		col  int
		expr dataflow.Expr
	}
	var sets []assignment
	for _, ue := range st.Exprs {
		if sqlplan.HasSubquery(ue.Expr) {
			return 0, sqlerr.New(sqlerr.NotSupported, "subqueries in UPDATE are not supported yet")
		}
		i := tb.columnIndex(ue.Name.Name.String())
		if i < 0 || (!ue.Name.Qualifier.IsEmpty() && !strings.EqualFold(ue.Name.Qualifier.Name.String(), alias)) {
			return 0, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'field list'", sqlparser.String(ue.Name))
		}
		ex, err := sqlplan.BindExpr(rel, ue.Expr)
		if err != nil {
			return 0, err
		}
		sets = append(sets, assignment{i, ex})
	}
	rows, err := s.matching(t, tb, alias, st.Where, st.OrderBy, st.Limit)
	if err != nil {
		return 0, err
	}
	var n int64
	for i, r := range rows {
		next := append(dataflow.Row(nil), r.row...)
		for _, a := range sets {
			v, err := a.expr.Eval(next)
			if err != nil {
				return 0, err
			}
			v, err = coerce(v, tb.schema.Columns[a.col], tb.rules[a.col], i+1)
			if err != nil {
				return 0, err
			}
			next[a.col] = v
		}
		if dataflow.CompareRows(next, r.row) == 0 {
			continue
		}
		newKey, err := t.gtx.Update(tb.schema, r.key, next)
		if err != nil {
			return 0, err
		}
		*undo = append(*undo, undoEntry{schema: tb.schema, key: newKey, restore: r.row})
		if err := t.record(tb, changelogpb.ChangeEvent_UPDATE, newKey, r.row, next); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// delete runs a single-table DELETE.
func (s *Session) delete(t *txnState, st *sqlparser.Delete, undo *[]undoEntry) (int64, error) {
	if st.With != nil || len(st.Targets) > 0 {
		return 0, sqlerr.New(sqlerr.NotSupported, "multi-table DELETE is not supported yet")
	}
	tb, alias, err := s.target(st.TableExprs)
	if err != nil {
		return 0, err
	}
	rows, err := s.matching(t, tb, alias, st.Where, st.OrderBy, st.Limit)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if err := t.gtx.Delete(tb.schema, r.key); err != nil {
			return 0, err
		}
		*undo = append(*undo, undoEntry{schema: tb.schema, restore: r.row})
		if err := t.record(tb, changelogpb.ChangeEvent_DELETE, r.key, r.row, nil); err != nil {
			return 0, err
		}
	}
	return int64(len(rows)), nil
}

// pointKey returns the storage key of the one row a WHERE clause can match when it fixes
// every primary key column to a constant (pk = literal AND ...), so that UPDATE and DELETE
// by key read one row instead of scanning the table.
func (tb *table) pointKey(alias string, where sqlparser.Expr) ([]byte, bool) {
	pk := tb.schema.PrimaryKey
	if len(pk) == 0 {
		return nil, false
	}
	vals := make(dataflow.Row, len(pk))
	set := make([]bool, len(pk))
	for _, c := range sqlplan.SplitAnd(where, nil) {
		cmp, ok := c.(*sqlparser.ComparisonExpr)
		if !ok || cmp.Operator != sqlparser.EqualOp {
			continue
		}
		col, lit := cmp.Left, cmp.Right
		if _, isCol := col.(*sqlparser.ColName); !isCol {
			col, lit = lit, col
		}
		name, isCol := col.(*sqlparser.ColName)
		if !isCol || (!name.Qualifier.IsEmpty() && !strings.EqualFold(name.Qualifier.Name.String(), alias)) {
			continue
		}
		if _, isLit := lit.(*sqlparser.Literal); !isLit {
			continue
		}
		i := tb.columnIndex(name.Name.String())
		for j, p := range pk {
			if p != i || set[j] {
				continue
			}
			e, err := sqlplan.BindExpr(nil, lit)
			if err != nil {
				return nil, false
			}
			v, err := e.Eval(nil)
			if err != nil || v.IsNull() || v.Kind() != tb.schema.Columns[i].Kind {
				// Only exact kinds: a conversion could make several stored values equal.
				return nil, false
			}
			vals[j], set[j] = v, true
		}
	}
	for _, ok := range set {
		if !ok {
			return nil, false
		}
	}
	return dataflow.AppendRowKey(nil, vals), true
}
