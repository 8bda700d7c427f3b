package sqlplan

import (
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// fromItem is one relation of a FROM clause with its own plan.
type fromItem struct {
	alias string
	plan  Plan
	cols  []ColumnInfo
	// domainOf is set for the domain of a correlated subquery: the position in the
	// enclosing query's rows of each of its columns (see decorrelate).
	domainOf []int
	// colTables, if set, is the relation alias of each column (an outer join's item
	// holds the columns of several relations); alias is then empty.
	colTables []string
	// order is the relation's own order over its columns (Relation.Order), if any.
	order []SortKey
	// rows is Relation.Rows of a table or materialized view read whole; sized says that the
	// item is one (everything else has no count).
	rows  func() int64
	sized bool
}

// maxViewDepth bounds the inlining of views within views.
const maxViewDepth = 32

// planFrom plans the FROM clause with the WHERE conjuncts: single-relation predicates are
// pushed onto their relation, equalities between relations become join keys, relations are
// joined in an order that follows those equalities, and each remaining predicate is applied
// as soon as the relations it names are joined. It returns the plan, the scope of its rows
// and the conjuncts left for later (those with subqueries).
func (p *planner) planFrom(from []sqlparser.TableExpr, where []sqlparser.Expr, outer *scope) (Plan, *scope, []sqlparser.Expr, error) {
	var items []fromItem
	if p.domain != nil {
		// The domain of the correlated subquery being planned: this FROM's, not that of a
		// derived table inside it.
		items = append(items, *p.domain)
		p.domain = nil
	}
	preds := append([]sqlparser.Expr(nil), where...)
	for _, te := range from {
		if err := p.collectFrom(te, &items, &preds, outer); err != nil {
			return nil, nil, nil, err
		}
	}
	return p.joinItems(items, preds, outer)
}

// joinItems plans the inner join of FROM items under the conjuncts preds (see planFrom).
func (p *planner) joinItems(items []fromItem, preds []sqlparser.Expr, outer *scope) (Plan, *scope, []sqlparser.Expr, error) {
	p.fromOrder = nil
	if len(items) == 1 {
		p.fromOrder = items[0].order
	}
	if len(items) == 0 || (len(items) == 1 && items[0].domainOf != nil) {
		items = append(items, fromItem{plan: &Values{Rows: []dataflow.Row{{}}}})
	}
	seen := map[string]bool{}
	for _, it := range items {
		for _, alias := range it.aliases() {
			k := strings.ToLower(alias)
			if seen[k] {
				return nil, nil, nil, sqlerr.New(sqlerr.NonUniqTable, "Not unique table/alias: '%s'", alias)
			}
			seen[k] = true
		}
	}
	all := itemScope(items, allItems(len(items)), outer)
	type conj struct {
		e    sqlparser.Expr
		refs []int // items named, sorted
		done bool
	}
	var conjs []*conj
	var post []sqlparser.Expr
	for _, e := range preds {
		if HasSubquery(e) {
			post = append(post, e)
			continue
		}
		refs, err := itemRefs(all, items, e)
		if err != nil {
			return nil, nil, nil, err
		}
		conjs = append(conjs, &conj{e: e, refs: refs})
	}
	// Push single-relation predicates down.
	for _, c := range conjs {
		if len(c.refs) == 1 {
			i := c.refs[0]
			sc := itemScope(items, []int{i}, outer)
			pred, err := ConvertScalar(&exprScope{s: sc}, c.e)
			if err != nil {
				return nil, nil, nil, err
			}
			in := items[i].plan
			if pos, k, ok := rankBound(sc, c.e); ok {
				in, _ = limitRanked(in, pos, k)
			}
			items[i].plan = &Filter{Input: in, Pred: pred}
			c.done = true
		}
	}
	// Relations are joined smallest first when every one has a size and they differ (see
	// joinOrderBySize), else in FROM order.
	sizes := joinOrderBySize(items)
	before := func(a, b int) bool {
		if b < 0 {
			return true
		}
		if sizes != nil && sizes[a] != sizes[b] {
			return sizes[a] < sizes[b]
		}
		return a < b
	}
	first := 0
	for i := range items {
		if before(i, first) {
			first = i
		}
	}
	joined := []int{first}
	in := func(i int) bool {
		for _, j := range joined {
			if j == i {
				return true
			}
		}
		return false
	}
	subset := func(refs []int, extra int) bool {
		for _, r := range refs {
			if r != extra && !in(r) {
				return false
			}
		}
		return true
	}
	plan := items[first].plan
	applyReady := func() error {
		sc := itemScope(items, joined, outer)
		for _, c := range conjs {
			if c.done || !subset(c.refs, -1) {
				continue
			}
			pred, err := ConvertScalar(&exprScope{s: sc}, c.e)
			if err != nil {
				return err
			}
			plan = &Filter{Input: plan, Pred: pred}
			c.done = true
		}
		return nil
	}
	if err := applyReady(); err != nil {
		return nil, nil, nil, err
	}
	for len(joined) < len(items) {
		next := -1
		for _, c := range conjs {
			if c.done || !isEquality(c.e) {
				continue
			}
			for _, r := range c.refs {
				if !in(r) && subset(c.refs, r) && before(r, next) {
					next = r
				}
			}
		}
		if next < 0 {
			for i := range items {
				if !in(i) && before(i, next) {
					next = i
				}
			}
		}
		// Equalities between the joined relations and the next one become join keys.
		var leftKeys, rightKeys []sqlparser.Expr
		for _, c := range conjs {
			if c.done || !isEquality(c.e) || !subset(c.refs, next) || !containsInt(c.refs, next) {
				continue
			}
			cmp := c.e.(*sqlparser.ComparisonExpr)
			lr, _ := itemRefs(all, items, cmp.Left)
			rr, _ := itemRefs(all, items, cmp.Right)
			switch {
			case len(lr) > 0 && subset(lr, -1) && len(rr) == 1 && rr[0] == next:
				leftKeys, rightKeys = append(leftKeys, cmp.Left), append(rightKeys, cmp.Right)
			case len(rr) > 0 && subset(rr, -1) && len(lr) == 1 && lr[0] == next:
				leftKeys, rightKeys = append(leftKeys, cmp.Right), append(rightKeys, cmp.Left)
			default:
				continue
			}
			c.done = true
		}
		var err error
		plan, err = joinOn(plan, itemScope(items, joined, outer), items[next].plan, itemScope(items, []int{next}, outer), leftKeys, rightKeys)
		if err != nil {
			return nil, nil, nil, err
		}
		joined = append(joined, next)
		if err := applyReady(); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, c := range conjs {
		if !c.done {
			post = append(post, c.e)
		}
	}
	// The final scope lists columns in FROM order (for SELECT *) at their joined positions.
	sc := itemScope(items, joined, outer)
	ordered := make([]scopeCol, 0, len(sc.cols))
	for i := range items {
		for _, c := range sc.cols {
			if belongs(items, joined, i, c.pos) {
				ordered = append(ordered, c)
			}
		}
	}
	sc.cols = ordered
	return plan, sc, post, nil
}

// joinOrderBySize returns the row counts of items when their inner join starts from the
// smallest relation and adds, of those an equality connects to what is joined, the smallest
// next; else nil, for FROM order. It orders by size when every item is a table or
// materialized view read whole and their counts differ.
//
// A maintained join arranges what it has joined so far by the next relation's key and that
// relation by the same key: ending with the largest relation (the messages of a chat app,
// with users, chats and memberships before it) keeps the arrangements of partial joins to
// the small relations, and a change of the large one does one lookup in them, where FROM
// order would arrange every message again for each relation after it.
func joinOrderBySize(items []fromItem) []int64 {
	if len(items) < 2 || items[0].domainOf != nil {
		return nil
	}
	for _, it := range items {
		if !it.sized {
			return nil
		}
	}
	sizes := make([]int64, len(items))
	differ := false
	for i, it := range items {
		if it.rows != nil {
			sizes[i] = it.rows()
		}
		differ = differ || sizes[i] != sizes[0]
	}
	if !differ {
		return nil
	}
	return sizes
}

// belongs reports whether position pos of a plan joined in order falls in item i's columns.
func belongs(items []fromItem, joined []int, i, pos int) bool {
	off := 0
	for _, j := range joined {
		if j == i {
			return pos >= off && pos < off+len(items[i].cols)
		}
		off += len(items[j].cols)
	}
	return false
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func allItems(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// itemScope is the scope of the rows of the given items joined in that order.
func itemScope(items []fromItem, order []int, outer *scope) *scope {
	sc := &scope{parent: outer}
	off := 0
	for _, i := range order {
		for j, c := range items[i].cols {
			table := items[i].alias
			if items[i].colTables != nil {
				table = items[i].colTables[j]
			}
			sc.cols = append(sc.cols, scopeCol{table: table, name: c.Name, pos: off + j, kind: c.Kind})
			if items[i].domainOf != nil {
				if sc.domain == nil {
					sc.domain = map[int]int{}
				}
				sc.domain[items[i].domainOf[j]] = off + j
			}
		}
		off += len(items[i].cols)
	}
	return sc
}

// itemRefs lists the FROM items an expression names, sorted.
func itemRefs(all *scope, items []fromItem, e sqlparser.Expr) ([]int, error) {
	var refs []int
	var err error
	walkExpr(e, func(n sqlparser.SQLNode) bool {
		c, ok := n.(*sqlparser.ColName)
		if !ok || err != nil {
			return err == nil
		}
		var sc scopeCol
		sc, err = all.resolve(c)
		if err != nil {
			return false
		}
		off := 0
		for i, it := range items {
			if sc.pos < off+len(it.cols) {
				if !containsInt(refs, i) {
					refs = append(refs, i)
				}
				break
			}
			off += len(it.cols)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(refs); i++ {
		for j := i; j > 0 && refs[j] < refs[j-1]; j-- {
			refs[j], refs[j-1] = refs[j-1], refs[j]
		}
	}
	return refs, nil
}

func isEquality(e sqlparser.Expr) bool {
	c, ok := e.(*sqlparser.ComparisonExpr)
	return ok && c.Operator == sqlparser.EqualOp
}

// collectFrom adds the relations of one FROM element to items and its join conditions to preds.
func (p *planner) collectFrom(te sqlparser.TableExpr, items *[]fromItem, preds *[]sqlparser.Expr, outer *scope) error {
	switch t := te.(type) {
	case *sqlparser.AliasedTableExpr:
		it, err := p.planTableExpr(t, outer)
		if err != nil {
			return err
		}
		*items = append(*items, it)
		return nil
	case *sqlparser.ParenTableExpr:
		for _, e := range t.Exprs {
			if err := p.collectFrom(e, items, preds, outer); err != nil {
				return err
			}
		}
		return nil
	case *sqlparser.JoinTableExpr:
		switch t.Join {
		case sqlparser.NormalJoinType, sqlparser.StraightJoinType:
		case sqlparser.LeftJoinType, sqlparser.RightJoinType:
			it, err := p.planOuterJoin(t, outer)
			if err != nil {
				return err
			}
			*items = append(*items, it)
			return nil
		default:
			return sqlerr.New(sqlerr.NotSupported, "%s is not supported yet", t.Join.ToString())
		}
		first := len(*items)
		if err := p.collectFrom(t.LeftExpr, items, preds, outer); err != nil {
			return err
		}
		mid := len(*items)
		if err := p.collectFrom(t.RightExpr, items, preds, outer); err != nil {
			return err
		}
		if t.Condition == nil {
			return nil
		}
		if t.Condition.On != nil {
			*preds = SplitAnd(t.Condition.On, *preds)
		}
		for _, col := range t.Condition.Using {
			l, lok := findColumn((*items)[first:mid], col.String())
			r, rok := findColumn((*items)[mid:], col.String())
			if !lok || !rok {
				return sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'from clause'", col.String())
			}
			*preds = append(*preds, &sqlparser.ComparisonExpr{
				Operator: sqlparser.EqualOp,
				Left:     sqlparser.NewColNameWithQualifier(col.String(), sqlparser.NewTableName(l)),
				Right:    sqlparser.NewColNameWithQualifier(col.String(), sqlparser.NewTableName(r)),
			})
		}
		return nil
	}
	return sqlerr.New(sqlerr.NotSupported, "FROM element not supported: %s", sqlparser.String(te))
}

// findColumn returns the alias of the first item with a column of that name.
func findColumn(items []fromItem, name string) (string, bool) {
	for _, it := range items {
		for _, c := range it.cols {
			if strings.EqualFold(c.Name, name) {
				return it.alias, true
			}
		}
	}
	return "", false
}

// planTableExpr plans a table, view or derived table of a FROM clause.
func (p *planner) planTableExpr(t *sqlparser.AliasedTableExpr, outer *scope) (fromItem, error) {
	var it fromItem
	switch e := t.Expr.(type) {
	case sqlparser.TableName:
		name := e.Name.String()
		if strings.EqualFold(name, "dual") && e.Qualifier.IsEmpty() {
			return fromItem{plan: &Values{Rows: []dataflow.Row{{}}}}, nil
		}
		if e.Qualifier.IsEmpty() {
			if c, ok, err := p.planCTE(name); ok || err != nil {
				if err != nil {
					return it, err
				}
				if !t.As.IsEmpty() {
					c.alias = t.As.String()
				}
				return c, nil
			}
		}
		rel, err := p.cat.Relation(name)
		if err != nil {
			return it, err
		}
		it.alias = name
		if rel.Query != nil {
			if p.viewDepth >= maxViewDepth {
				return it, sqlerr.New(sqlerr.NotSupported, "views nested deeper than %d levels", maxViewDepth)
			}
			p.viewDepth++
			q, err := p.planStatement(rel.Query, nil)
			p.viewDepth--
			if err != nil {
				return it, err
			}
			it.plan, it.cols = ViewPlan(q)
			it.order = VisibleOrder(q)
		} else {
			it.plan = &Scan{Source: rel.Source, Label: rel.Name, Cols: rel.Columns, Key: rel.Key}
			it.cols = rel.Columns
			it.order = rel.Order
			it.rows, it.sized = rel.Rows, true
		}
	case *sqlparser.DerivedTable:
		q, err := p.planStatement(e.Select, nil)
		if err != nil {
			return it, err
		}
		it.plan, it.cols = ViewPlan(q)
	default:
		return it, sqlerr.New(sqlerr.NotSupported, "table expression not supported: %s", sqlparser.String(t))
	}
	if !t.As.IsEmpty() {
		it.alias = t.As.String()
	}
	if len(t.Columns) > 0 {
		if len(t.Columns) != len(it.cols) {
			return it, sqlerr.New(sqlerr.WrongValueCnt, "In definition of derived table %s, the column list has %d names for %d columns", it.alias, len(t.Columns), len(it.cols))
		}
		renamed := make([]ColumnInfo, len(it.cols))
		for i, c := range it.cols {
			renamed[i] = ColumnInfo{Name: t.Columns[i].String(), Kind: c.Kind, SQLType: c.SQLType}
		}
		it.cols = renamed
	}
	return it, nil
}

// VisiblePlan is a query's plan without its hidden sort columns, and its visible columns.
func VisiblePlan(q *Query) (Plan, []ColumnInfo) {
	cols := q.Columns()
	if q.Visible == len(q.Plan.Columns()) {
		return q.Plan, cols
	}
	exprs := make([]dataflow.Expr, len(cols))
	for i, c := range cols {
		exprs[i] = dataflow.Col(i, c.Kind, c.Name)
	}
	return &Project{Input: q.Plan, Exprs: exprs, Cols: cols}, cols
}

// requireNoLimit refuses LIMIT where it has no meaning the engine maintains.
func requireNoLimit(q *Query, where string) error {
	if q.Limit >= 0 || q.Offset > 0 {
		return sqlerr.New(sqlerr.NotSupported, "LIMIT in %s is not supported yet", where)
	}
	return nil
}

// ViewPlan is the plan of a query's rows as a maintained collection: with LIMIT or OFFSET,
// the top-k of its ORDER BY (per group of the given columns, for a correlated subquery's
// domain), then its visible columns.
func ViewPlan(q *Query, groupBy ...int) (Plan, []ColumnInfo) {
	if q.Limit < 0 && q.Offset == 0 {
		return VisiblePlan(q)
	}
	top := &Query{Plan: &TopK{Input: q.Plan, GroupBy: groupBy, Order: q.OrderBy, Limit: q.Limit, Offset: q.Offset},
		Visible: q.Visible, Limit: -1}
	return VisiblePlan(top)
}

// joinOn joins two plans on equalities of expressions over each side. Plain columns of the
// same kind are used directly; other keys are computed (and converted to the kind both sides
// compare in) into extra columns that the join's output drops again.
func joinOn(left Plan, ls *scope, right Plan, rs *scope, lk, rk []sqlparser.Expr) (Plan, error) {
	if len(lk) == 0 {
		return &Join{Left: left, Right: right}, nil
	}
	var lcols, rcols []int
	var lextra, rextra []dataflow.Expr
	lw, rw := len(left.Columns()), len(right.Columns())
	for i := range lk {
		le, err := ConvertScalar(&exprScope{s: ls}, lk[i])
		if err != nil {
			return nil, err
		}
		re, err := ConvertScalar(&exprScope{s: rs}, rk[i])
		if err != nil {
			return nil, err
		}
		kind := comparisonKind(le.Type(), re.Type())
		lc, lok := plainColumn(ls, lk[i])
		rc, rok := plainColumn(rs, rk[i])
		if lok && rok && le.Type() == kind && re.Type() == kind {
			lcols, rcols = append(lcols, lc), append(rcols, rc)
			continue
		}
		lcols = append(lcols, lw+len(lextra))
		rcols = append(rcols, rw+len(rextra))
		lextra = append(lextra, castTo(le, kind))
		rextra = append(rextra, castTo(re, kind))
	}
	if len(lextra) == 0 {
		return &Join{Left: left, Right: right, LeftKey: lcols, RightKey: rcols}, nil
	}
	lp, rp := widen(left, lextra), widen(right, rextra)
	j := &Join{Left: lp, Right: rp, LeftKey: lcols, RightKey: rcols}
	// Drop the key columns again.
	var exprs []dataflow.Expr
	var cols []ColumnInfo
	jc := j.Columns()
	for i := 0; i < lw; i++ {
		exprs, cols = append(exprs, dataflow.Col(i, jc[i].Kind, jc[i].Name)), append(cols, jc[i])
	}
	for i := 0; i < rw; i++ {
		k := lw + len(lextra) + i
		exprs, cols = append(exprs, dataflow.Col(k, jc[k].Kind, jc[k].Name)), append(cols, jc[k])
	}
	return &Project{Input: j, Exprs: exprs, Cols: cols}, nil
}

// widen appends computed columns to a plan's rows.
func widen(p Plan, extra []dataflow.Expr) Plan {
	cols := p.Columns()
	exprs := make([]dataflow.Expr, 0, len(cols)+len(extra))
	out := make([]ColumnInfo, 0, len(cols)+len(extra))
	for i, c := range cols {
		exprs, out = append(exprs, dataflow.Col(i, c.Kind, c.Name)), append(out, c)
	}
	for _, e := range extra {
		exprs, out = append(exprs, e), append(out, ColumnInfo{Name: e.String(), Kind: e.Type()})
	}
	return &Project{Input: p, Exprs: exprs, Cols: out}
}

// plainColumn returns the position of an expression that is just a column reference.
func plainColumn(s *scope, e sqlparser.Expr) (int, bool) {
	c, ok := e.(*sqlparser.ColName)
	if !ok {
		return 0, false
	}
	sc, err := s.resolve(c)
	if err != nil {
		return 0, false
	}
	return sc.pos, true
}

// comparisonKind is the kind MySQL compares two kinds in.
func comparisonKind(a, b dataflow.Kind) dataflow.Kind {
	switch {
	case a == b:
		return a
	case a == dataflow.KindNull:
		return b
	case b == dataflow.KindNull:
		return a
	case (a == dataflow.KindString || a == dataflow.KindBytes) && (b == dataflow.KindString || b == dataflow.KindBytes):
		return dataflow.KindString
	case a == dataflow.KindTime || b == dataflow.KindTime:
		return dataflow.KindTime
	case (a == dataflow.KindInt && b == dataflow.KindDecimal) || (a == dataflow.KindDecimal && b == dataflow.KindInt):
		return dataflow.KindDecimal
	}
	return dataflow.KindFloat
}

// castTo converts an expression to a kind unless it already has it.
func castTo(e dataflow.Expr, k dataflow.Kind) dataflow.Expr {
	if e.Type() == k {
		return e
	}
	return dataflow.Cast(e, k)
}

// VisibleOrder is a query's ORDER BY if every key is one of its visible columns (a hidden
// sort column is not part of its rows), else nil.
func VisibleOrder(q *Query) []SortKey {
	for _, k := range q.OrderBy {
		if k.Col >= q.Visible {
			return nil
		}
	}
	return q.OrderBy
}
