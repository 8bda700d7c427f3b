package dataflow

// Composite is an expression defined outside this package that is built from other
// expressions: ExprColumns sees into it through its operands.
type Composite interface {
	Expr
	// Operands returns the expressions it evaluates (every one it may read a column through).
	Operands() []Expr
}

// ExprColumns calls fn with every input column e may read and reports whether it could see
// into all of e. When it returns false the caller must assume e reads every column.
func ExprColumns(e Expr, fn func(col int)) bool {
	switch x := e.(type) {
	case nil:
		return true
	case *colExpr:
		fn(x.index)
		return true
	case *litExpr:
		return true
	case Composite:
		return exprsColumns(x.Operands(), fn)
	}
	ops, ok := operands(e)
	if !ok {
		return false
	}
	return exprsColumns(ops, fn)
}

func exprsColumns(es []Expr, fn func(col int)) bool {
	for _, o := range es {
		if !ExprColumns(o, fn) {
			return false
		}
	}
	return true
}

// operands lists the sub-expressions of this package's composite expressions; false for a
// kind it does not know.
func operands(e Expr) ([]Expr, bool) {
	switch x := e.(type) {
	case *arithExpr:
		return []Expr{x.l, x.r}, true
	case *negExpr:
		return []Expr{x.e}, true
	case *castExpr:
		return []Expr{x.e}, true
	case *compareExpr:
		return []Expr{x.l, x.r}, true
	case *betweenExpr:
		return []Expr{x.e, x.lo, x.hi}, true
	case *inExpr:
		return append([]Expr{x.e}, x.list...), true
	case *coerceExpr:
		return []Expr{x.e}, true
	case *dateAddExpr:
		return []Expr{x.date, x.interval}, true
	case *funcExpr:
		return x.args, true
	case *extractExpr:
		return x.args, true
	case *timestampDiffExpr:
		return x.args, true
	case *coalesceExpr:
		return x.args, true
	case *nullifExpr:
		return []Expr{x.a, x.b}, true
	case *ifExpr:
		return []Expr{x.cond, x.a, x.b}, true
	case *keyOf:
		return x.exprs, true
	case *andExpr:
		return x.args, true
	case *orExpr:
		return []Expr{x.l, x.r}, true
	case *xorExpr:
		return []Expr{x.l, x.r}, true
	case *notExpr:
		return []Expr{x.e}, true
	case *isNullExpr:
		return []Expr{x.e}, true
	case *isBoolExpr:
		return []Expr{x.e}, true
	case *caseExpr:
		out := append([]Expr{x.operand, x.els}, x.whens...)
		return append(out, x.thens...), true
	case *trimExpr:
		return []Expr{x.s, x.rem}, true
	case *likeExpr:
		return []Expr{x.e, x.pattern, x.escape}, true
	}
	return nil, false
}
