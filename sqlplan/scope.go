package sqlplan

import (
	"errors"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
	"vitess.io/vitess/go/vt/sqlparser"
)

// scopeCol is one column visible by name: the relation alias it belongs to, its name, and
// its position in the current plan's rows.
type scopeCol struct {
	table string
	name  string
	pos   int
	kind  dataflow.Kind
}

// scope is the set of columns a query's expressions can name. parent is the scope of the
// enclosing query: a name found only there is a correlated reference.
type scope struct {
	cols   []scopeCol
	parent *scope
	// domain maps positions of the parent's rows to positions of this scope's rows: the
	// columns of a correlated subquery's domain (see decorrelate), which its references to
	// the enclosing query read.
	domain map[int]int
}

// correlatedRef is the error of a name that resolves only in an enclosing query: the
// planner of that query catches it and decorrelates the subquery (see decorrelate).
type correlatedRef struct {
	scope *scope   // the enclosing query's scope
	col   scopeCol // the column there
	text  string
}

func (e *correlatedRef) Error() string {
	return "correlated reference to " + e.text + " outside the subqueries that can be decorrelated"
}

// resolve finds the column a name refers to.
func (s *scope) resolve(c *sqlparser.ColName) (scopeCol, error) {
	name := c.Name.String()
	table := c.Qualifier.Name.String()
	found := -1
	for i, sc := range s.cols {
		if !strings.EqualFold(sc.name, name) || (table != "" && !strings.EqualFold(sc.table, table)) {
			continue
		}
		if found >= 0 {
			return scopeCol{}, sqlerr.New(sqlerr.NonUniq, "Column '%s' in field list is ambiguous", name)
		}
		found = i
	}
	if found >= 0 {
		return s.cols[found], nil
	}
	if s.parent == nil {
		return scopeCol{}, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'field list'", sqlparser.String(c))
	}
	oc, err := s.parent.resolve(c)
	if err != nil {
		var ce *correlatedRef
		if errors.As(err, &ce) {
			return scopeCol{}, err // a reference further out
		}
		return scopeCol{}, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'field list'", sqlparser.String(c))
	}
	if at, ok := s.domain[oc.pos]; ok {
		return scopeCol{table: oc.table, name: oc.name, pos: at, kind: oc.kind}, nil
	}
	return scopeCol{}, &correlatedRef{scope: s.parent, col: oc, text: sqlparser.String(c)}
}

// exprScope adapts a scope for ConvertScalar: plain names resolve against the scope,
// subqueries and aggregates already planned resolve to their columns, and after a GROUP BY
// only grouped expressions and aggregates may be named.
type exprScope struct {
	s       *scope
	special map[sqlparser.Expr]dataflow.Expr
	// grouped is set after aggregation: names must match a group expression.
	grouped   bool
	groupPos  map[int]int    // pre-aggregation column position -> group column
	groupText map[string]int // text of a group expression -> group column
	pre       *scope         // the pre-aggregation scope, to resolve grouped names
	groupCols []ColumnInfo
	// anyValue maps ungrouped pre-aggregation columns to the implicit aggregate holding one
	// value of their group.
	anyValue map[int]int
	// aliases are select-list aliases that HAVING and ORDER BY may name.
	aliases map[string]dataflow.Expr
}

// Column resolves a column reference.
func (es *exprScope) Column(c *sqlparser.ColName) (dataflow.Expr, error) {
	if es.grouped {
		sc, err := es.pre.resolve(c)
		if err == nil {
			if g, ok := es.groupPos[sc.pos]; ok {
				return dataflow.Col(g, es.groupCols[g].Kind, c.Name.String()), nil
			}
			if g, ok := es.anyValue[sc.pos]; ok {
				return dataflow.Col(g, es.groupCols[g].Kind, c.Name.String()), nil
			}
		}
		if e, ok := es.alias(c); ok {
			return e, nil
		}
		if err != nil {
			return nil, err
		}
		return nil, sqlerr.New(sqlerr.WrongGroupField, "Expression '%s' isn't in GROUP BY", sqlparser.String(c))
	}
	sc, err := es.s.resolve(c)
	if err != nil {
		if e, ok := es.alias(c); ok {
			return e, nil
		}
		return nil, err
	}
	return dataflow.Col(sc.pos, sc.kind, c.Name.String()), nil
}

func (es *exprScope) alias(c *sqlparser.ColName) (dataflow.Expr, bool) {
	if es.aliases == nil || !c.Qualifier.IsEmpty() {
		return nil, false
	}
	e, ok := es.aliases[strings.ToLower(c.Name.String())]
	return e, ok
}

// Special replaces planned subqueries and aggregates, and grouped expressions.
func (es *exprScope) Special(node sqlparser.Expr) (dataflow.Expr, bool, error) {
	// The keys are pointers; a row constructor (ValTuple) is a slice, which cannot be hashed.
	if _, tuple := node.(sqlparser.ValTuple); !tuple {
		if e, ok := es.special[node]; ok {
			return e, true, nil
		}
	}
	if es.grouped {
		if _, isCol := node.(*sqlparser.ColName); !isCol {
			if g, ok := es.groupText[sqlparser.String(node)]; ok {
				return dataflow.Col(g, es.groupCols[g].Kind, sqlparser.String(node)), true, nil
			}
		}
	}
	switch node.(type) {
	case sqlparser.AggrFunc:
		return nil, false, sqlerr.New(sqlerr.InvalidGroup, "Invalid use of group function")
	case *sqlparser.Subquery, *sqlparser.ExistsExpr:
		return nil, false, sqlerr.New(sqlerr.NotSupported, "this subquery is not supported here yet: %s", sqlparser.String(node))
	}
	return nil, false, nil
}

// BindExpr converts an expression over the columns of one relation (nil: no columns), as in
// the WHERE and SET clauses of UPDATE and DELETE and the values of INSERT.
func BindExpr(rel *Relation, e sqlparser.Expr) (dataflow.Expr, error) {
	s := &scope{}
	if rel != nil {
		for i, c := range rel.Columns {
			s.cols = append(s.cols, scopeCol{table: rel.Name, name: c.Name, pos: i, kind: c.Kind})
		}
	}
	return ConvertScalar(&exprScope{s: s}, e)
}
