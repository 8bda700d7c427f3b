package dataflow

import (
	"cmp"
	"strings"

	"github.com/cdc-dev/cdc/sqlerr"
)

// SQLCompare compares two values with MySQL's comparison rules; ok is false if either is NULL.
func SQLCompare(a, b Datum) (int, bool) {
	if a.k == KindNull || b.k == KindNull {
		return 0, false
	}
	if a.k == b.k {
		switch a.k {
		case KindInt, KindTime:
			return cmp.Compare(a.i, b.i), true
		case KindFloat:
			return cmp.Compare(a.Float(), b.Float()), true
		case KindDecimal:
			if a.s == b.s {
				return 0, true
			}
			return a.Decimal().Cmp(b.Decimal()), true
		default:
			return strings.Compare(a.s, b.s), true
		}
	}
	ak, bk := a.k, b.k
	aStr, bStr := ak == KindString || ak == KindBytes, bk == KindString || bk == KindBytes
	switch {
	case aStr && bStr:
		return strings.Compare(a.s, b.s), true
	case ak == KindTime && bStr:
		if us, ok := ParseDateTime(b.s); ok {
			return cmp.Compare(a.i, us), true
		}
		return strings.Compare(a.String(), b.s), true
	case bk == KindTime && aStr:
		if us, ok := ParseDateTime(a.s); ok {
			return cmp.Compare(us, b.i), true
		}
		return strings.Compare(a.s, b.String()), true
	case aStr || bStr || ak == KindFloat || bk == KindFloat:
		return cmp.Compare(toFloat(a), toFloat(b)), true
	}
	// Exact numbers (and DATETIMEs as numbers): compare as decimals.
	da, _ := toDec(a)
	db, _ := toDec(b)
	return da.Cmp(db), true
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEQ cmpOp = iota
	opNE
	opLT
	opLE
	opGT
	opGE
	opNullSafeEQ
)

var cmpOpNames = [...]string{opEQ: "=", opNE: "<>", opLT: "<", opLE: "<=", opGT: ">", opGE: ">=", opNullSafeEQ: "<=>"}

// parseCmpOp maps an operator's spelling to a cmpOp.
func parseCmpOp(op string) (cmpOp, bool) {
	switch op {
	case "=":
		return opEQ, true
	case "<>", "!=":
		return opNE, true
	case "<":
		return opLT, true
	case "<=":
		return opLE, true
	case ">":
		return opGT, true
	case ">=":
		return opGE, true
	case "<=>":
		return opNullSafeEQ, true
	}
	return 0, false
}

// holds reports whether comparison result c satisfies op.
func (op cmpOp) holds(c int) bool {
	switch op {
	case opEQ, opNullSafeEQ:
		return c == 0
	case opNE:
		return c != 0
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	case opGE:
		return c >= 0
	}
	return false
}

// compareExpr is a binary comparison.
type compareExpr struct {
	op   cmpOp
	l, r Expr
}

// NewCompare returns the comparison l op r for op one of = <> != < <= > >= <=>.
func NewCompare(op string, l, r Expr) (Expr, error) {
	o, ok := parseCmpOp(op)
	if !ok {
		return nil, sqlerr.New(sqlerr.NotSupported, "comparison operator '%s' is not supported", op)
	}
	if l == nil || r == nil {
		return nil, sqlerr.New(sqlerr.Parse, "operator %s needs two operands", op)
	}
	return &compareExpr{op: o, l: l, r: r}, nil
}

// Eval compares the operands; NULL yields NULL except for <=>.
func (c *compareExpr) Eval(row Row) (Datum, error) {
	a, err := c.l.Eval(row)
	if err != nil {
		return Null, err
	}
	b, err := c.r.Eval(row)
	if err != nil {
		return Null, err
	}
	if a.k == KindInt && b.k == KindInt {
		return NewBool(c.op.holds(cmp.Compare(a.i, b.i))), nil
	}
	res, ok := SQLCompare(a, b)
	if !ok {
		if c.op == opNullSafeEQ {
			return NewBool(a.k == KindNull && b.k == KindNull), nil
		}
		return Null, nil
	}
	return NewBool(c.op.holds(res)), nil
}

// Type is BIGINT: comparisons yield 1, 0 or NULL.
func (c *compareExpr) Type() Kind { return KindInt }

// String prints (l op r).
func (c *compareExpr) String() string {
	return "(" + c.l.String() + " " + cmpOpNames[c.op] + " " + c.r.String() + ")"
}

// betweenExpr is e [NOT] BETWEEN lo AND hi.
type betweenExpr struct {
	e, lo, hi Expr
	negate    bool
}

// Between returns e BETWEEN lo AND hi (or NOT BETWEEN), i.e. lo <= e AND e <= hi.
func Between(e, lo, hi Expr, negate bool) (Expr, error) {
	if e == nil || lo == nil || hi == nil {
		return nil, sqlerr.New(sqlerr.Parse, "BETWEEN needs three operands")
	}
	return &betweenExpr{e: e, lo: lo, hi: hi, negate: negate}, nil
}

// Eval evaluates the range test with three-valued logic.
func (b *betweenExpr) Eval(row Row) (Datum, error) {
	v, err := b.e.Eval(row)
	if err != nil {
		return Null, err
	}
	lo, err := b.lo.Eval(row)
	if err != nil {
		return Null, err
	}
	hi, err := b.hi.Eval(row)
	if err != nil {
		return Null, err
	}
	c1, ok1 := SQLCompare(lo, v)
	c2, ok2 := SQLCompare(v, hi)
	var res Datum
	switch {
	case ok1 && c1 > 0, ok2 && c2 > 0:
		res = NewBool(false)
	case !ok1 || !ok2:
		return Null, nil
	default:
		res = NewBool(true)
	}
	if b.negate {
		res.i = 1 - res.i
	}
	return res, nil
}

// Type is BIGINT.
func (b *betweenExpr) Type() Kind { return KindInt }

// String prints (e [not] between lo and hi).
func (b *betweenExpr) String() string {
	not := ""
	if b.negate {
		not = "not "
	}
	return "(" + b.e.String() + " " + not + "between " + b.lo.String() + " and " + b.hi.String() + ")"
}

// inExpr is e [NOT] IN (list).
type inExpr struct {
	e      Expr
	list   []Expr
	negate bool
}

// InList returns e IN (list) (or NOT IN) with SQL NULL semantics.
func InList(e Expr, list []Expr, negate bool) (Expr, error) {
	if e == nil || len(list) == 0 {
		return nil, sqlerr.New(sqlerr.Parse, "IN needs an operand and a non-empty list")
	}
	for _, x := range list {
		if x == nil {
			return nil, sqlerr.New(sqlerr.Parse, "IN list has a missing element")
		}
	}
	return &inExpr{e: e, list: list, negate: negate}, nil
}

// Eval returns 1 on a match, NULL if there is none but a NULL was compared, else 0.
func (in *inExpr) Eval(row Row) (Datum, error) {
	v, err := in.e.Eval(row)
	if err != nil {
		return Null, err
	}
	if v.k == KindNull {
		return Null, nil
	}
	sawNull := false
	for _, x := range in.list {
		w, err := x.Eval(row)
		if err != nil {
			return Null, err
		}
		c, ok := SQLCompare(v, w)
		if !ok {
			sawNull = true
			continue
		}
		if c == 0 {
			return NewBool(!in.negate), nil
		}
	}
	if sawNull {
		return Null, nil
	}
	return NewBool(in.negate), nil
}

// Type is BIGINT.
func (in *inExpr) Type() Kind { return KindInt }

// String prints (e [not] in (list)).
func (in *inExpr) String() string {
	not := ""
	if in.negate {
		not = "not "
	}
	return "(" + in.e.String() + " " + not + "in (" + joinExprs(in.list, ",") + "))"
}
