package dataflow

import (
	"strings"

	"github.com/cdc-dev/cdc/sqlerr"
)

// andExpr is the conjunction of its arguments.
type andExpr struct{ args []Expr }

// And returns the three-valued conjunction of args (1 if there are none).
func And(args ...Expr) Expr {
	flat := make([]Expr, 0, len(args))
	for _, a := range args {
		if inner, ok := a.(*andExpr); ok {
			flat = append(flat, inner.args...)
		} else if a != nil {
			flat = append(flat, a)
		}
	}
	if len(flat) == 0 {
		return Lit(NewBool(true))
	}
	return &andExpr{args: flat}
}

// Eval returns 0 if any argument is false, else NULL if any is NULL, else 1.
func (a *andExpr) Eval(row Row) (Datum, error) {
	sawNull := false
	for _, e := range a.args {
		d, err := e.Eval(row)
		if err != nil {
			return Null, err
		}
		if d.k == KindNull {
			sawNull = true
		} else if !IsTrue(d) {
			return NewBool(false), nil
		}
	}
	if sawNull {
		return Null, nil
	}
	return NewBool(true), nil
}

// Type is BIGINT.
func (a *andExpr) Type() Kind { return KindInt }

// String prints (a and b ...).
func (a *andExpr) String() string { return "(" + joinExprs(a.args, " and ") + ")" }

// orExpr is a disjunction.
type orExpr struct{ l, r Expr }

// Or returns the three-valued disjunction of a and b.
func Or(a, b Expr) Expr { return &orExpr{l: a, r: b} }

// Eval returns 1 if either side is true, else NULL if either is NULL, else 0.
func (o *orExpr) Eval(row Row) (Datum, error) {
	a, err := o.l.Eval(row)
	if err != nil {
		return Null, err
	}
	if a.k != KindNull && IsTrue(a) {
		return NewBool(true), nil
	}
	b, err := o.r.Eval(row)
	if err != nil {
		return Null, err
	}
	if b.k != KindNull && IsTrue(b) {
		return NewBool(true), nil
	}
	if a.k == KindNull || b.k == KindNull {
		return Null, nil
	}
	return NewBool(false), nil
}

// Type is BIGINT.
func (o *orExpr) Type() Kind { return KindInt }

// String prints (a or b).
func (o *orExpr) String() string { return "(" + o.l.String() + " or " + o.r.String() + ")" }

// xorExpr is an exclusive or.
type xorExpr struct{ l, r Expr }

// Xor returns a XOR b: NULL if either is NULL.
func Xor(a, b Expr) Expr { return &xorExpr{l: a, r: b} }

// Eval returns whether exactly one side is true.
func (x *xorExpr) Eval(row Row) (Datum, error) {
	a, err := x.l.Eval(row)
	if err != nil {
		return Null, err
	}
	b, err := x.r.Eval(row)
	if err != nil {
		return Null, err
	}
	if a.k == KindNull || b.k == KindNull {
		return Null, nil
	}
	return NewBool(IsTrue(a) != IsTrue(b)), nil
}

// Type is BIGINT.
func (x *xorExpr) Type() Kind { return KindInt }

// String prints (a xor b).
func (x *xorExpr) String() string { return "(" + x.l.String() + " xor " + x.r.String() + ")" }

// notExpr is a logical negation.
type notExpr struct{ e Expr }

// Not returns NOT e: NULL stays NULL.
func Not(e Expr) Expr { return &notExpr{e: e} }

// Eval negates the truth of the operand.
func (n *notExpr) Eval(row Row) (Datum, error) {
	d, err := n.e.Eval(row)
	if err != nil || d.k == KindNull {
		return Null, err
	}
	return NewBool(!IsTrue(d)), nil
}

// Type is BIGINT.
func (n *notExpr) Type() Kind { return KindInt }

// String prints (not e).
func (n *notExpr) String() string { return "(not " + n.e.String() + ")" }

// isNullExpr is e IS [NOT] NULL.
type isNullExpr struct {
	e      Expr
	negate bool
}

// IsNull returns e IS NULL, or e IS NOT NULL when negate is set; never NULL itself.
func IsNull(e Expr, negate bool) Expr { return &isNullExpr{e: e, negate: negate} }

// Eval tests the operand for NULL.
func (n *isNullExpr) Eval(row Row) (Datum, error) {
	d, err := n.e.Eval(row)
	if err != nil {
		return Null, err
	}
	return NewBool((d.k == KindNull) != n.negate), nil
}

// Type is BIGINT.
func (n *isNullExpr) Type() Kind { return KindInt }

// String prints (e is [not] null).
func (n *isNullExpr) String() string {
	if n.negate {
		return "(" + n.e.String() + " is not null)"
	}
	return "(" + n.e.String() + " is null)"
}

// isBoolExpr is e IS [NOT] TRUE/FALSE.
type isBoolExpr struct {
	e      Expr
	want   bool
	negate bool
}

// IsBool returns e IS TRUE (want) or IS FALSE (!want), negated for IS NOT; never NULL itself.
func IsBool(e Expr, want bool, negate bool) Expr {
	return &isBoolExpr{e: e, want: want, negate: negate}
}

// Eval tests the truth of the operand; NULL is neither true nor false.
func (b *isBoolExpr) Eval(row Row) (Datum, error) {
	d, err := b.e.Eval(row)
	if err != nil {
		return Null, err
	}
	res := d.k != KindNull && IsTrue(d) == b.want
	return NewBool(res != b.negate), nil
}

// Type is BIGINT.
func (b *isBoolExpr) Type() Kind { return KindInt }

// String prints (e is [not] true|false).
func (b *isBoolExpr) String() string {
	var s strings.Builder
	s.WriteString("(" + b.e.String() + " is ")
	if b.negate {
		s.WriteString("not ")
	}
	if b.want {
		s.WriteString("true)")
	} else {
		s.WriteString("false)")
	}
	return s.String()
}

// caseExpr is a simple (with operand) or searched CASE.
type caseExpr struct {
	operand Expr
	whens   []Expr
	thens   []Expr
	els     Expr
	kind    Kind
}

// Case returns CASE [operand] WHEN whens[i] THEN thens[i] ... [ELSE els] END, typed by its branches.
func Case(operand Expr, whens, thens []Expr, els Expr) (Expr, error) {
	if len(whens) == 0 || len(whens) != len(thens) {
		return nil, sqlerr.New(sqlerr.Parse, "CASE needs as many THEN as WHEN branches, at least one")
	}
	for i := range whens {
		if whens[i] == nil || thens[i] == nil {
			return nil, sqlerr.New(sqlerr.Parse, "CASE has a missing branch")
		}
	}
	kind := unifyExprKinds(thens)
	if els != nil {
		kind = UnifyKinds(kind, els.Type())
	}
	return &caseExpr{operand: operand, whens: whens, thens: thens, els: els, kind: kind}, nil
}

// Eval returns the value of the first matching branch, else the ELSE value, else NULL.
func (c *caseExpr) Eval(row Row) (Datum, error) {
	var op Datum
	if c.operand != nil {
		var err error
		if op, err = c.operand.Eval(row); err != nil {
			return Null, err
		}
	}
	for i, w := range c.whens {
		d, err := w.Eval(row)
		if err != nil {
			return Null, err
		}
		var hit bool
		if c.operand != nil {
			r, ok := SQLCompare(op, d)
			hit = ok && r == 0
		} else {
			hit = IsTrue(d)
		}
		if hit {
			return c.branch(c.thens[i], row)
		}
	}
	if c.els == nil {
		return Null, nil
	}
	return c.branch(c.els, row)
}

// branch evaluates a result branch and converts it to the CASE's type.
func (c *caseExpr) branch(e Expr, row Row) (Datum, error) {
	d, err := e.Eval(row)
	if err != nil {
		return Null, err
	}
	return coerce(d, c.kind), nil
}

// Type is the unified type of the branches.
func (c *caseExpr) Type() Kind { return c.kind }

// String prints the CASE expression.
func (c *caseExpr) String() string {
	var b strings.Builder
	b.WriteString("case")
	if c.operand != nil {
		b.WriteString(" " + c.operand.String())
	}
	for i := range c.whens {
		b.WriteString(" when " + c.whens[i].String() + " then " + c.thens[i].String())
	}
	if c.els != nil {
		b.WriteString(" else " + c.els.String())
	}
	b.WriteString(" end")
	return b.String()
}
