package sqlplan

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// ScalarScope resolves names and intercepts nodes while ConvertScalar walks an expression.
type ScalarScope interface {
	// Column resolves a column reference.
	Column(col *sqlparser.ColName) (dataflow.Expr, error)
	// Special is offered every node before it is converted; when handled is true, e replaces
	// the node (the planner uses it for aggregates and subqueries).
	Special(node sqlparser.Expr) (e dataflow.Expr, handled bool, err error)
}

// ConvertScalar converts a vitess expression to a dataflow expression.
func ConvertScalar(scope ScalarScope, e sqlparser.Expr) (dataflow.Expr, error) {
	return scalarConverter{scope: scope}.convert(e)
}

// scalarConverter walks one expression tree.
type scalarConverter struct{ scope ScalarScope }

// notSupported is the error for a construct the engine does not implement.
func notSupported(what string, node sqlparser.SQLNode) error {
	return sqlerr.New(sqlerr.NotSupported, "%s is not supported: %s", what, sqlparser.String(node))
}

// notDeterministic is the error for a function whose value is not a function of the row.
func notDeterministic(name string) error {
	return dataflow.NotDeterministicError(name)
}

// convert offers node to the scope's Special hook, then converts it.
func (c scalarConverter) convert(node sqlparser.Expr) (dataflow.Expr, error) {
	if node == nil {
		return nil, sqlerr.New(sqlerr.Parse, "missing expression")
	}
	if c.scope != nil {
		e, handled, err := c.scope.Special(node)
		if err != nil {
			return nil, err
		}
		if handled {
			if e == nil {
				return nil, sqlerr.New(sqlerr.Unknown, "expression %s was handled without a result", sqlparser.String(node))
			}
			return e, nil
		}
	}
	return c.convertNode(node)
}

// convertAll converts each of nodes.
func (c scalarConverter) convertAll(nodes []sqlparser.Expr) ([]dataflow.Expr, error) {
	out := make([]dataflow.Expr, len(nodes))
	for i, n := range nodes {
		e, err := c.convert(n)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// convert2 converts two nodes.
func (c scalarConverter) convert2(a, b sqlparser.Expr) (dataflow.Expr, dataflow.Expr, error) {
	x, err := c.convert(a)
	if err != nil {
		return nil, nil, err
	}
	y, err := c.convert(b)
	if err != nil {
		return nil, nil, err
	}
	return x, y, nil
}

// convertNode converts a node that Special did not handle.
func (c scalarConverter) convertNode(node sqlparser.Expr) (dataflow.Expr, error) {
	switch n := node.(type) {
	case *sqlparser.Literal:
		d, err := literalDatum(n)
		if err != nil {
			return nil, err
		}
		return dataflow.Lit(d), nil
	case *sqlparser.NullVal:
		return dataflow.Lit(dataflow.Null), nil
	case sqlparser.BoolVal:
		return dataflow.Lit(dataflow.NewBool(bool(n))), nil
	case *sqlparser.ColName:
		if c.scope == nil {
			return nil, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'field list'", sqlparser.String(n))
		}
		return c.scope.Column(n)
	case *sqlparser.AndExpr:
		l, r, err := c.convert2(n.Left, n.Right)
		if err != nil {
			return nil, err
		}
		return dataflow.And(l, r), nil
	case *sqlparser.OrExpr:
		l, r, err := c.convert2(n.Left, n.Right)
		if err != nil {
			return nil, err
		}
		return dataflow.Or(l, r), nil
	case *sqlparser.XorExpr:
		l, r, err := c.convert2(n.Left, n.Right)
		if err != nil {
			return nil, err
		}
		return dataflow.Xor(l, r), nil
	case *sqlparser.NotExpr:
		e, err := c.convert(n.Expr)
		if err != nil {
			return nil, err
		}
		return dataflow.Not(e), nil
	case *sqlparser.ComparisonExpr:
		return c.comparison(n)
	case *sqlparser.BetweenExpr:
		e, err := c.convert(n.Left)
		if err != nil {
			return nil, err
		}
		lo, hi, err := c.convert2(n.From, n.To)
		if err != nil {
			return nil, err
		}
		return dataflow.Between(e, lo, hi, !n.IsBetween)
	case *sqlparser.IsExpr:
		e, err := c.convert(n.Left)
		if err != nil {
			return nil, err
		}
		switch n.Right {
		case sqlparser.IsNullOp:
			return dataflow.IsNull(e, false), nil
		case sqlparser.IsNotNullOp:
			return dataflow.IsNull(e, true), nil
		case sqlparser.IsTrueOp:
			return dataflow.IsBool(e, true, false), nil
		case sqlparser.IsNotTrueOp:
			return dataflow.IsBool(e, true, true), nil
		case sqlparser.IsFalseOp:
			return dataflow.IsBool(e, false, false), nil
		case sqlparser.IsNotFalseOp:
			return dataflow.IsBool(e, false, true), nil
		}
		return nil, notSupported("IS operator", n)
	case *sqlparser.BinaryExpr:
		return c.binary(n)
	case *sqlparser.UnaryExpr:
		return c.unary(n)
	case *sqlparser.CaseExpr:
		return c.caseExpr(n)
	case *sqlparser.CastExpr:
		if n.Array {
			return nil, notSupported("CAST ... ARRAY", n)
		}
		return c.cast(n.Expr, n.Type)
	case *sqlparser.ConvertExpr:
		return c.cast(n.Expr, n.Type)
	case *sqlparser.ConvertUsingExpr:
		e, err := c.convert(n.Expr)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(n.Type, "binary") {
			return dataflow.Cast(e, dataflow.KindBytes), nil
		}
		return dataflow.Cast(e, dataflow.KindString), nil
	case *sqlparser.FuncExpr:
		if !n.Qualifier.IsEmpty() {
			return nil, notSupported("stored function", n)
		}
		name := n.Name.String()
		if dataflow.IsNonDeterministicCall(name, len(n.Exprs)) {
			return nil, notDeterministic(name)
		}
		args, err := c.convertAll(n.Exprs)
		if err != nil {
			return nil, err
		}
		return dataflow.Func(name, args)
	case *sqlparser.SubstrExpr:
		nodes := []sqlparser.Expr{n.Name, n.From}
		if n.To != nil {
			nodes = append(nodes, n.To)
		}
		return c.call("SUBSTRING", nodes)
	case *sqlparser.TrimFuncExpr:
		return c.trim(n)
	case *sqlparser.LocateExpr:
		nodes := []sqlparser.Expr{n.SubStr, n.Str}
		if n.Pos != nil {
			nodes = append(nodes, n.Pos)
		}
		return c.call("LOCATE", nodes)
	case *sqlparser.IntervalFuncExpr:
		return c.call("INTERVAL", append([]sqlparser.Expr{n.Expr}, n.Exprs...))
	case *sqlparser.InsertExpr:
		return c.call("INSERT", []sqlparser.Expr{n.Str, n.Pos, n.Len, n.NewStr})
	case *sqlparser.CharExpr:
		e, err := c.call("CHAR", n.Exprs)
		if err != nil {
			return nil, err
		}
		if n.Charset != "" && !strings.EqualFold(n.Charset, "binary") {
			return dataflow.Cast(e, dataflow.KindString), nil
		}
		return e, nil
	case *sqlparser.CurTimeFuncExpr:
		return nil, notDeterministic(n.Name.String())
	case *sqlparser.IntervalDateExpr:
		return c.intervalDate(n)
	case *sqlparser.ExtractFuncExpr:
		e, err := c.convert(n.Expr)
		if err != nil {
			return nil, err
		}
		return dataflow.Extract(n.IntervalType, e)
	case *sqlparser.TimestampDiffExpr:
		a, b, err := c.convert2(n.Expr1, n.Expr2)
		if err != nil {
			return nil, err
		}
		return dataflow.TimestampDiff(n.Unit, a, b)
	case *sqlparser.IntroducerExpr:
		e, err := c.convert(n.Expr)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(n.CharacterSet, "_binary") {
			return dataflow.Cast(e, dataflow.KindBytes), nil
		}
		if e.Type() == dataflow.KindBytes {
			return dataflow.Cast(e, dataflow.KindString), nil
		}
		return e, nil
	case *sqlparser.CollateExpr:
		// Comparisons are binary; a COLLATE clause does not change the value.
		return c.convert(n.Expr)
	case *sqlparser.Argument, sqlparser.ListArg:
		return nil, notSupported("bind variable", n)
	case *sqlparser.Subquery, *sqlparser.ExistsExpr:
		return nil, notSupported("subquery in this position", n)
	case sqlparser.AggrFunc:
		return nil, sqlerr.New(sqlerr.InvalidGroup, "Invalid use of group function")
	case sqlparser.WindowFunc:
		return nil, notSupported("window function", n)
	case sqlparser.ValTuple:
		return nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
	case *sqlparser.Variable:
		return nil, notSupported("variable", n)
	}
	return nil, notSupported("expression", node)
}

// intervalDate converts DATE_ADD, DATE_SUB, ADDDATE, SUBDATE, TIMESTAMPADD and date ± INTERVAL.
func (c scalarConverter) intervalDate(n *sqlparser.IntervalDateExpr) (dataflow.Expr, error) {
	date, itv, err := c.convert2(n.Date, n.Interval)
	if err != nil {
		return nil, err
	}
	name, sub := "date_add", false
	switch n.Syntax {
	case sqlparser.IntervalDateExprDateSub, sqlparser.IntervalDateExprSubdate, sqlparser.IntervalDateExprBinarySub:
		name, sub = "date_sub", true
	}
	return dataflow.DateAdd(name, date, itv, n.Unit, sub)
}

// call converts the argument nodes and calls the built-in function name.
func (c scalarConverter) call(name string, nodes []sqlparser.Expr) (dataflow.Expr, error) {
	args, err := c.convertAll(nodes)
	if err != nil {
		return nil, err
	}
	return dataflow.Func(name, args)
}

// comparisonOps maps vitess comparison operators to their dataflow spelling.
var comparisonOps = map[sqlparser.ComparisonExprOperator]string{
	sqlparser.EqualOp: "=", sqlparser.LessThanOp: "<", sqlparser.GreaterThanOp: ">",
	sqlparser.LessEqualOp: "<=", sqlparser.GreaterEqualOp: ">=", sqlparser.NotEqualOp: "<>",
	sqlparser.NullSafeEqualOp: "<=>",
}

// comparison converts =, <, IN, LIKE and the other ComparisonExpr operators.
func (c scalarConverter) comparison(n *sqlparser.ComparisonExpr) (dataflow.Expr, error) {
	if n.Modifier != sqlparser.Missing {
		return nil, notSupported("ANY/ALL comparison", n)
	}
	if _, ok := n.Left.(sqlparser.ValTuple); ok {
		return nil, notSupported("row comparison", n)
	}
	switch n.Operator {
	case sqlparser.InOp, sqlparser.NotInOp:
		list, ok := n.Right.(sqlparser.ValTuple)
		if !ok {
			return nil, notSupported("IN with a subquery or list argument in this position", n)
		}
		for _, item := range list {
			if _, isTuple := item.(sqlparser.ValTuple); isTuple {
				return nil, sqlerr.New(sqlerr.OperandCols, "Operand should contain 1 column(s)")
			}
		}
		e, err := c.convert(n.Left)
		if err != nil {
			return nil, err
		}
		items, err := c.convertAll(list)
		if err != nil {
			return nil, err
		}
		return dataflow.InList(e, items, n.Operator == sqlparser.NotInOp)
	case sqlparser.LikeOp, sqlparser.NotLikeOp:
		e, p, err := c.convert2(n.Left, n.Right)
		if err != nil {
			return nil, err
		}
		var esc dataflow.Expr
		if n.Escape != nil {
			if esc, err = c.convert(n.Escape); err != nil {
				return nil, err
			}
		}
		return dataflow.Like(e, p, esc, n.Operator == sqlparser.NotLikeOp), nil
	case sqlparser.RegexpOp, sqlparser.NotRegexpOp:
		return nil, notSupported("REGEXP", n)
	}
	op, ok := comparisonOps[n.Operator]
	if !ok {
		return nil, notSupported("comparison operator", n)
	}
	if _, ok := n.Right.(sqlparser.ValTuple); ok {
		return nil, notSupported("row comparison", n)
	}
	l, r, err := c.convert2(n.Left, n.Right)
	if err != nil {
		return nil, err
	}
	return dataflow.NewCompare(op, l, r)
}

// arithOps maps vitess arithmetic operators to their dataflow spelling.
var arithOps = map[sqlparser.BinaryExprOperator]string{
	sqlparser.PlusOp: "+", sqlparser.MinusOp: "-", sqlparser.MultOp: "*", sqlparser.DivOp: "/",
	sqlparser.IntDivOp: "DIV", sqlparser.ModOp: "%",
}

// binary converts arithmetic; bit operators are not supported.
func (c scalarConverter) binary(n *sqlparser.BinaryExpr) (dataflow.Expr, error) {
	op, ok := arithOps[n.Operator]
	if !ok {
		return nil, notSupported("bit operator", n)
	}
	l, r, err := c.convert2(n.Left, n.Right)
	if err != nil {
		return nil, err
	}
	return dataflow.Arith(op, l, r)
}

// unary converts unary minus (folding numeric literals), plus, ! and N'...'.
func (c scalarConverter) unary(n *sqlparser.UnaryExpr) (dataflow.Expr, error) {
	switch n.Operator {
	case sqlparser.UMinusOp:
		// A negated numeric literal is one literal, as in MySQL: -9223372036854775808 is a BIGINT.
		if lit, ok := n.Expr.(*sqlparser.Literal); ok {
			switch lit.Type {
			case sqlparser.IntVal, sqlparser.DecimalVal:
				d, err := literalDatum(&sqlparser.Literal{Type: lit.Type, Val: "-" + lit.Val})
				if err != nil {
					return nil, err
				}
				return dataflow.Lit(d), nil
			case sqlparser.FloatVal:
				d, err := literalDatum(lit)
				if err != nil {
					return nil, err
				}
				return dataflow.Lit(dataflow.NewFloat(0 - d.Float())), nil
			}
		}
		e, err := c.convert(n.Expr)
		if err != nil {
			return nil, err
		}
		return dataflow.Neg(e), nil
	case sqlparser.UPlusOp, sqlparser.NStringOp:
		return c.convert(n.Expr)
	case sqlparser.BangOp:
		e, err := c.convert(n.Expr)
		if err != nil {
			return nil, err
		}
		return dataflow.Not(e), nil
	}
	return nil, notSupported("bit operator", n)
}

// caseExpr converts CASE [operand] WHEN ... END.
func (c scalarConverter) caseExpr(n *sqlparser.CaseExpr) (dataflow.Expr, error) {
	var operand, els dataflow.Expr
	var err error
	if n.Expr != nil {
		if operand, err = c.convert(n.Expr); err != nil {
			return nil, err
		}
	}
	whens := make([]dataflow.Expr, len(n.Whens))
	thens := make([]dataflow.Expr, len(n.Whens))
	for i, w := range n.Whens {
		if w == nil {
			return nil, sqlerr.New(sqlerr.Parse, "CASE has an empty WHEN")
		}
		if whens[i], thens[i], err = c.convert2(w.Cond, w.Val); err != nil {
			return nil, err
		}
	}
	if n.Else != nil {
		if els, err = c.convert(n.Else); err != nil {
			return nil, err
		}
	}
	return dataflow.Case(operand, whens, thens, els)
}

// cast converts CAST(e AS type) and CONVERT(e, type).
func (c scalarConverter) cast(node sqlparser.Expr, t *sqlparser.ConvertType) (dataflow.Expr, error) {
	if t == nil {
		return nil, sqlerr.New(sqlerr.Parse, "CAST without a type")
	}
	e, err := c.convert(node)
	if err != nil {
		return nil, err
	}
	name := t.Type
	if t.Length != nil {
		name += "(" + strconv.Itoa(*t.Length)
		if t.Scale != nil {
			name += "," + strconv.Itoa(*t.Scale)
		}
		name += ")"
	}
	if t.Charset.Binary || strings.EqualFold(t.Charset.Name, "binary") {
		name += " CHARACTER SET binary"
	}
	return dataflow.CastSQL(e, name)
}

// trim converts TRIM([BOTH|LEADING|TRAILING] [remstr FROM] s), LTRIM(s) and RTRIM(s).
func (c scalarConverter) trim(n *sqlparser.TrimFuncExpr) (dataflow.Expr, error) {
	s, err := c.convert(n.StringArg)
	if err != nil {
		return nil, err
	}
	var rem dataflow.Expr
	if n.TrimArg != nil {
		if rem, err = c.convert(n.TrimArg); err != nil {
			return nil, err
		}
	}
	leading, trailing := true, true
	switch {
	case n.TrimFuncType == sqlparser.LTrimType:
		trailing = false
	case n.TrimFuncType == sqlparser.RTrimType:
		leading = false
	case n.Type == sqlparser.LeadingTrimType:
		trailing = false
	case n.Type == sqlparser.TrailingTrimType:
		leading = false
	}
	return dataflow.Trim(s, rem, leading, trailing), nil
}

// literalDatum converts a vitess literal to a datum the way MySQL types literals.
func literalDatum(n *sqlparser.Literal) (dataflow.Datum, error) {
	switch n.Type {
	case sqlparser.StrVal:
		return dataflow.NewString(n.Val), nil
	case sqlparser.IntVal:
		if v, err := strconv.ParseInt(n.Val, 10, 64); err == nil {
			return dataflow.NewInt(v), nil
		}
		return dataflow.NewDecimalText(n.Val)
	case sqlparser.DecimalVal:
		return dataflow.NewDecimalText(n.Val)
	case sqlparser.FloatVal:
		f, err := strconv.ParseFloat(n.Val, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return dataflow.Null, sqlerr.New(1367, "Illegal double '%s' value found during parsing", n.Val)
		}
		return dataflow.NewFloat(f), nil
	case sqlparser.HexVal:
		b, err := hex.DecodeString(n.Val)
		if err != nil {
			return dataflow.Null, sqlerr.New(sqlerr.Parse, "invalid hexadecimal literal X'%s'", n.Val)
		}
		return dataflow.NewBytes(b), nil
	case sqlparser.HexNum:
		digits := n.Val
		if len(digits) >= 2 && (digits[:2] == "0x" || digits[:2] == "0X") {
			digits = digits[2:]
		}
		if len(digits)%2 == 1 {
			digits = "0" + digits
		}
		b, err := hex.DecodeString(digits)
		if err != nil {
			return dataflow.Null, sqlerr.New(sqlerr.Parse, "invalid hexadecimal literal %s", n.Val)
		}
		return dataflow.NewBytes(b), nil
	case sqlparser.BitNum:
		return bitLiteral(n.Val)
	case sqlparser.DateVal:
		return temporalLiteral(n.Val, "DATE", "DATE")
	case sqlparser.TimestampVal:
		return temporalLiteral(n.Val, "DATETIME", "DATETIME")
	case sqlparser.TimeVal:
		return temporalLiteral(n.Val, "TIME", "TIME")
	}
	return dataflow.Null, sqlerr.New(sqlerr.NotSupported, "literal %s is not supported", sqlparser.String(n))
}

// bitLiteral converts b'0101' (vitess spells it 0b0101) to a binary string.
func bitLiteral(val string) (dataflow.Datum, error) {
	bits := strings.TrimPrefix(strings.TrimPrefix(val, "0b"), "0B")
	for len(bits)%8 != 0 {
		bits = "0" + bits
	}
	out := make([]byte, 0, len(bits)/8)
	for i := 0; i < len(bits); i += 8 {
		v, err := strconv.ParseUint(bits[i:i+8], 2, 8)
		if err != nil {
			return dataflow.Null, sqlerr.New(sqlerr.Parse, "invalid bit literal %s", val)
		}
		out = append(out, byte(v))
	}
	return dataflow.NewBytes(out), nil
}

// temporalLiteral converts DATE '...', TIMESTAMP '...' and TIME '...' literals.
func temporalLiteral(val, castType, what string) (dataflow.Datum, error) {
	if _, frac, ok := strings.Cut(val, "."); ok && castType != "DATE" {
		castType += "(" + strconv.Itoa(min(len(frac), 6)) + ")"
	}
	e, err := dataflow.CastSQL(dataflow.Lit(dataflow.NewString(val)), castType)
	if err != nil {
		return dataflow.Null, err
	}
	d, err := e.Eval(nil)
	if err != nil {
		return dataflow.Null, err
	}
	if d.IsNull() {
		return dataflow.Null, sqlerr.New(1525, "Incorrect %s value: '%s'", what, val)
	}
	return d, nil
}
