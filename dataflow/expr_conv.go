package dataflow

import (
	"math"
	"strconv"
	"strings"

	"vitess.io/vitess/go/mysql/decimal"
)

// maxDecimalScale is the largest scale MySQL keeps in a DECIMAL result.
const maxDecimalScale = 30

// maxDecimalDigits is the largest precision of a MySQL DECIMAL.
const maxDecimalDigits = 65

// maxStringBytes caps string results like MySQL's max_allowed_packet; longer results are NULL.
const maxStringBytes = 64 << 20

// numKindOf returns the kind a value of kind k has in numeric context.
func numKindOf(k Kind) Kind {
	switch k {
	case KindInt, KindFloat, KindDecimal, KindNull:
		return k
	case KindTime:
		return KindDecimal
	}
	return KindFloat
}

// mkFloat returns a DOUBLE datum with negative zero folded to zero.
func mkFloat(f float64) Datum {
	if f == 0 {
		f = 0
	}
	return NewFloat(f)
}

// mkStr returns a text or blob datum of kind k.
func mkStr(k Kind, s string) Datum {
	if k == KindBytes {
		return Datum{k: KindBytes, s: s}
	}
	return Datum{k: KindString, s: s}
}

// strKindOf returns KindBytes if any of es is binary, else KindString.
func strKindOf(es ...Expr) Kind {
	for _, e := range es {
		if e != nil && e.Type() == KindBytes {
			return KindBytes
		}
	}
	return KindString
}

// decDatum returns a DECIMAL datum of d rounded to scale digits and printed with exactly that scale.
func decDatum(d decimal.Decimal, scale int32) Datum {
	if scale < 0 {
		scale = 0
	}
	if scale > maxDecimalScale {
		scale = maxDecimalScale
	}
	return Datum{k: KindDecimal, s: d.Round(scale).StringMySQL()}
}

// decScale returns the number of digits after the point in a decimal's text.
func decScale(s string) int32 {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return int32(len(s) - i - 1)
	}
	return 0
}

// decIntDigits returns the number of digits before the point in a decimal's text.
func decIntDigits(s string) int {
	s = strings.TrimPrefix(s, "-")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	return len(strings.TrimLeft(s, "0"))
}

// toFloat converts a non-NULL datum to a DOUBLE as MySQL does in numeric context.
func toFloat(d Datum) float64 {
	switch d.k {
	case KindInt:
		return float64(d.i)
	case KindFloat:
		return d.Float()
	case KindDecimal:
		f, err := strconv.ParseFloat(d.s, 64)
		if err != nil {
			return ParseFloatPrefix(d.s)
		}
		return f
	case KindString, KindBytes:
		return ParseFloatPrefix(d.s)
	case KindTime:
		n, us := timeNumber(d.i)
		return float64(n) + float64(us)/1e6
	}
	return 0
}

// floatToInt rounds f to the nearest integer (ties to even, like MySQL's rint) and saturates.
func floatToInt(f float64) int64 {
	if math.IsNaN(f) {
		return 0
	}
	f = math.RoundToEven(f)
	if f >= 9223372036854775807 {
		return math.MaxInt64
	}
	if f <= -9223372036854775808 {
		return math.MinInt64
	}
	return int64(f)
}

// decToInt rounds d half away from zero to an integer; ok is false if it does not fit in BIGINT.
func decToInt(d decimal.Decimal) (int64, bool) {
	r := d.Round(0)
	return r.Int64()
}

// toInt converts a non-NULL datum to a BIGINT as MySQL does for integer arguments, saturating.
func toInt(d Datum) int64 {
	switch d.k {
	case KindInt:
		return d.i
	case KindFloat:
		return floatToInt(d.Float())
	case KindDecimal:
		v := d.Decimal()
		if i, ok := decToInt(v); ok {
			return i
		}
		if v.Sign() < 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	case KindString, KindBytes:
		return parseIntPrefix(d.s)
	case KindTime:
		n, us := timeNumber(d.i)
		if us >= 500000 {
			n++
		}
		return n
	}
	return 0
}

// parseIntPrefix returns the integer at the start of s, saturating ("12abc" is 12, "1.9" is 1).
func parseIntPrefix(s string) int64 {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var u uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if u > (math.MaxUint64-9)/10 {
			over = true
			continue
		}
		u = u*10 + uint64(s[i]-'0')
	}
	if neg {
		if over || u > 1<<63 {
			return math.MinInt64
		}
		return -int64(u)
	}
	if over || u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// toDec converts a non-NULL datum to an exact decimal and the scale it carries.
func toDec(d Datum) (decimal.Decimal, int32) {
	switch d.k {
	case KindInt:
		return decimal.NewFromInt(d.i), 0
	case KindDecimal:
		return d.Decimal(), decScale(d.s)
	case KindFloat:
		return floatToDec(d.Float())
	case KindString, KindBytes:
		return parseDecimalPrefix(d.s)
	case KindTime:
		n, us := timeNumber(d.i)
		if us == 0 {
			return decimal.NewFromInt(n), 0
		}
		return decimal.NewFromInt(n).Add(decimal.New(us, -6)), 6
	}
	return decimal.Zero, 0
}

// floatToDec converts a DOUBLE to a decimal with the digits of its shortest representation.
func floatToDec(f float64) (decimal.Decimal, int32) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
		return decimal.Zero, 0
	}
	d := decimal.NewFromFloatMySQL(f)
	scale := -d.Exponent()
	if scale < 0 {
		scale = 0
	}
	if scale > maxDecimalScale {
		scale = maxDecimalScale
	}
	return d, scale
}

// parseDecimalPrefix returns the decimal number at the start of s ("12.5abc" is 12.5, "abc" is 0).
func parseDecimalPrefix(s string) (decimal.Decimal, int32) {
	text, exponent, ok := numberPrefix(s)
	if !ok {
		return decimal.Zero, 0
	}
	if exponent {
		return floatToDec(ParseFloatPrefix(text))
	}
	d, scale, ok := parseDecimalExact(text)
	if !ok {
		return decimal.Zero, 0
	}
	if scale > maxDecimalScale {
		d, scale = d.Round(maxDecimalScale), maxDecimalScale
	}
	return d, scale
}

// toStr converts a non-NULL datum to its text as MySQL does in string context.
func toStr(d Datum) string {
	switch d.k {
	case KindString, KindBytes, KindDecimal:
		return d.s
	case KindInt:
		return strconv.FormatInt(d.i, 10)
	}
	return d.String()
}

// coerce converts d to kind k (NULL stays NULL) as values are converted to a unified column type.
func coerce(d Datum, k Kind) Datum {
	if d.k == k || d.k == KindNull {
		return d
	}
	switch k {
	case KindInt:
		return NewInt(toInt(d))
	case KindFloat:
		return mkFloat(toFloat(d))
	case KindDecimal:
		v, scale := toDec(d)
		return decDatum(v, scale)
	case KindString, KindBytes:
		return mkStr(k, toStr(d))
	case KindTime:
		if us, ok := toTimeMicros(d); ok {
			return NewTimeMicros(us)
		}
	}
	return Null
}

// coerceExpr converts every value of e to kind k.
type coerceExpr struct {
	e Expr
	k Kind
}

// withKind returns e converted to kind k, or e itself if it already has that kind.
func withKind(e Expr, k Kind) Expr {
	if e.Type() == k {
		return e
	}
	return &coerceExpr{e: e, k: k}
}

// Eval converts the value of the inner expression.
func (c *coerceExpr) Eval(row Row) (Datum, error) {
	d, err := c.e.Eval(row)
	if err != nil {
		return Null, err
	}
	return coerce(d, c.k), nil
}

// Type returns the target kind.
func (c *coerceExpr) Type() Kind { return c.k }

// String prints the inner expression; the conversion is implicit in SQL.
func (c *coerceExpr) String() string { return c.e.String() }
