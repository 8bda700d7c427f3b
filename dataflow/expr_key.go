package dataflow

import "strings"

// KeyOf is the key encoding (AppendKey) of its operands as bytes: never NULL, and equal for
// equal operands, NULLs included. Joined on, it is SQL's null-safe equality (<=>) of tuples.
func KeyOf(exprs ...Expr) Expr { return &keyOf{exprs: exprs} }

type keyOf struct{ exprs []Expr }

func (k *keyOf) Eval(row Row) (Datum, error) {
	var buf []byte
	for _, e := range k.exprs {
		d, err := e.Eval(row)
		if err != nil {
			return Null, err
		}
		buf = AppendKey(buf, d)
	}
	return NewBytes(buf), nil
}

func (k *keyOf) Type() Kind { return KindBytes }

func (k *keyOf) String() string {
	parts := make([]string, len(k.exprs))
	for i, e := range k.exprs {
		parts[i] = e.String()
	}
	return "key(" + strings.Join(parts, ", ") + ")"
}
