package slt

import (
	"math"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

func TestLiteral(t *testing.T) {
	tenth, fifth := 0.1, 0.2
	for _, c := range []struct {
		d    dataflow.Datum
		want string
	}{
		{dataflow.Null, "NULL"},
		{dataflow.NewInt(-5), "-5"},
		{dataflow.NewFloat(66.4), "66.4"},
		{dataflow.NewFloat(tenth + fifth), "0.30000000000000004"},
		{dataflow.NewFloat(1e21), "1e+21"},
		{dataflow.NewFloat(5), "5"},
		{dataflow.NewString("it's"), "'it''s'"},
		{dataflow.NewString(`a\b`), `'a\\b'`},
		{dataflow.NewString(""), "''"},
		{dataflow.NewTimeMicros(0), "'1970-01-01 00:00:00'"},
	} {
		got, ok := Literal(c.d)
		if !ok || got != c.want {
			t.Errorf("Literal(%v) = %q, %v; want %q", c.d, got, ok, c.want)
		}
	}
	if _, ok := Literal(dataflow.NewFloat(math.Inf(1))); ok {
		t.Error("Literal(+Inf) should have no literal")
	}
}

func TestDeleteOne(t *testing.T) {
	row := dataflow.Row{dataflow.NewInt(1), dataflow.Null, dataflow.NewString("x'y")}
	got, ok := DeleteOne("tab0", []string{"pk", "col`1", "col2"}, row)
	want := "DELETE FROM `tab0` WHERE `pk` <=> 1 AND `col``1` <=> NULL AND `col2` <=> 'x''y' LIMIT 1"
	if !ok || got != want {
		t.Errorf("DeleteOne = %q, %v\nwant %q", got, ok, want)
	}
	if _, ok := DeleteOne("t", []string{"a"}, row); ok {
		t.Error("DeleteOne with mismatched widths should fail")
	}
}
