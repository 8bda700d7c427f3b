package sqlplan

import (
	"strings"

	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// cteEntry is a common table expression and its position in its WITH clause.
type cteEntry struct {
	def *sqlparser.CommonTableExpr
	at  int
}

// pushWith makes the common table expressions of a WITH clause visible to the query and its
// subqueries, as named queries inlined where they are used (like plain views); each may use
// those before it. The returned function hides them again.
func (p *planner) pushWith(w *sqlparser.With) (func(), error) {
	if w == nil {
		return func() {}, nil
	}
	if w.Recursive {
		return nil, sqlerr.New(sqlerr.NotSupported, "WITH RECURSIVE is not supported")
	}
	level := map[string]cteEntry{}
	for i, c := range w.CTEs {
		name := strings.ToLower(c.ID.String())
		if _, dup := level[name]; dup {
			return nil, sqlerr.New(sqlerr.NonUniqTable, "Not unique table/alias: '%s'", c.ID.String())
		}
		level[name] = cteEntry{def: c, at: i}
	}
	p.ctes = append(p.ctes, level)
	n := len(p.ctes)
	return func() { p.ctes = p.ctes[:n-1] }, nil
}

// planCTE plans the use of a common table expression by name as a FROM item, if one is
// visible: its body sees the enclosing WITH clauses and the expressions declared before it
// in its own.
func (p *planner) planCTE(name string) (fromItem, bool, error) {
	for level := len(p.ctes) - 1; level >= 0; level-- {
		e, ok := p.ctes[level][strings.ToLower(name)]
		if !ok {
			continue
		}
		saved := p.ctes
		before := map[string]cteEntry{}
		for k, o := range p.ctes[level] {
			if o.at < e.at {
				before[k] = o
			}
		}
		p.ctes = append(append([]map[string]cteEntry(nil), saved[:level]...), before)
		it, err := p.planNamedQuery(e.def)
		p.ctes = saved
		return it, true, err
	}
	return fromItem{}, false, nil
}

// planNamedQuery plans a common table expression's body as a FROM item.
func (p *planner) planNamedQuery(c *sqlparser.CommonTableExpr) (fromItem, error) {
	if p.viewDepth >= maxViewDepth {
		return fromItem{}, sqlerr.New(sqlerr.NotSupported, "common table expressions nested deeper than %d levels", maxViewDepth)
	}
	p.viewDepth++
	q, err := p.planStatement(c.Subquery, nil)
	p.viewDepth--
	if err != nil {
		return fromItem{}, err
	}
	it := fromItem{alias: c.ID.String()}
	it.plan, it.cols = ViewPlan(q)
	it.order = VisibleOrder(q)
	if len(c.Columns) > 0 {
		if len(c.Columns) != len(it.cols) {
			return fromItem{}, sqlerr.New(sqlerr.WrongValueCnt, "In definition of common table expression %s, the column list has %d names for %d columns", c.ID.String(), len(c.Columns), len(it.cols))
		}
		renamed := make([]ColumnInfo, len(it.cols))
		for i, col := range it.cols {
			renamed[i] = ColumnInfo{Name: c.Columns[i].String(), Kind: col.Kind, SQLType: col.SQLType}
		}
		it.cols = renamed
	}
	return it, nil
}
