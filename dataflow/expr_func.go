package dataflow

import (
	"strings"

	"github.com/cdc-dev/cdc/sqlerr"
)

// funcExpr is a call of a built-in function evaluated by one of f1, f2, f3 or fn.
type funcExpr struct {
	name   string
	args   []Expr
	kind   Kind
	strict bool // a NULL argument makes the result NULL without calling the implementation
	f1     func(a Datum) (Datum, error)
	f2     func(a, b Datum) (Datum, error)
	f3     func(a, b, c Datum) (Datum, error)
	fn     func(v []Datum) (Datum, error)
}

// Eval evaluates the arguments and calls the implementation.
func (f *funcExpr) Eval(row Row) (Datum, error) {
	switch {
	case f.f1 != nil && len(f.args) == 1:
		a, err := f.args[0].Eval(row)
		if err != nil || (f.strict && a.k == KindNull) {
			return Null, err
		}
		return f.f1(a)
	case f.f2 != nil && len(f.args) == 2:
		a, err := f.args[0].Eval(row)
		if err != nil || (f.strict && a.k == KindNull) {
			return Null, err
		}
		b, err := f.args[1].Eval(row)
		if err != nil || (f.strict && b.k == KindNull) {
			return Null, err
		}
		return f.f2(a, b)
	case f.f3 != nil && len(f.args) == 3:
		a, err := f.args[0].Eval(row)
		if err != nil || (f.strict && a.k == KindNull) {
			return Null, err
		}
		b, err := f.args[1].Eval(row)
		if err != nil || (f.strict && b.k == KindNull) {
			return Null, err
		}
		c, err := f.args[2].Eval(row)
		if err != nil || (f.strict && c.k == KindNull) {
			return Null, err
		}
		return f.f3(a, b, c)
	case f.fn != nil:
		vals := make([]Datum, len(f.args))
		for i, e := range f.args {
			v, err := e.Eval(row)
			if err != nil || (f.strict && v.k == KindNull) {
				return Null, err
			}
			vals[i] = v
		}
		return f.fn(vals)
	}
	return Null, sqlerr.New(sqlerr.Unknown, "function %s called with %d arguments", f.name, len(f.args))
}

// Type is the function's static result type.
func (f *funcExpr) Type() Kind { return f.kind }

// String prints name(args) the way MySQL prints calls in messages.
func (f *funcExpr) String() string { return f.name + "(" + joinExprs(f.args, ",") + ")" }

// funcBuilder builds a call of a built-in function from checked arguments.
type funcBuilder struct {
	min, max int // accepted argument counts; max < 0 is unbounded
	build    func(name string, args []Expr) (Expr, error)
}

// funcs is the registry of built-in functions by upper-case name; filled in init.
var funcs map[string]funcBuilder

// nonDeterministic names the functions whose value is not a function of the row alone.
var nonDeterministic = map[string]bool{
	"NOW": true, "SYSDATE": true, "CURDATE": true, "CURTIME": true, "CURRENT_DATE": true,
	"CURRENT_TIME": true, "CURRENT_TIMESTAMP": true, "LOCALTIME": true, "LOCALTIMESTAMP": true,
	"UTC_DATE": true, "UTC_TIME": true, "UTC_TIMESTAMP": true, "UNIX_TIMESTAMP": true,
	"RAND": true, "UUID": true, "UUID_SHORT": true, "RANDOM_BYTES": true, "CONNECTION_ID": true,
	"LAST_INSERT_ID": true, "FOUND_ROWS": true, "ROW_COUNT": true, "USER": true,
	"CURRENT_USER": true, "SESSION_USER": true, "SYSTEM_USER": true, "DATABASE": true,
	"SCHEMA": true, "VERSION": true, "SLEEP": true, "BENCHMARK": true, "GET_LOCK": true,
	"RELEASE_LOCK": true, "IS_FREE_LOCK": true, "IS_USED_LOCK": true, "RELEASE_ALL_LOCKS": true,
	"MASTER_POS_WAIT": true, "SOURCE_POS_WAIT": true, "ICU_VERSION": true, "CURRENT_ROLE": true,
	"ROLES_GRAPHML": true, "LOAD_FILE": true,
}

// IsNonDeterministic reports whether the named SQL function may return different values for the same arguments.
func IsNonDeterministic(name string) bool { return nonDeterministic[strings.ToUpper(name)] }

// IsNonDeterministicCall reports whether a call of the named function with nargs arguments may
// return different values for the same arguments: UNIX_TIMESTAMP() reads the clock, but
// UNIX_TIMESTAMP(date) is a function of date.
func IsNonDeterministicCall(name string, nargs int) bool {
	upper := strings.ToUpper(name)
	if upper == "UNIX_TIMESTAMP" && nargs > 0 {
		return false
	}
	return nonDeterministic[upper]
}

// NotDeterministicError is the error for a call of a function whose value is not a function of
// its arguments, such as NOW().
func NotDeterministicError(name string) error {
	return sqlerr.New(sqlerr.NotSupported, "function %s is not deterministic: its value changes without any write, "+
		"so no materialized view (and no query of this engine, which evaluates queries as views) can be maintained with it",
		strings.ToUpper(name))
}

// Func returns a call of the built-in function name (case-insensitive) with args.
func Func(name string, args []Expr) (Expr, error) {
	upper := strings.ToUpper(name)
	if IsNonDeterministicCall(upper, len(args)) {
		return nil, NotDeterministicError(upper)
	}
	b, ok := funcs[upper]
	if !ok {
		return nil, sqlerr.New(sqlerr.NotSupported, "function %s is not supported", upper)
	}
	for _, a := range args {
		if a == nil {
			return nil, sqlerr.New(sqlerr.Parse, "function %s has a missing argument", upper)
		}
	}
	if len(args) < b.min || (b.max >= 0 && len(args) > b.max) {
		return nil, errParamCount(upper)
	}
	return b.build(strings.ToLower(upper), args)
}

// errParamCount is MySQL's ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT.
func errParamCount(name string) error {
	return sqlerr.New(1582, "Incorrect parameter count in the call to native function '%s'", name)
}

// register adds builders to the registry under each of names.
func register(b funcBuilder, names ...string) {
	if funcs == nil {
		funcs = map[string]funcBuilder{}
	}
	for _, n := range names {
		funcs[n] = b
	}
}

func init() {
	register(funcBuilder{1, -1, func(name string, args []Expr) (Expr, error) {
		return &coalesceExpr{name: name, args: args, kind: unifyExprKinds(args)}, nil
	}}, "COALESCE", "IFNULL")
	register(funcBuilder{2, 2, func(name string, args []Expr) (Expr, error) {
		return &nullifExpr{a: args[0], b: args[1]}, nil
	}}, "NULLIF")
	register(funcBuilder{3, 3, func(name string, args []Expr) (Expr, error) {
		return &ifExpr{cond: args[0], a: args[1], b: args[2], kind: UnifyKinds(args[1].Type(), args[2].Type())}, nil
	}}, "IF")
	register(funcBuilder{1, 1, func(name string, args []Expr) (Expr, error) {
		return IsNull(args[0], false), nil
	}}, "ISNULL")
	register(funcBuilder{2, -1, buildGreatest}, "GREATEST", "LEAST")
	registerMath()
	registerString()
	registerDate()
	registerMathMore()
	registerStringMore()
}

// coalesceExpr returns its first non-NULL argument (COALESCE, IFNULL).
type coalesceExpr struct {
	name string
	args []Expr
	kind Kind
}

// Eval evaluates arguments in order until one is not NULL.
func (c *coalesceExpr) Eval(row Row) (Datum, error) {
	for _, e := range c.args {
		d, err := e.Eval(row)
		if err != nil {
			return Null, err
		}
		if d.k != KindNull {
			return coerce(d, c.kind), nil
		}
	}
	return Null, nil
}

// Type is the unified type of the arguments.
func (c *coalesceExpr) Type() Kind { return c.kind }

// String prints the call.
func (c *coalesceExpr) String() string { return c.name + "(" + joinExprs(c.args, ",") + ")" }

// nullifExpr is NULLIF(a, b).
type nullifExpr struct{ a, b Expr }

// Eval returns NULL if a = b, else a.
func (n *nullifExpr) Eval(row Row) (Datum, error) {
	a, err := n.a.Eval(row)
	if err != nil || a.k == KindNull {
		return Null, err
	}
	b, err := n.b.Eval(row)
	if err != nil {
		return Null, err
	}
	if c, ok := SQLCompare(a, b); ok && c == 0 {
		return Null, nil
	}
	return a, nil
}

// Type is the type of the first argument.
func (n *nullifExpr) Type() Kind { return n.a.Type() }

// String prints the call.
func (n *nullifExpr) String() string { return "nullif(" + n.a.String() + "," + n.b.String() + ")" }

// ifExpr is IF(cond, a, b).
type ifExpr struct {
	cond, a, b Expr
	kind       Kind
}

// Eval returns a if cond is true, else b.
func (f *ifExpr) Eval(row Row) (Datum, error) {
	c, err := f.cond.Eval(row)
	if err != nil {
		return Null, err
	}
	branch := f.b
	if IsTrue(c) {
		branch = f.a
	}
	d, err := branch.Eval(row)
	if err != nil {
		return Null, err
	}
	return coerce(d, f.kind), nil
}

// Type is the unified type of the two branches.
func (f *ifExpr) Type() Kind { return f.kind }

// String prints the call.
func (f *ifExpr) String() string {
	return "if(" + f.cond.String() + "," + f.a.String() + "," + f.b.String() + ")"
}

// buildGreatest builds GREATEST or LEAST: NULL if any argument is NULL, compared in the unified type.
func buildGreatest(name string, args []Expr) (Expr, error) {
	kind := unifyExprKinds(args)
	least := name == "least"
	return &funcExpr{name: name, args: args, kind: kind, strict: true, fn: func(v []Datum) (Datum, error) {
		best := coerce(v[0], kind)
		for _, d := range v[1:] {
			d = coerce(d, kind)
			c, ok := SQLCompare(d, best)
			if !ok {
				return Null, nil
			}
			if (least && c < 0) || (!least && c > 0) {
				best = d
			}
		}
		return best, nil
	}}, nil
}
