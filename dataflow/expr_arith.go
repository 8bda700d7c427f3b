package dataflow

import (
	"math"
	"strings"

	"vitess.io/vitess/go/mysql/decimal"

	"github.com/cdc-dev/cdc/sqlerr"
)

// arithOp is an arithmetic operator.
type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opDiv
	opIntDiv
	opMod
)

var arithOpNames = [...]string{opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opIntDiv: "DIV", opMod: "%"}

// divScaleIncrement is MySQL's div_precision_increment: the scale a division adds.
const divScaleIncrement = 4

// arithExpr is a binary arithmetic operation.
type arithExpr struct {
	op   arithOp
	l, r Expr
	kind Kind
}

// Arith returns l op r for op one of + - * / DIV % MOD, typed like MySQL.
func Arith(op string, l, r Expr) (Expr, error) {
	var o arithOp
	switch strings.ToUpper(op) {
	case "+":
		o = opAdd
	case "-":
		o = opSub
	case "*":
		o = opMul
	case "/":
		o = opDiv
	case "DIV":
		o = opIntDiv
	case "%", "MOD":
		o = opMod
	default:
		return nil, sqlerr.New(sqlerr.NotSupported, "arithmetic operator '%s' is not supported", op)
	}
	if l == nil || r == nil {
		return nil, sqlerr.New(sqlerr.Parse, "operator %s needs two operands", op)
	}
	return &arithExpr{op: o, l: l, r: r, kind: arithKind(o, l.Type(), r.Type())}, nil
}

// arithKind returns the result type of l op r.
func arithKind(op arithOp, l, r Kind) Kind {
	lk, rk := numKindOf(l), numKindOf(r)
	if lk == KindNull || rk == KindNull {
		return KindNull
	}
	switch op {
	case opIntDiv:
		return KindInt
	case opDiv:
		if lk == KindFloat || rk == KindFloat {
			return KindFloat
		}
		return KindDecimal
	}
	switch {
	case lk == KindFloat || rk == KindFloat:
		return KindFloat
	case lk == KindDecimal || rk == KindDecimal:
		return KindDecimal
	}
	return KindInt
}

// Eval computes the operation; NULL operands and division by zero yield NULL.
func (a *arithExpr) Eval(row Row) (Datum, error) {
	x, err := a.l.Eval(row)
	if err != nil {
		return Null, err
	}
	y, err := a.r.Eval(row)
	if err != nil {
		return Null, err
	}
	if x.k == KindNull || y.k == KindNull || a.kind == KindNull {
		return Null, nil
	}
	if x.k == KindInt && y.k == KindInt && a.kind == KindInt {
		return a.evalInt(x.i, y.i)
	}
	return a.evalSlow(x, y)
}

// evalInt is the BIGINT path with overflow detection.
func (a *arithExpr) evalInt(x, y int64) (Datum, error) {
	switch a.op {
	case opAdd:
		s := x + y
		if (x^s)&(y^s) < 0 {
			return Null, a.overflow("BIGINT")
		}
		return NewInt(s), nil
	case opSub:
		s := x - y
		if (x^y)&(x^s) < 0 {
			return Null, a.overflow("BIGINT")
		}
		return NewInt(s), nil
	case opMul:
		if x == 0 || y == 0 {
			return NewInt(0), nil
		}
		p := x * y
		if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
			return Null, a.overflow("BIGINT")
		}
		return NewInt(p), nil
	case opIntDiv:
		if y == 0 {
			return Null, nil
		}
		if x == math.MinInt64 && y == -1 {
			return Null, a.overflow("BIGINT")
		}
		return NewInt(x / y), nil
	case opMod:
		if y == 0 {
			return Null, nil
		}
		if y == -1 {
			return NewInt(0), nil
		}
		return NewInt(x % y), nil
	}
	return a.evalSlow(NewInt(x), NewInt(y))
}

// evalSlow computes the operation for operands that are not both BIGINT.
func (a *arithExpr) evalSlow(x, y Datum) (Datum, error) {
	switch a.kind {
	case KindInt:
		if a.op == opIntDiv && (x.k != KindInt || y.k != KindInt) {
			return a.intDivExact(x, y)
		}
		return a.evalInt(toInt(x), toInt(y))
	case KindFloat:
		return a.evalFloat(toFloat(x), toFloat(y))
	case KindDecimal:
		return a.evalDecimal(x, y)
	}
	return Null, nil
}

// intDivExact is DIV of non-integer operands: exact division truncated to a BIGINT.
func (a *arithExpr) intDivExact(x, y Datum) (Datum, error) {
	dx, _ := toDec(x)
	dy, _ := toDec(y)
	if dy.IsZero() {
		return Null, nil
	}
	q, _ := dx.QuoRem(dy, 0)
	i, ok := q.Int64()
	if !ok {
		return Null, a.overflow("BIGINT")
	}
	return NewInt(i), nil
}

// evalFloat is the DOUBLE path.
func (a *arithExpr) evalFloat(x, y float64) (Datum, error) {
	var r float64
	switch a.op {
	case opAdd:
		r = x + y
	case opSub:
		r = x - y
	case opMul:
		r = x * y
	case opDiv:
		if y == 0 {
			return Null, nil
		}
		r = x / y
	case opMod:
		if y == 0 {
			return Null, nil
		}
		r = math.Mod(x, y)
	default:
		return Null, nil
	}
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return Null, a.overflow("DOUBLE")
	}
	return mkFloat(r), nil
}

// evalDecimal is the exact DECIMAL path with MySQL's result scales.
func (a *arithExpr) evalDecimal(x, y Datum) (Datum, error) {
	dx, sx := toDec(x)
	dy, sy := toDec(y)
	var r decimal.Decimal
	var scale int32
	switch a.op {
	case opAdd:
		r, scale = dx.Add(dy), max(sx, sy)
	case opSub:
		r, scale = dx.Sub(dy), max(sx, sy)
	case opMul:
		r, scale = dx.Mul(dy), min(sx+sy, maxDecimalScale)
	case opDiv:
		if dy.IsZero() {
			return Null, nil
		}
		scale = min(sx+divScaleIncrement, maxDecimalScale)
		r, _ = dx.QuoRem(dy, scale+1)
	case opMod:
		if dy.IsZero() {
			return Null, nil
		}
		_, r = dx.QuoRem(dy, 0)
		scale = max(sx, sy)
	default:
		return Null, nil
	}
	d := decDatum(r, scale)
	if decIntDigits(d.s) > maxDecimalDigits {
		return Null, a.overflow("DECIMAL")
	}
	return d, nil
}

// overflow is the out-of-range error for this operation.
func (a *arithExpr) overflow(typ string) error { return errOutOfRange(typ, a.String()) }

// Type is the result type MySQL gives the operation.
func (a *arithExpr) Type() Kind { return a.kind }

// String prints (l op r).
func (a *arithExpr) String() string {
	return "(" + a.l.String() + " " + arithOpNames[a.op] + " " + a.r.String() + ")"
}

// negExpr is unary minus.
type negExpr struct {
	e    Expr
	kind Kind
}

// Neg returns -e.
func Neg(e Expr) Expr { return &negExpr{e: e, kind: numKindOf(e.Type())} }

// Eval negates the operand; -(-9223372036854775808) is out of range.
func (n *negExpr) Eval(row Row) (Datum, error) {
	d, err := n.e.Eval(row)
	if err != nil || d.k == KindNull || n.kind == KindNull {
		return Null, err
	}
	switch n.kind {
	case KindInt:
		v := toInt(d)
		if v == math.MinInt64 {
			return Null, errOutOfRange("BIGINT", n.String())
		}
		return NewInt(-v), nil
	case KindFloat:
		return mkFloat(-toFloat(d)), nil
	}
	v, scale := toDec(d)
	return decDatum(v.Neg(), scale), nil
}

// Type is the numeric type of the operand.
func (n *negExpr) Type() Kind { return n.kind }

// String prints -(e).
func (n *negExpr) String() string { return "-(" + n.e.String() + ")" }
