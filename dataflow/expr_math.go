package dataflow

import (
	"math"

	"vitess.io/vitess/go/mysql/decimal"
)

// registerMath adds the numeric functions to the registry.
func registerMath() {
	register(funcBuilder{1, 1, buildAbs}, "ABS")
	register(funcBuilder{1, 1, buildSign}, "SIGN")
	register(funcBuilder{1, 2, buildRound}, "ROUND")
	register(funcBuilder{2, 2, buildRound}, "TRUNCATE")
	register(funcBuilder{1, 1, buildFloorCeil}, "FLOOR", "CEIL", "CEILING")
	register(funcBuilder{2, 2, func(name string, args []Expr) (Expr, error) {
		return Arith("%", args[0], args[1])
	}}, "MOD")
	register(funcBuilder{2, 2, buildPow}, "POW", "POWER")
	register(funcBuilder{1, 1, buildFloat1}, "SQRT", "EXP", "LN", "LOG2", "LOG10")
	register(funcBuilder{1, 2, buildLog}, "LOG")
}

// buildAbs builds ABS(x), typed like x in numeric context.
func buildAbs(name string, args []Expr) (Expr, error) {
	kind := numKindOf(args[0].Type())
	f := &funcExpr{name: name, args: args, kind: kind, strict: true}
	f.f1 = func(a Datum) (Datum, error) {
		switch kind {
		case KindInt:
			v := toInt(a)
			if v == math.MinInt64 {
				return Null, errOutOfRange("BIGINT", f.String())
			}
			if v < 0 {
				v = -v
			}
			return NewInt(v), nil
		case KindDecimal:
			d, scale := toDec(a)
			return decDatum(d.Abs(), scale), nil
		case KindFloat:
			return mkFloat(math.Abs(toFloat(a))), nil
		}
		return Null, nil
	}
	return f, nil
}

// buildSign builds SIGN(x): -1, 0 or 1.
func buildSign(name string, args []Expr) (Expr, error) {
	return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f1: func(a Datum) (Datum, error) {
		switch a.k {
		case KindInt:
			return NewInt(int64(sign64(a.i))), nil
		case KindDecimal:
			return NewInt(int64(a.Decimal().Sign())), nil
		}
		f := toFloat(a)
		switch {
		case f > 0:
			return NewInt(1), nil
		case f < 0:
			return NewInt(-1), nil
		}
		return NewInt(0), nil
	}}, nil
}

// sign64 returns the sign of v.
func sign64(v int64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// pow10i holds the powers of ten that fit in an int64.
var pow10i = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// buildRound builds ROUND(x[,d]) and TRUNCATE(x,d), typed like x in numeric context.
func buildRound(name string, args []Expr) (Expr, error) {
	kind := numKindOf(args[0].Type())
	trunc := name == "truncate"
	f := &funcExpr{name: name, args: args, kind: kind, strict: true}
	impl := func(a Datum, places int64) (Datum, error) {
		switch kind {
		case KindInt:
			v, ok := roundInt(toInt(a), places, trunc)
			if !ok {
				return Null, errOutOfRange("BIGINT", f.String())
			}
			return NewInt(v), nil
		case KindDecimal:
			d, scale := toDec(a)
			p := int32(max(min(places, maxDecimalScale), -maxDecimalDigits-5))
			var r decimal.Decimal
			if trunc {
				r = truncDec(d, p)
			} else {
				r = d.Round(p)
			}
			out := decDatum(r, max(min(p, scale), 0))
			if decIntDigits(out.s) > maxDecimalDigits {
				return Null, errOutOfRange("DECIMAL", f.String())
			}
			return out, nil
		case KindFloat:
			return mkFloat(roundFloat(toFloat(a), places, trunc)), nil
		}
		return Null, nil
	}
	f.f1 = func(a Datum) (Datum, error) { return impl(a, 0) }
	f.f2 = func(a, b Datum) (Datum, error) { return impl(a, toInt(b)) }
	return f, nil
}

// roundInt rounds (half away from zero) or truncates v to 10^-places; ok is false on overflow.
func roundInt(v int64, places int64, trunc bool) (int64, bool) {
	if places >= 0 {
		return v, true
	}
	if places < -18 {
		if trunc {
			return 0, true
		}
		// |v| < 10^19 so only the rounding of 9.2e18 to 10^19 could matter; it overflows.
		if places == -19 && (v >= 5e18 || v <= -5e18) {
			return 0, false
		}
		return 0, true
	}
	p := pow10i[-places]
	q, r := v/p, v%p
	if !trunc {
		if r >= 0 && r*2 >= p {
			q++
		} else if r < 0 && -r*2 >= p {
			q--
		}
	}
	if q > math.MaxInt64/p || q < math.MinInt64/p {
		return 0, false
	}
	return q * p, true
}

// truncDec truncates d toward zero to places digits after the point (negative: before it).
func truncDec(d decimal.Decimal, places int32) decimal.Decimal {
	if places >= 0 {
		return d.Truncate(places)
	}
	unit := decimal.New(1, -places)
	q, _ := d.QuoRem(unit, 0)
	return q.Mul(unit)
}

// roundFloat is MySQL's my_double_round: ties to even via rint, or truncation toward zero.
func roundFloat(v float64, places int64, trunc bool) float64 {
	places = max(min(places, 400), -400)
	abs := places
	if abs < 0 {
		abs = -abs
	}
	tmp := math.Pow(10, float64(abs))
	if places < 0 && math.IsInf(tmp, 0) {
		return 0
	}
	if places >= 0 {
		m := v * tmp
		if math.IsInf(m, 0) || math.IsNaN(m) {
			return v
		}
		if trunc {
			return math.Trunc(m) / tmp
		}
		return math.RoundToEven(m) / tmp
	}
	d := v / tmp
	if trunc {
		return math.Trunc(d) * tmp
	}
	return math.RoundToEven(d) * tmp
}

// buildFloorCeil builds FLOOR(x) and CEIL(x): integers stay BIGINT, decimals stay DECIMAL.
func buildFloorCeil(name string, args []Expr) (Expr, error) {
	kind := numKindOf(args[0].Type())
	ceil := name != "floor"
	return &funcExpr{name: name, args: args, kind: kind, strict: true, f1: func(a Datum) (Datum, error) {
		switch kind {
		case KindInt:
			return NewInt(toInt(a)), nil
		case KindDecimal:
			d, _ := toDec(a)
			if ceil {
				return decDatum(d.Ceil(), 0), nil
			}
			return decDatum(d.Floor(), 0), nil
		case KindFloat:
			if ceil {
				return mkFloat(math.Ceil(toFloat(a))), nil
			}
			return mkFloat(math.Floor(toFloat(a))), nil
		}
		return Null, nil
	}}, nil
}

// buildPow builds POW(x, y); a result that is not a finite number is out of range.
func buildPow(name string, args []Expr) (Expr, error) {
	f := &funcExpr{name: name, args: args, kind: KindFloat, strict: true}
	f.f2 = func(a, b Datum) (Datum, error) {
		r := math.Pow(toFloat(a), toFloat(b))
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return Null, errOutOfRange("DOUBLE", f.String())
		}
		return mkFloat(r), nil
	}
	return f, nil
}

// buildFloat1 builds the one-argument DOUBLE functions; arguments outside their domain give NULL.
func buildFloat1(name string, args []Expr) (Expr, error) {
	f := &funcExpr{name: name, args: args, kind: KindFloat, strict: true}
	f.f1 = func(a Datum) (Datum, error) {
		x := toFloat(a)
		var r float64
		switch name {
		case "sqrt":
			if x < 0 {
				return Null, nil
			}
			r = math.Sqrt(x)
		case "exp":
			r = math.Exp(x)
		case "ln":
			if x <= 0 {
				return Null, nil
			}
			r = math.Log(x)
		case "log2":
			if x <= 0 {
				return Null, nil
			}
			r = math.Log2(x)
		case "log10":
			if x <= 0 {
				return Null, nil
			}
			r = math.Log10(x)
		}
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return Null, errOutOfRange("DOUBLE", f.String())
		}
		return mkFloat(r), nil
	}
	return f, nil
}

// buildLog builds LOG(x) (natural) and LOG(b, x).
func buildLog(name string, args []Expr) (Expr, error) {
	f := &funcExpr{name: name, args: args, kind: KindFloat, strict: true}
	f.f1 = func(a Datum) (Datum, error) {
		x := toFloat(a)
		if x <= 0 {
			return Null, nil
		}
		return mkFloat(math.Log(x)), nil
	}
	f.f2 = func(a, b Datum) (Datum, error) {
		base, x := toFloat(a), toFloat(b)
		if base <= 0 || base == 1 || x <= 0 {
			return Null, nil
		}
		r := math.Log(x) / math.Log(base)
		if math.IsInf(r, 0) || math.IsNaN(r) {
			return Null, nil
		}
		return mkFloat(r), nil
	}
	return f, nil
}
