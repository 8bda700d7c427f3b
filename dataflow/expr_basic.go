package dataflow

import (
	"encoding/hex"
	"strconv"
	"strings"

	"vitess.io/vitess/go/mysql/decimal"

	"github.com/cdc-dev/cdc/sqlerr"
)

// colExpr reads one column of the row.
type colExpr struct {
	index int
	kind  Kind
	name  string
}

// Col returns an expression that reads column index of the row, whose values are of kind.
func Col(index int, kind Kind, name string) Expr {
	return &colExpr{index: index, kind: kind, name: name}
}

// ColumnOf returns the column an expression reads if it is a plain column reference.
func ColumnOf(e Expr) (int, bool) {
	c, ok := e.(*colExpr)
	if !ok {
		return 0, false
	}
	return c.index, true
}

// Eval returns the column's value.
func (c *colExpr) Eval(row Row) (Datum, error) {
	if c.index < 0 || c.index >= len(row) {
		return Null, sqlerr.New(sqlerr.Unknown, "column %s out of range of a row of %d columns", c.String(), len(row))
	}
	return row[c.index], nil
}

// Type returns the declared kind of the column.
func (c *colExpr) Type() Kind { return c.kind }

// String prints the column name, or #index when it has none.
func (c *colExpr) String() string {
	if c.name != "" {
		return c.name
	}
	return "#" + strconv.Itoa(c.index)
}

// litExpr is a constant.
type litExpr struct{ d Datum }

// Lit returns an expression that always yields d.
func Lit(d Datum) Expr { return &litExpr{d: d} }

// Eval returns the constant.
func (l *litExpr) Eval(Row) (Datum, error) { return l.d, nil }

// Type returns the kind of the constant.
func (l *litExpr) Type() Kind { return l.d.k }

// String prints the constant as a SQL literal.
func (l *litExpr) String() string { return sqlLiteral(l.d) }

// sqlLiteral prints d as a SQL literal.
func sqlLiteral(d Datum) string {
	switch d.k {
	case KindString:
		return quoteString(d.s)
	case KindBytes:
		if d.s == "" {
			return "X''"
		}
		return "0x" + hex.EncodeToString([]byte(d.s))
	case KindTime:
		return "TIMESTAMP" + quoteString(d.String())
	}
	return d.String()
}

// quoteString quotes s as a MySQL string literal.
func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// IsTrue reports the SQL truth of d as MySQL's WHERE sees it: non-NULL and nonzero.
func IsTrue(d Datum) bool {
	switch d.k {
	case KindInt:
		return d.i != 0
	case KindFloat:
		return d.Float() != 0
	case KindDecimal:
		return decimalTextNonZero(d.s)
	case KindString, KindBytes:
		return ParseFloatPrefix(d.s) != 0
	case KindTime:
		return true
	}
	return false
}

// decimalTextNonZero reports whether a decimal's text has a nonzero digit.
func decimalTextNonZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= '1' && s[i] <= '9' {
			return true
		}
	}
	return false
}

// UnifyKinds returns the kind that values of kinds a and b are converted to when they share a column.
func UnifyKinds(a, b Kind) Kind {
	switch {
	case a == b:
		return a
	case a == KindNull:
		return b
	case b == KindNull:
		return a
	case a.Numeric() && b.Numeric():
		if a == KindFloat || b == KindFloat {
			return KindFloat
		}
		return KindDecimal
	case a == KindBytes || b == KindBytes:
		return KindBytes
	}
	return KindString
}

// unifyExprKinds folds UnifyKinds over the types of es.
func unifyExprKinds(es []Expr) Kind {
	k := KindNull
	for _, e := range es {
		if e != nil {
			k = UnifyKinds(k, e.Type())
		}
	}
	return k
}

// NewDecimalText returns a DECIMAL datum from its text, keeping the scale the text is written with.
func NewDecimalText(s string) (Datum, error) {
	d, scale, ok := parseDecimalExact(s)
	if !ok {
		return Null, sqlerr.New(sqlerr.WrongValue, "Incorrect DECIMAL value: '%s'", s)
	}
	return decDatum(d, scale), nil
}

// parseDecimalExact parses a whole decimal literal such as "-1.50", ".5" or "5." without exponent.
func parseDecimalExact(s string) (decimal.Decimal, int32, bool) {
	t := strings.TrimSpace(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	intPart, frac, hasDot := strings.Cut(t, ".")
	if intPart == "" && frac == "" {
		return decimal.Zero, 0, false
	}
	for _, part := range [2]string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return decimal.Zero, 0, false
			}
		}
	}
	if intPart == "" {
		intPart = "0"
	}
	text := intPart
	if hasDot && frac != "" {
		text += "." + frac
	}
	if neg {
		text = "-" + text
	}
	d, err := decimal.NewFromString(text)
	if err != nil {
		return decimal.Zero, 0, false
	}
	return d, int32(len(frac)), true
}

// errOutOfRange is MySQL's ER_DATA_OUT_OF_RANGE for a value of type typ computed by expression what.
func errOutOfRange(typ, what string) error {
	return sqlerr.New(sqlerr.DataOutOfRange, "%s value is out of range in '%s'", typ, what)
}

// joinExprs prints es separated by sep.
func joinExprs(es []Expr, sep string) string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(e.String())
	}
	return b.String()
}
