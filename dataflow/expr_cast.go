package dataflow

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"vitess.io/vitess/go/mysql/decimal"

	"github.com/cdc-dev/cdc/sqlerr"
)

// castMode says how a castExpr converts.
type castMode uint8

const (
	castGeneric castMode = iota
	castDecimal
	castChar
	castBinary
	castDateTime
	castDate
	castTime
)

// castExpr converts its operand to a type.
type castExpr struct {
	e     Expr
	to    Kind
	mode  castMode
	m, d  int32 // DECIMAL(m,d)
	n     int   // CHAR(n) / BINARY(n) length, -1 if none
	fsp   int   // DATETIME(fsp) / TIME(fsp)
	label string
}

// Cast returns e converted to kind to with MySQL's conversion rules.
func Cast(e Expr, to Kind) Expr {
	return &castExpr{e: e, to: to, mode: castGeneric, n: -1, label: to.String()}
}

// CastSQL returns CAST(e AS typeName) for the MySQL cast targets (SIGNED, DECIMAL(m,d), CHAR(n), ...).
func CastSQL(e Expr, typeName string) (Expr, error) {
	name := strings.ToUpper(strings.Join(strings.Fields(typeName), " "))
	binaryCharset := false
	for _, kw := range []string{" CHARACTER SET ", " CHARSET "} {
		if i := strings.Index(name, kw); i >= 0 {
			binaryCharset = strings.TrimSpace(name[i+len(kw):]) == "BINARY"
			name = name[:i]
		}
	}
	if strings.HasSuffix(name, " BINARY") && !strings.HasPrefix(name, "BINARY") {
		binaryCharset = true
		name = strings.TrimSuffix(name, " BINARY")
	}
	base, args, err := splitTypeArgs(name)
	if err != nil {
		return nil, err
	}
	c := &castExpr{e: e, n: -1}
	switch base {
	case "SIGNED", "SIGNED INTEGER", "SIGNED INT", "UNSIGNED", "UNSIGNED INTEGER", "UNSIGNED INT",
		"INTEGER", "INT", "BIGINT":
		if len(args) > 0 {
			return nil, badCastType(typeName)
		}
		c.to, c.label = KindInt, "signed"
	case "DOUBLE", "REAL", "FLOAT", "DOUBLE PRECISION":
		if len(args) > 1 || (base != "FLOAT" && len(args) > 0) {
			return nil, badCastType(typeName)
		}
		c.to, c.label = KindFloat, "double"
	case "DECIMAL", "DEC", "NUMERIC", "FIXED":
		m, d := int32(10), int32(0)
		if len(args) > 2 {
			return nil, badCastType(typeName)
		}
		if len(args) >= 1 {
			m = int32(args[0])
		}
		if len(args) == 2 {
			d = int32(args[1])
		}
		if m > maxDecimalDigits {
			return nil, sqlerr.New(1426, "Too-big precision %d specified for 'CAST'. Maximum is %d.", m, maxDecimalDigits)
		}
		if d > maxDecimalScale {
			return nil, sqlerr.New(1425, "Too big scale %d specified for 'CAST'. Maximum is %d.", d, maxDecimalScale)
		}
		if m == 0 {
			m = 10
		}
		if m < d {
			return nil, sqlerr.New(1427, "For float(M,D), double(M,D) or decimal(M,D), M must be >= D (column 'CAST').")
		}
		c.to, c.mode, c.m, c.d = KindDecimal, castDecimal, m, d
		c.label = "decimal(" + strconv.Itoa(int(m)) + "," + strconv.Itoa(int(d)) + ")"
	case "CHAR", "NCHAR", "VARCHAR", "NVARCHAR", "CHARACTER", "BINARY", "VARBINARY":
		if len(args) > 1 {
			return nil, badCastType(typeName)
		}
		if len(args) == 1 {
			c.n = args[0]
		}
		if base == "BINARY" || base == "VARBINARY" || binaryCharset {
			c.to, c.mode, c.label = KindBytes, castBinary, "binary"
		} else {
			c.to, c.mode, c.label = KindString, castChar, "char"
		}
		if c.n >= 0 {
			c.label += "(" + strconv.Itoa(c.n) + ")"
		}
	case "DATETIME", "TIMESTAMP", "DATE", "TIME":
		if len(args) > 1 || (base == "DATE" && len(args) > 0) {
			return nil, badCastType(typeName)
		}
		if len(args) == 1 {
			c.fsp = args[0]
		}
		if c.fsp > 6 {
			return nil, sqlerr.New(1426, "Too-big precision %d specified for 'CAST'. Maximum is 6.", c.fsp)
		}
		switch base {
		case "DATE":
			c.to, c.mode, c.label = KindTime, castDate, "date"
		case "TIME":
			c.to, c.mode, c.label = KindString, castTime, "time"
		default:
			c.to, c.mode, c.label = KindTime, castDateTime, "datetime"
		}
		if c.fsp > 0 {
			c.label += "(" + strconv.Itoa(c.fsp) + ")"
		}
	default:
		return nil, sqlerr.New(sqlerr.NotSupported, "CAST to %s is not supported", typeName)
	}
	return c, nil
}

// splitTypeArgs splits "DECIMAL(10,2)" into "DECIMAL" and [10 2].
func splitTypeArgs(name string) (string, []int, error) {
	open := strings.IndexByte(name, '(')
	if open < 0 {
		return strings.TrimSpace(name), nil, nil
	}
	closing := strings.LastIndexByte(name, ')')
	if closing < open || strings.TrimSpace(name[closing+1:]) != "" {
		return "", nil, badCastType(name)
	}
	var args []int
	for _, p := range strings.Split(name[open+1:closing], ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 || v > 1<<30 {
			return "", nil, badCastType(name)
		}
		args = append(args, v)
	}
	return strings.TrimSpace(name[:open]), args, nil
}

// badCastType is the error for a malformed CAST target.
func badCastType(name string) error {
	return sqlerr.New(sqlerr.Parse, "You have an error in your SQL syntax near '%s'", name)
}

// Eval converts the operand's value.
func (c *castExpr) Eval(row Row) (Datum, error) {
	v, err := c.e.Eval(row)
	if err != nil || v.k == KindNull {
		return Null, err
	}
	switch c.mode {
	case castDecimal:
		x, _ := toDec(v)
		return clampDecimal(x, c.m, c.d), nil
	case castChar, castBinary:
		s := toStr(v)
		if c.n >= 0 {
			if c.mode == castBinary {
				if len(s) > c.n {
					s = s[:c.n]
				} else if len(s) < c.n && c.n <= maxStringBytes {
					s += strings.Repeat("\x00", c.n-len(s))
				}
			} else if utf8.RuneCountInString(s) > c.n {
				s = s[:charOffset(s, c.n, false)]
			}
		}
		return mkStr(c.to, s), nil
	case castDateTime, castDate:
		us, ok := toTimeMicros(v)
		if !ok {
			return Null, nil
		}
		if c.mode == castDate {
			const day = 86400 * 1000000
			r := us % day
			if r < 0 {
				r += day
			}
			return NewTimeMicros(us - r), nil
		}
		return NewTimeMicros(roundMicros(us, c.fsp)), nil
	case castTime:
		s, ok := castTimeText(v, c.fsp)
		if !ok {
			return Null, nil
		}
		return NewString(s), nil
	}
	return coerce(v, c.to), nil
}

// clampDecimal rounds x to scale d and clamps it to the largest DECIMAL(m,d) of its sign.
func clampDecimal(x decimal.Decimal, m, d int32) Datum {
	r := decDatum(x, d)
	if decIntDigits(r.s) <= int(m-d) {
		return r
	}
	var b strings.Builder
	if x.Sign() < 0 {
		b.WriteByte('-')
	}
	if m == d {
		b.WriteByte('0')
	} else {
		b.WriteString(strings.Repeat("9", int(m-d)))
	}
	if d > 0 {
		b.WriteByte('.')
		b.WriteString(strings.Repeat("9", int(d)))
	}
	return Datum{k: KindDecimal, s: b.String()}
}

// Type is the target kind.
func (c *castExpr) Type() Kind { return c.to }

// String prints cast(e as type).
func (c *castExpr) String() string { return "cast(" + c.e.String() + " as " + c.label + ")" }
