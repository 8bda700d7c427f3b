package slt

import (
	"math"
	"testing"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"vitess.io/vitess/go/mysql/decimal"
)

func TestFormatValue(t *testing.T) {
	dec := func(s string) dataflow.Datum {
		d, err := decimal.NewFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		return dataflow.NewDecimal(d)
	}
	for _, c := range []struct {
		d    dataflow.Datum
		typ  byte
		want string
	}{
		{dataflow.Null, 'I', "NULL"},
		{dataflow.Null, 'R', "NULL"},
		{dataflow.Null, 'T', "NULL"},
		{dataflow.NewInt(-42), 'I', "-42"},
		{dataflow.NewFloat(2.9), 'I', "2"},
		{dataflow.NewFloat(-2.9), 'I', "-2"},
		{dataflow.NewFloat(math.NaN()), 'I', "0"},
		{dataflow.NewFloat(1e300), 'I', "9223372036854775807"},
		{dec("-12.75"), 'I', "-12"},
		{dec("-0.5"), 'I', "0"},
		{dataflow.NewString("12.9abc"), 'I', "12"},
		{dataflow.NewString("  -7x"), 'I', "-7"},
		{dataflow.NewString("abc"), 'I', "0"},
		{dataflow.NewString("99999999999999999999"), 'I', "9223372036854775807"},
		{dataflow.NewInt(3), 'R', "3.000"},
		{dataflow.NewFloat(1.0 / 3), 'R', "0.333"},
		{dataflow.NewFloat(-2.5), 'R', "-2.500"},
		{dec("1.23456"), 'R', "1.235"},
		{dataflow.NewString("4.5e1z"), 'R', "45.000"},
		{dataflow.NewFloat(-9223372036854775808), 'R', "-9223372036854776000.000"},
		{dataflow.NewFloat(-18446744073709551616), 'R', "-18446744073709550000.000"},
		{dataflow.NewFloat(12345678901234.567), 'R', "12345678901234.570"},
		{dataflow.NewFloat(1234567890123.4567), 'R', "1234567890123.457"},
		{dataflow.NewFloat(9999999999999.9999), 'R', "10000000000000.000"},
		{dataflow.NewString(""), 'T', "(empty)"},
		{dataflow.NewString("a b"), 'T', "a b"},
		{dataflow.NewString("tab\there\n"), 'T', "tab@here@"},
		{dataflow.NewString("é~"), 'T', "@@~"},
		{dataflow.NewBytes([]byte{0, 'A', 0x7f}), 'T', "@A@"},
		{dataflow.NewInt(7), 'T', "7"},
		{dataflow.NewFloat(1.5), 'T', "1.5"},
		{dataflow.NewTime(time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)), 'I', "20240203040506"},
		{dataflow.NewTime(time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)), 'T', "2024-02-03 04:05:06"},
	} {
		if got := FormatValue(c.d, c.typ); got != c.want {
			t.Errorf("FormatValue(%v %v, %c) = %q, want %q", c.d.Kind(), c.d, c.typ, got, c.want)
		}
	}
}

func TestFormatRows(t *testing.T) {
	rows := []dataflow.Row{
		{dataflow.NewInt(1), dataflow.NewFloat(0.5), dataflow.NewString("")},
		{dataflow.Null, dataflow.Null, dataflow.Null},
	}
	got, err := FormatRows(rows, "IRT")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"1", "0.500", "(empty)"}, {"NULL", "NULL", "NULL"}}
	if len(got) != 2 || !equalRows(got, want) {
		t.Errorf("FormatRows = %q, want %q", got, want)
	}
	if _, err := FormatRows(rows, "II"); err == nil {
		t.Error("FormatRows with too few types: want an error")
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
