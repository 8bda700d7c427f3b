package dataflow

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/sqlerr"
)

// Shorthands for test values.
func ii(v int64) Expr   { return Lit(NewInt(v)) }
func ff(v float64) Expr { return Lit(NewFloat(v)) }
func ss(v string) Expr  { return Lit(NewString(v)) }
func dd(v string) Expr {
	d, err := NewDecimalText(v)
	if err != nil {
		panic(err)
	}
	return Lit(d)
}
func nul() Expr { return Lit(Null) }

func tm(s string) Expr {
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		panic(err)
	}
	return Lit(NewTime(t))
}

func must(e Expr, err error) Expr {
	if err != nil {
		panic(err)
	}
	return e
}

func cmpE(op string, l, r Expr) Expr           { return must(NewCompare(op, l, r)) }
func arith(op string, l, r Expr) Expr          { return must(Arith(op, l, r)) }
func fn(name string, args ...Expr) Expr        { return must(Func(name, args)) }
func castSQL(e Expr, typ string) Expr          { return must(CastSQL(e, typ)) }
func inList(e Expr, l ...Expr) Expr            { return must(InList(e, l, false)) }
func notInList(e Expr, l ...Expr) Expr         { return must(InList(e, l, true)) }
func between(e, lo, hi Expr) Expr              { return must(Between(e, lo, hi, false)) }
func like(e, p Expr) Expr                      { return Like(e, p, nil, false) }
func caseOf(op Expr, w, t []Expr, e Expr) Expr { return must(Case(op, w, t, e)) }

// exprCase is an expression with its expected MySQL value and kind, or error code.
type exprCase struct {
	e    Expr
	want string
	kind Kind
	code uint16
}

func runCases(t *testing.T, cases []exprCase) {
	t.Helper()
	for i, c := range cases {
		got, err := c.e.Eval(nil)
		name := fmt.Sprintf("#%d %s", i, c.e)
		if c.code != 0 {
			var se *sqlerr.Error
			if !errors.As(err, &se) || se.Code != c.code {
				t.Errorf("%s: got %v, %v; want error %d", name, got, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
			continue
		}
		if got.String() != c.want {
			t.Errorf("%s = %s (%s), want %s", name, got, got.Kind(), c.want)
		}
		if !got.IsNull() && got.Kind() != c.kind {
			t.Errorf("%s: kind %s, want %s", name, got.Kind(), c.kind)
		}
		if !got.IsNull() && got.Kind() != c.e.Type() {
			t.Errorf("%s: value kind %s differs from Type() %s", name, got.Kind(), c.e.Type())
		}
	}
}

func TestExprCompare(t *testing.T) {
	I := KindInt
	runCases(t, []exprCase{
		{cmpE("=", ii(1), ii(1)), "1", I, 0},
		{cmpE("<", ii(1), ii(2)), "1", I, 0},
		{cmpE(">=", ii(1), ii(2)), "0", I, 0},
		{cmpE("<>", ii(1), ii(2)), "1", I, 0},
		{cmpE("!=", ii(1), ii(1)), "0", I, 0},
		{cmpE("=", nul(), nul()), "NULL", I, 0},
		{cmpE("=", ii(1), nul()), "NULL", I, 0},
		{cmpE("<=>", nul(), nul()), "1", I, 0},
		{cmpE("<=>", ii(1), nul()), "0", I, 0},
		{cmpE("<=>", ii(1), ii(1)), "1", I, 0},
		{cmpE("=", ss("10"), ii(10)), "1", I, 0},
		{cmpE("=", ss("abc"), ii(0)), "1", I, 0},
		{cmpE("=", ss("12abc"), ii(12)), "1", I, 0},
		{cmpE("=", ss("a"), ss("A")), "0", I, 0},
		{cmpE("<", ss("a"), ss("b")), "1", I, 0},
		{cmpE("<", ss("10"), ss("9")), "1", I, 0},
		{cmpE("=", dd("1.50"), dd("1.5")), "1", I, 0},
		{cmpE("=", dd("1.0"), ii(1)), "1", I, 0},
		{cmpE("<", ii(1), dd("1.000001")), "1", I, 0},
		{cmpE("=", ff(0.5), dd("0.5")), "1", I, 0},
		{cmpE("=", ii(9007199254740993), dd("9007199254740992")), "0", I, 0},
		{cmpE("=", tm("2024-01-02 03:04:05"), ss("2024-01-02 03:04:05")), "1", I, 0},
		{cmpE("=", tm("2024-01-02 00:00:00"), ss("2024-01-02")), "1", I, 0},
		{cmpE("<", tm("2024-01-02 00:00:00"), ss("2024-1-3")), "1", I, 0},
		{cmpE("=", tm("2024-01-02 03:04:05"), ii(20240102030405)), "1", I, 0},
		{between(ii(5), ii(1), ii(10)), "1", I, 0},
		{between(ii(5), ii(6), nul()), "0", I, 0},
		{between(ii(5), ii(1), nul()), "NULL", I, 0},
		{must(Between(ii(5), ii(1), ii(3), true)), "1", I, 0},
		{between(ss("b"), ss("a"), ss("c")), "1", I, 0},
		{inList(ii(1), ii(2), nul()), "NULL", I, 0},
		{inList(ii(1), ii(1), nul()), "1", I, 0},
		{inList(ii(1), ii(2), ii(3)), "0", I, 0},
		{inList(nul(), ii(1)), "NULL", I, 0},
		{notInList(ii(1), ii(2), nul()), "NULL", I, 0},
		{notInList(ii(1), ii(2), ii(3)), "1", I, 0},
		{notInList(ii(2), ii(2), ii(3)), "0", I, 0},
		{inList(ss("1"), ii(1)), "1", I, 0},
		{like(ss("abc"), ss("a%")), "1", I, 0},
		{like(ss("abc"), ss("A%")), "0", I, 0},
		{like(ss("abc"), ss("a_c")), "1", I, 0},
		{like(ss("abc"), ss("a_")), "0", I, 0},
		{like(ss("abc"), ss("%")), "1", I, 0},
		{like(ss(""), ss("%")), "1", I, 0},
		{like(ss(""), ss("")), "1", I, 0},
		{like(ss("a"), ss("")), "0", I, 0},
		{like(ss("a%c"), ss(`a\%c`)), "1", I, 0},
		{like(ss("abc"), ss(`a\%c`)), "0", I, 0},
		{like(ss("héllo"), ss("h_llo")), "1", I, 0},
		{like(ss("aXbXc"), ss("%b%c")), "1", I, 0},
		{like(ss("mississippi"), ss("%iss%ppi")), "1", I, 0},
		{like(ss("abc"), ss("%%%d")), "0", I, 0},
		{like(ii(10), ss("1%")), "1", I, 0},
		{like(nul(), ss("%")), "NULL", I, 0},
		{like(ss("a"), nul()), "NULL", I, 0},
		{Like(ss("ab"), ss("a||%"), ss("|"), false), "0", I, 0},
		{Like(ss("a|x"), ss("a||%"), ss("|"), false), "1", I, 0},
		{Like(ss("a%"), ss("a|%"), ss("|"), false), "1", I, 0},
		{Like(ss("abc"), ss("a%"), nil, true), "0", I, 0},
		{Like(ss("abc"), ss("a%"), ss("xy"), false), "", I, 1210},
		{Like(ss(`a\`), ss(`a\`), nil, false), "1", I, 0},
	})
}

func TestExprLogic(t *testing.T) {
	I := KindInt
	runCases(t, []exprCase{
		{And(ii(1), ii(1)), "1", I, 0},
		{And(ii(1), ii(0)), "0", I, 0},
		{And(nul(), ii(0)), "0", I, 0},
		{And(nul(), ii(1)), "NULL", I, 0},
		{And(ss("abc"), ii(1)), "0", I, 0},
		{And(ss("1abc"), ii(1)), "1", I, 0},
		{And(ss("0.5"), dd("0.01")), "1", I, 0},
		{Or(nul(), ii(1)), "1", I, 0},
		{Or(nul(), ii(0)), "NULL", I, 0},
		{Or(ii(0), ii(0)), "0", I, 0},
		{Xor(ii(1), ii(0)), "1", I, 0},
		{Xor(ii(1), ii(1)), "0", I, 0},
		{Xor(ii(1), nul()), "NULL", I, 0},
		{Not(nul()), "NULL", I, 0},
		{Not(ii(0)), "1", I, 0},
		{Not(ff(0.1)), "0", I, 0},
		{IsNull(nul(), false), "1", I, 0},
		{IsNull(ii(0), true), "1", I, 0},
		{IsBool(nul(), true, false), "0", I, 0},
		{IsBool(nul(), true, true), "1", I, 0},
		{IsBool(ii(0), false, false), "1", I, 0},
		{IsBool(ii(2), true, false), "1", I, 0},
		{IsBool(ii(2), false, true), "1", I, 0},
		{caseOf(nil, []Expr{ii(1)}, []Expr{ss("x")}, nil), "x", KindString, 0},
		{caseOf(nil, []Expr{ii(0)}, []Expr{ss("x")}, nil), "NULL", KindString, 0},
		{caseOf(nil, []Expr{nul(), ii(1)}, []Expr{ii(1), ii(2)}, ii(3)), "2", I, 0},
		{caseOf(ii(2), []Expr{ii(1), ii(2)}, []Expr{ss("a"), ss("b")}, ss("c")), "b", KindString, 0},
		{caseOf(nul(), []Expr{nul()}, []Expr{ss("a")}, ss("c")), "c", KindString, 0},
		{caseOf(nil, []Expr{ii(1)}, []Expr{ii(1)}, dd("2.5")), "1", KindDecimal, 0},
		{caseOf(nil, []Expr{ii(1)}, []Expr{ii(1)}, ff(2.5)), "1", KindFloat, 0},
		{caseOf(nil, []Expr{ii(1)}, []Expr{ii(7)}, ss("z")), "7", KindString, 0},
	})
}

func TestExprArith(t *testing.T) {
	I, D, F := KindInt, KindDecimal, KindFloat
	runCases(t, []exprCase{
		{arith("+", ii(1), ii(2)), "3", I, 0},
		{arith("-", ii(1), ii(2)), "-1", I, 0},
		{arith("*", ii(6), ii(7)), "42", I, 0},
		{arith("+", ii(math.MaxInt64), ii(1)), "", I, sqlerr.DataOutOfRange},
		{arith("-", ii(math.MinInt64), ii(1)), "", I, sqlerr.DataOutOfRange},
		{arith("*", ii(math.MaxInt64), ii(2)), "", I, sqlerr.DataOutOfRange},
		{arith("*", ii(math.MinInt64), ii(-1)), "", I, sqlerr.DataOutOfRange},
		{arith("*", ii(-1), ii(math.MinInt64)), "", I, sqlerr.DataOutOfRange},
		{arith("*", ii(1<<32), ii(1<<31)), "", I, sqlerr.DataOutOfRange},
		{arith("*", ii(-(1 << 32)), ii(1<<31)), "-9223372036854775808", I, 0},
		{arith("/", ii(1), ii(2)), "0.5000", D, 0},
		{arith("/", ii(7), ii(2)), "3.5000", D, 0},
		{arith("/", ii(10), ii(4)), "2.5000", D, 0},
		{arith("/", ii(2), ii(3)), "0.6667", D, 0},
		{arith("/", ii(-2), ii(3)), "-0.6667", D, 0},
		{arith("/", ii(1), ii(0)), "NULL", D, 0},
		{arith("/", dd("1.00"), ii(3)), "0.333333", D, 0},
		{arith("/", ii(1), ff(4)), "0.25", F, 0},
		{arith("/", ss("1"), ii(4)), "0.25", F, 0},
		{arith("/", ii(1), ff(0)), "NULL", F, 0},
		{arith("DIV", ii(7), ii(2)), "3", I, 0},
		{arith("DIV", ii(-7), ii(2)), "-3", I, 0},
		{arith("div", ii(7), ii(0)), "NULL", I, 0},
		{arith("DIV", ii(math.MinInt64), ii(-1)), "", I, sqlerr.DataOutOfRange},
		{arith("DIV", dd("7.5"), ii(2)), "3", I, 0},
		{arith("DIV", ff(7.5), ff(0.5)), "15", I, 0},
		{arith("DIV", ff(1e300), ff(1)), "", I, sqlerr.DataOutOfRange},
		{arith("%", ii(-7), ii(2)), "-1", I, 0},
		{arith("%", ii(7), ii(-2)), "1", I, 0},
		{arith("MOD", ii(7), ii(0)), "NULL", I, 0},
		{arith("%", ii(math.MinInt64), ii(-1)), "0", I, 0},
		{arith("%", dd("5.5"), ii(2)), "1.5", D, 0},
		{arith("%", dd("-5.5"), ii(2)), "-1.5", D, 0},
		{arith("%", ff(-5.5), ii(2)), "-1.5", F, 0},
		{arith("%", ff(5.5), ff(0)), "NULL", F, 0},
		{arith("+", dd("1.5"), ii(1)), "2.5", D, 0},
		{arith("+", dd("1.50"), dd("1.5")), "3.00", D, 0},
		{arith("*", dd("1.5"), dd("1.50")), "2.250", D, 0},
		{arith("-", dd("0.1"), dd("0.3")), "-0.2", D, 0},
		{arith("+", ff(0.1), ff(0.2)), "0.30000000000000004", F, 0},
		{arith("+", ff(0.5), dd("0.5")), "1", F, 0},
		{arith("+", ss("1.5"), ii(1)), "2.5", F, 0},
		{arith("+", ss("abc"), ii(1)), "1", F, 0},
		{arith("*", ff(1e308), ff(10)), "", F, sqlerr.DataOutOfRange},
		{arith("+", nul(), ii(1)), "NULL", KindNull, 0},
		{arith("+", ii(1), nul()), "NULL", KindNull, 0},
		{arith("+", tm("2024-01-02 03:04:05"), ii(0)), "20240102030405", D, 0},
		{arith("+", dd(strings.Repeat("9", 65)), ii(1)), "", D, sqlerr.DataOutOfRange},
		{Neg(ii(5)), "-5", I, 0},
		{Neg(ii(math.MinInt64)), "", I, sqlerr.DataOutOfRange},
		{Neg(dd("1.50")), "-1.50", D, 0},
		{Neg(dd("0.0")), "0.0", D, 0},
		{Neg(ff(0)), "0", F, 0},
		{Neg(ss("2")), "-2", F, 0},
		{Neg(nul()), "NULL", KindNull, 0},
	})
	_, err := arith("+", ii(math.MaxInt64), ii(1)).Eval(nil)
	if want := "BIGINT value is out of range in '(9223372036854775807 + 1)'"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("overflow error = %v, want %q", err, want)
	}
}

func TestExprCast(t *testing.T) {
	I, D, F, S, B, T := KindInt, KindDecimal, KindFloat, KindString, KindBytes, KindTime
	runCases(t, []exprCase{
		{castSQL(ss("12abc"), "SIGNED"), "12", I, 0},
		{castSQL(ss("abc"), "SIGNED"), "0", I, 0},
		{castSQL(ss(" -5"), "signed integer"), "-5", I, 0},
		{castSQL(ss("1.9"), "SIGNED"), "1", I, 0},
		{castSQL(ss("99999999999999999999"), "SIGNED"), "9223372036854775807", I, 0},
		{castSQL(dd("2.5"), "SIGNED"), "3", I, 0},
		{castSQL(dd("-2.5"), "SIGNED"), "-3", I, 0},
		{castSQL(ff(2.5), "SIGNED"), "2", I, 0},
		{castSQL(ff(3.5), "UNSIGNED"), "4", I, 0},
		{castSQL(ff(1e30), "SIGNED"), "9223372036854775807", I, 0},
		{castSQL(nul(), "SIGNED"), "NULL", I, 0},
		{castSQL(ii(1), "DECIMAL(5,2)"), "1.00", D, 0},
		{castSQL(dd("1.5"), "DECIMAL"), "2", D, 0},
		{castSQL(dd("123.456"), "DECIMAL(4,1)"), "123.5", D, 0},
		{castSQL(dd("12345.6"), "DECIMAL(4,1)"), "999.9", D, 0},
		{castSQL(dd("-12345.6"), "DECIMAL(4,1)"), "-999.9", D, 0},
		{castSQL(ss("3.14159xyz"), "DECIMAL(10,3)"), "3.142", D, 0},
		{castSQL(ss("1e3"), "DECIMAL(10,2)"), "1000.00", D, 0},
		{castSQL(ff(0.1), "DECIMAL(10,5)"), "0.10000", D, 0},
		{castSQL(ss("1.5"), "DOUBLE"), "1.5", F, 0},
		{castSQL(ii(3), "REAL"), "3", F, 0},
		{castSQL(ii(123), "CHAR"), "123", S, 0},
		{castSQL(ss("héllo"), "CHAR(2)"), "hé", S, 0},
		{castSQL(ff(1.5), "CHAR"), "1.5", S, 0},
		{castSQL(ss("ab"), "BINARY(3)"), "ab\x00", B, 0},
		{castSQL(ss("abcd"), "BINARY(3)"), "abc", B, 0},
		{castSQL(ss("ab"), "CHAR CHARACTER SET binary"), "ab", B, 0},
		{castSQL(ss("2024-01-02 03:04:05"), "DATETIME"), "2024-01-02 03:04:05", T, 0},
		{castSQL(ss("2024-01-02 03:04:05.6"), "DATETIME"), "2024-01-02 03:04:06", T, 0},
		{castSQL(ss("2024-01-02 03:04:05.6"), "DATETIME(6)"), "2024-01-02 03:04:05.6", T, 0},
		{castSQL(ss("2024-01-02"), "DATETIME"), "2024-01-02 00:00:00", T, 0},
		{castSQL(ss("20240102"), "DATETIME"), "2024-01-02 00:00:00", T, 0},
		{castSQL(ii(20240102030405), "DATETIME"), "2024-01-02 03:04:05", T, 0},
		{castSQL(ss("2024-02-30"), "DATETIME"), "NULL", T, 0},
		{castSQL(ss("garbage"), "DATETIME"), "NULL", T, 0},
		{castSQL(ss("2024-01-02 03:04:05"), "DATE"), "2024-01-02 00:00:00", T, 0},
		{castSQL(ss("2024-01-02 03:04:05"), "TIME"), "03:04:05", S, 0},
		{castSQL(ss("12:34"), "TIME"), "12:34:00", S, 0},
		{castSQL(ss("1 02:00:00"), "TIME"), "26:00:00", S, 0},
		{castSQL(ii(123456), "TIME"), "12:34:56", S, 0},
		{castSQL(tm("2024-01-02 03:04:05.25"), "TIME(2)"), "03:04:05.25", S, 0},
		{castSQL(ss("x"), "TIME"), "NULL", S, 0},
		{Cast(ss("42"), KindInt), "42", I, 0},
		{Cast(ii(42), KindDecimal), "42", D, 0},
		{Cast(tm("2024-01-02 03:04:05"), KindInt), "20240102030405", I, 0},
	})
	for typ, code := range map[string]uint16{"DECIMAL(66,2)": 1426, "DECIMAL(5,6)": 1427, "DECIMAL(40,31)": 1425, "DATETIME(7)": 1426} {
		if _, err := CastSQL(ii(1), typ); err == nil || sqlerr.As(err).Code != code {
			t.Errorf("CAST AS %s: %v, want error %d", typ, err, code)
		}
	}
	if _, err := CastSQL(ii(1), "JSON"); err == nil {
		t.Errorf("CAST AS JSON should be unsupported")
	}
	if _, err := CastSQL(ii(1), "DECIMAL(1,2,3)"); err == nil {
		t.Errorf("bad DECIMAL args should fail")
	}
}

func TestExprFunc(t *testing.T) {
	I, D, F, S, B := KindInt, KindDecimal, KindFloat, KindString, KindBytes
	runCases(t, []exprCase{
		{fn("COALESCE", nul(), ii(2)), "2", I, 0},
		{fn("coalesce", nul(), nul()), "NULL", KindNull, 0},
		{fn("COALESCE", nul(), ii(2), dd("1.5")), "2", D, 0},
		{fn("COALESCE", ii(1), ff(1.5)), "1", F, 0},
		{fn("COALESCE", ii(1), ss("a")), "1", S, 0},
		{fn("IFNULL", nul(), ss("b")), "b", S, 0},
		{fn("IFNULL", ii(1), ii(2)), "1", I, 0},
		{fn("NULLIF", ii(1), ii(1)), "NULL", I, 0},
		{fn("NULLIF", ii(1), ii(2)), "1", I, 0},
		{fn("NULLIF", nul(), ii(2)), "NULL", I, 0},
		{fn("IF", ii(1), ss("y"), ss("n")), "y", S, 0},
		{fn("IF", nul(), ss("y"), ss("n")), "n", S, 0},
		{fn("IF", ii(0), ii(1), dd("2.25")), "2.25", D, 0},
		{fn("ISNULL", nul()), "1", I, 0},
		{fn("ABS", ii(-5)), "5", I, 0},
		{fn("ABS", ii(math.MinInt64)), "", I, sqlerr.DataOutOfRange},
		{fn("ABS", dd("-1.50")), "1.50", D, 0},
		{fn("ABS", ff(-2.5)), "2.5", F, 0},
		{fn("ABS", ss("-3")), "3", F, 0},
		{fn("ABS", nul()), "NULL", KindNull, 0},
		{fn("SIGN", ii(-5)), "-1", I, 0},
		{fn("SIGN", dd("0.00")), "0", I, 0},
		{fn("SIGN", ss("2x")), "1", I, 0},
		{fn("ROUND", dd("2.5")), "3", D, 0},
		{fn("ROUND", dd("-2.5")), "-3", D, 0},
		{fn("ROUND", dd("2.567"), ii(2)), "2.57", D, 0},
		{fn("ROUND", dd("1.5"), ii(3)), "1.5", D, 0},
		{fn("ROUND", dd("123.45"), ii(-1)), "120", D, 0},
		{fn("ROUND", ii(125), ii(-1)), "130", I, 0},
		{fn("ROUND", ii(-125), ii(-1)), "-130", I, 0},
		{fn("ROUND", ii(124), ii(-1)), "120", I, 0},
		{fn("ROUND", ii(5), ii(2)), "5", I, 0},
		{fn("ROUND", ii(math.MaxInt64), ii(-1)), "", I, sqlerr.DataOutOfRange},
		{fn("ROUND", ii(5), ii(-30)), "0", I, 0},
		{fn("ROUND", ff(2.5)), "2", F, 0},
		{fn("ROUND", ff(3.5)), "4", F, 0},
		{fn("ROUND", ff(1.2345), ii(2)), "1.23", F, 0},
		{fn("ROUND", ff(1234.5), ii(-2)), "1200", F, 0},
		{fn("ROUND", ii(1), nul()), "NULL", I, 0},
		{fn("TRUNCATE", dd("1.999"), ii(1)), "1.9", D, 0},
		{fn("TRUNCATE", dd("-1.999"), ii(1)), "-1.9", D, 0},
		{fn("TRUNCATE", dd("129.5"), ii(-1)), "120", D, 0},
		{fn("TRUNCATE", ii(129), ii(-1)), "120", I, 0},
		{fn("TRUNCATE", ff(1.999), ii(2)), "1.99", F, 0},
		{fn("FLOOR", dd("-1.5")), "-2", D, 0},
		{fn("CEIL", dd("-1.5")), "-1", D, 0},
		{fn("CEILING", dd("1.2")), "2", D, 0},
		{fn("FLOOR", ii(3)), "3", I, 0},
		{fn("FLOOR", ff(-0.5)), "-1", F, 0},
		{fn("CEIL", ff(-0.5)), "0", F, 0},
		{fn("MOD", ii(10), ii(3)), "1", I, 0},
		{fn("POW", ii(2), ii(10)), "1024", F, 0},
		{fn("POWER", ii(2), ii(-1)), "0.5", F, 0},
		{fn("POW", ii(2), ii(2000)), "", F, sqlerr.DataOutOfRange},
		{fn("POW", ii(0), ii(-1)), "", F, sqlerr.DataOutOfRange},
		{fn("SQRT", ii(16)), "4", F, 0},
		{fn("SQRT", ii(-1)), "NULL", F, 0},
		{fn("LN", ii(0)), "NULL", F, 0},
		{fn("LOG", ii(2), ii(8)), "3", F, 0},
		{fn("LOG10", ii(100)), "2", F, 0},
		{fn("EXP", ii(1000)), "", F, sqlerr.DataOutOfRange},
		{fn("GREATEST", ii(1), ii(3), ii(2)), "3", I, 0},
		{fn("LEAST", ii(1), dd("0.5")), "0.5", D, 0},
		{fn("GREATEST", ii(1), nul()), "NULL", I, 0},
		{fn("GREATEST", ss("a"), ss("b")), "b", S, 0},
		{fn("GREATEST", ii(10), ss("9")), "9", S, 0},
		{fn("LEAST", ii(2), ff(1.5)), "1.5", F, 0},
		{fn("CONCAT", ss("a"), ii(1), dd("1.50")), "a11.50", S, 0},
		{fn("CONCAT", ss("a"), nul()), "NULL", S, 0},
		{fn("CONCAT", ss("a"), Lit(NewBytes([]byte("b")))), "ab", B, 0},
		{fn("CONCAT_WS", ss(","), ss("a"), nul(), ss("b")), "a,b", S, 0},
		{fn("CONCAT_WS", nul(), ss("a")), "NULL", S, 0},
		{fn("LENGTH", ss("héllo")), "6", I, 0},
		{fn("CHAR_LENGTH", ss("héllo")), "5", I, 0},
		{fn("CHARACTER_LENGTH", ii(123)), "3", I, 0},
		{fn("LOWER", ss("ABC")), "abc", S, 0},
		{fn("UCASE", ss("abc")), "ABC", S, 0},
		{fn("UPPER", Lit(NewBytes([]byte("abc")))), "abc", B, 0},
		{fn("SUBSTRING", ss("hello"), ii(2), ii(3)), "ell", S, 0},
		{fn("SUBSTRING", ss("hello"), ii(2)), "ello", S, 0},
		{fn("SUBSTR", ss("hello"), ii(-3)), "llo", S, 0},
		{fn("MID", ss("hello"), ii(-3), ii(2)), "ll", S, 0},
		{fn("SUBSTRING", ss("hello"), ii(0)), "", S, 0},
		{fn("SUBSTRING", ss("hello"), ii(10)), "", S, 0},
		{fn("SUBSTRING", ss("hello"), ii(-10)), "", S, 0},
		{fn("SUBSTRING", ss("hello"), ii(2), ii(-1)), "", S, 0},
		{fn("SUBSTRING", ss("hello"), ii(2), ii(math.MaxInt64)), "ello", S, 0},
		{fn("SUBSTRING", ss("hello"), ii(math.MinInt64)), "", S, 0},
		{fn("SUBSTRING", ss("héllo"), ii(2), ii(2)), "él", S, 0},
		{fn("SUBSTRING", ss("hello"), nul()), "NULL", S, 0},
		{fn("LEFT", ss("hello"), ii(2)), "he", S, 0},
		{fn("LEFT", ss("hello"), ii(-2)), "", S, 0},
		{fn("RIGHT", ss("hello"), ii(2)), "lo", S, 0},
		{fn("RIGHT", ss("hello"), ii(20)), "hello", S, 0},
		{fn("TRIM", ss("  a b  ")), "a b", S, 0},
		{fn("LTRIM", ss("  a  ")), "a  ", S, 0},
		{fn("RTRIM", ss("  a  ")), "  a", S, 0},
		{Trim(ss("xxaxx"), ss("x"), true, false), "axx", S, 0},
		{Trim(ss("xyxyaxy"), ss("xy"), true, true), "a", S, 0},
		{Trim(ss("a"), ss(""), true, true), "a", S, 0},
		{Trim(ss("a"), nul(), true, true), "NULL", S, 0},
		{fn("REPLACE", ss("aXbXc"), ss("X"), ss("--")), "a--b--c", S, 0},
		{fn("REPLACE", ss("abc"), ss(""), ss("x")), "abc", S, 0},
		{fn("REVERSE", ss("héllo")), "olléh", S, 0},
		{fn("LOCATE", ss("bar"), ss("foobarbar")), "4", I, 0},
		{fn("LOCATE", ss("bar"), ss("foobarbar"), ii(5)), "7", I, 0},
		{fn("LOCATE", ss("xbar"), ss("foobar")), "0", I, 0},
		{fn("LOCATE", ss(""), ss("abc")), "1", I, 0},
		{fn("LOCATE", ss("b"), ss("abc"), ii(0)), "0", I, 0},
		{fn("LOCATE", ss("l"), ss("héllo")), "3", I, 0},
		{fn("INSTR", ss("foobarbar"), ss("bar")), "4", I, 0},
		{fn("POSITION", ss("bar"), ss("foobarbar")), "4", I, 0},
		{fn("REPEAT", ss("ab"), ii(3)), "ababab", S, 0},
		{fn("REPEAT", ss("ab"), ii(-1)), "", S, 0},
		{fn("REPEAT", ss("ab"), ii(math.MaxInt64)), "NULL", S, 0},
		{fn("LPAD", ss("hi"), ii(4), ss("?")), "??hi", S, 0},
		{fn("LPAD", ss("hi"), ii(1), ss("?")), "h", S, 0},
		{fn("LPAD", ss("hi"), ii(5), ss("ab")), "abahi", S, 0},
		{fn("RPAD", ss("hi"), ii(5), ss("ab")), "hiaba", S, 0},
		{fn("RPAD", ss("hi"), ii(5), ss("")), "NULL", S, 0},
		{fn("RPAD", ss("hi"), ii(-1), ss("x")), "NULL", S, 0},
		{fn("HEX", ss("abc")), "616263", S, 0},
		{fn("HEX", ii(255)), "FF", S, 0},
		{fn("HEX", ii(-1)), "FFFFFFFFFFFFFFFF", S, 0},
		{fn("HEX", dd("2.5")), "3", S, 0},
		{fn("ASCII", ss("A")), "65", I, 0},
		{fn("ASCII", ss("")), "0", I, 0},
		{fn("ASCII", ii(2)), "50", I, 0},
		{fn("STRCMP", ss("a"), ss("b")), "-1", I, 0},
		{fn("STRCMP", ss("b"), ss("b")), "0", I, 0},
		{fn("SPACE", ii(3)), "   ", S, 0},
		{fn("INSERT", ss("Quadratic"), ii(3), ii(4), ss("What")), "QuWhattic", S, 0},
		{fn("INSERT", ss("Quadratic"), ii(-1), ii(4), ss("What")), "Quadratic", S, 0},
		{fn("INSERT", ss("Quadratic"), ii(3), ii(100), ss("What")), "QuWhat", S, 0},
		{fn("CHAR", ii(77), ii(121), nul(), ii(83)), "MyS", B, 0},
		{fn("INTERVAL", ii(23), ii(1), ii(15), ii(17), ii(30)), "3", I, 0},
		{fn("INTERVAL", nul(), ii(1)), "-1", I, 0},
	})
	for _, name := range []string{"NOW", "rand", "UUID", "sysdate"} {
		_, err := Func(name, nil)
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.NotSupported || !strings.Contains(se.Msg, "deterministic") {
			t.Errorf("Func(%s): %v, want a not-deterministic error", name, err)
		}
	}
	_, err := Func("no_such_fn", nil)
	if err == nil || !strings.Contains(err.Error(), "NO_SUCH_FN") || sqlerr.As(err).Code != sqlerr.NotSupported {
		t.Errorf("unknown function: %v", err)
	}
	if _, err := Func("ABS", nil); err == nil || sqlerr.As(err).Code != 1582 {
		t.Errorf("ABS(): %v, want a parameter count error", err)
	}
}

func TestExprColAndString(t *testing.T) {
	row := Row{NewInt(5), NewString("x"), Null}
	e := And(cmpE(">", Col(0, KindInt, "a"), ii(3)), cmpE("=", Col(1, KindString, ""), ss("x")))
	d, err := e.Eval(row)
	if err != nil || d.String() != "1" {
		t.Fatalf("eval = %v, %v", d, err)
	}
	if got, want := e.String(), "((a > 3) and (#1 = 'x'))"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if _, err := Col(7, KindInt, "z").Eval(row); err == nil {
		t.Errorf("out-of-range column should fail")
	}
	if got := UnifyKinds(KindInt, KindDecimal); got != KindDecimal {
		t.Errorf("UnifyKinds(int, decimal) = %s", got)
	}
	if got := UnifyKinds(KindFloat, KindDecimal); got != KindFloat {
		t.Errorf("UnifyKinds(float, decimal) = %s", got)
	}
	if got := UnifyKinds(KindNull, KindTime); got != KindTime {
		t.Errorf("UnifyKinds(null, time) = %s", got)
	}
	if got := UnifyKinds(KindInt, KindString); got != KindString {
		t.Errorf("UnifyKinds(int, string) = %s", got)
	}
	if got := UnifyKinds(KindString, KindBytes); got != KindBytes {
		t.Errorf("UnifyKinds(string, bytes) = %s", got)
	}
}

func TestExprIsTrue(t *testing.T) {
	cases := []struct {
		d    Datum
		want bool
	}{
		{Null, false}, {NewInt(0), false}, {NewInt(-1), true}, {NewFloat(0), false},
		{NewFloat(0.1), true}, {NewString("abc"), false}, {NewString("1abc"), true},
		{NewString("0.0"), false}, {NewString(" 2"), true}, {NewTimeMicros(0), true},
	}
	for _, c := range cases {
		if got := IsTrue(c.d); got != c.want {
			t.Errorf("IsTrue(%s %s) = %v", c.d.Kind(), c.d, got)
		}
	}
	d, _ := NewDecimalText("0.000")
	if IsTrue(d) {
		t.Errorf("IsTrue(0.000)")
	}
	d, _ = NewDecimalText("-0.001")
	if !IsTrue(d) {
		t.Errorf("IsTrue(-0.001) = false")
	}
}

func TestExprSQLCompare(t *testing.T) {
	if _, ok := SQLCompare(Null, NewInt(1)); ok {
		t.Errorf("NULL compare should not be ok")
	}
	if c, ok := SQLCompare(NewString("abc"), NewInt(0)); !ok || c != 0 {
		t.Errorf("'abc' vs 0 = %d", c)
	}
	if c, _ := SQLCompare(NewInt(2), NewFloat(1.5)); c != 1 {
		t.Errorf("2 vs 1.5 = %d", c)
	}
}

// samples are values of every kind, including edge values, for the no-panic sweep.
func samples() []Expr {
	dec := func(s string) Expr { return dd(s) }
	return []Expr{
		nul(), ii(0), ii(1), ii(-1), ii(math.MaxInt64), ii(math.MinInt64), ii(20240102030405),
		ff(0), ff(0.5), ff(-2.5), ff(1e300), ff(-1e-300),
		dec("0"), dec("1.50"), dec("-0.001"), dec(strings.Repeat("9", 60)), dec("-" + strings.Repeat("9", 30) + "." + strings.Repeat("9", 30)),
		ss(""), ss("abc"), ss("12abc"), ss("-3.5e2x"), ss("2024-01-02 03:04:05"), ss("%a_\\"), ss("héllo"), ss("1e999"),
		Lit(NewBytes([]byte{0, 0xff, 'a'})), tm("2024-01-02 03:04:05.5"), tm("1970-01-01 00:00:00"),
	}
}

// checkNoPanic evaluates e and checks that its value matches Type().
func checkNoPanic(t *testing.T, e Expr) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked: %v", e, r)
		}
	}()
	d, err := e.Eval(nil)
	_ = e.String()
	if err == nil && !d.IsNull() && d.Kind() != e.Type() {
		t.Errorf("%s = %s of kind %s, but Type() is %s", e, d, d.Kind(), e.Type())
	}
	if d.Kind() == KindFloat && (math.IsNaN(d.Float()) || math.IsInf(d.Float(), 0)) {
		t.Errorf("%s = %v", e, d.Float())
	}
}

func TestExprNoPanicSweep(t *testing.T) {
	vals := samples()
	for _, a := range vals {
		checkNoPanic(t, Neg(a))
		checkNoPanic(t, Not(a))
		checkNoPanic(t, IsBool(a, true, false))
		for _, k := range []Kind{KindInt, KindFloat, KindDecimal, KindString, KindBytes, KindTime, KindNull} {
			checkNoPanic(t, Cast(a, k))
		}
		for _, typ := range []string{"SIGNED", "DECIMAL(10,2)", "DOUBLE", "CHAR(3)", "BINARY(4)", "DATETIME", "DATE", "TIME", "TIME(3)"} {
			checkNoPanic(t, castSQL(a, typ))
		}
		for _, b := range vals {
			for _, op := range []string{"+", "-", "*", "/", "DIV", "%"} {
				checkNoPanic(t, arith(op, a, b))
			}
			for _, op := range []string{"=", "<", "<=>", ">="} {
				checkNoPanic(t, cmpE(op, a, b))
			}
			checkNoPanic(t, Like(a, b, nil, false))
			checkNoPanic(t, Xor(a, b))
			checkNoPanic(t, inList(a, b, ii(1)))
			checkNoPanic(t, caseOf(a, []Expr{b}, []Expr{a}, b))
		}
	}
	// Every registered function with every arity it accepts (up to 3) over a smaller set.
	small := []Expr{nul(), ii(-1), ii(2), ii(math.MaxInt64), ii(math.MinInt64), ff(-2.5), dd("1.50"), ss("abc"), ss("12"), Lit(NewBytes([]byte{0xff})), tm("2024-01-02 03:04:05")}
	for name, b := range funcs {
		for n := b.min; n <= 3 && (b.max < 0 || n <= b.max); n++ {
			args := make([]Expr, n)
			var rec func(i int)
			rec = func(i int) {
				if i == n {
					e, err := Func(name, append([]Expr(nil), args...))
					if err != nil {
						t.Fatalf("Func(%s, %d args): %v", name, n, err)
					}
					checkNoPanic(t, e)
					return
				}
				for _, v := range small {
					args[i] = v
					rec(i + 1)
				}
			}
			rec(0)
		}
	}
}

func TestExprParseDateTime(t *testing.T) {
	ok := map[string]string{
		"2024-01-02 03:04:05":        "2024-01-02 03:04:05",
		"2024-01-02T03:04:05.123456": "2024-01-02 03:04:05.123456",
		"2024/1/2 3:4:5":             "2024-01-02 03:04:05",
		"24-01-02":                   "2024-01-02 00:00:00",
		"99-01-02":                   "1999-01-02 00:00:00",
		"20240102030405":             "2024-01-02 03:04:05",
		"240102":                     "2024-01-02 00:00:00",
		"2024-02-29":                 "2024-02-29 00:00:00",
	}
	for in, want := range ok {
		us, good := ParseDateTime(in)
		if !good || NewTimeMicros(us).String() != want {
			t.Errorf("parseDateTime(%q) = %v %v, want %s", in, NewTimeMicros(us), good, want)
		}
	}
	for _, bad := range []string{"", "abc", "2023-02-29", "2024-13-01", "2024-01-02 25:00:00", "0000-00-00", "2024-01-02x", "1234567"} {
		if _, good := ParseDateTime(bad); good {
			t.Errorf("parseDateTime(%q) should fail", bad)
		}
	}
}

func BenchmarkExprCompareInt(b *testing.B) {
	e := cmpE("<", Col(0, KindInt, "a"), Lit(NewInt(500)))
	row := Row{NewInt(42), NewString("x")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExprArithInt(b *testing.B) {
	e := arith("+", arith("*", Col(0, KindInt, "a"), Lit(NewInt(3))), Col(1, KindInt, "b"))
	row := Row{NewInt(42), NewInt(7)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExprAndCompare(b *testing.B) {
	e := And(cmpE(">=", Col(0, KindInt, "a"), Lit(NewInt(10))), cmpE("<>", Col(1, KindInt, "b"), Lit(NewInt(3))))
	row := Row{NewInt(42), NewInt(7)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Eval(row); err != nil {
			b.Fatal(err)
		}
	}
}
