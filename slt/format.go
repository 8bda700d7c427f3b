package slt

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
)

// FormatValue prints one result value the way the script expects it for column type typ.
//
// NULL prints as NULL. 'I' prints an integer (non-integers truncate toward zero, strings use
// their integer prefix). 'R' prints %.3f, keeping at most 16 significant digits as the SQLite
// printf that produced the corpus's results does. 'T' prints text with "" as (empty) and bytes
// outside printable ASCII as '@'. Any other typ is treated as 'T'.
func FormatValue(d dataflow.Datum, typ byte) string {
	if d.IsNull() {
		return "NULL"
	}
	switch typ {
	case 'I':
		return strconv.FormatInt(toInt(d), 10)
	case 'R':
		return formatReal(toFloat(d))
	}
	return formatText(d.String())
}

// FormatRows prints every row with types, one letter per column.
//
// It fails when a row's width differs from len(types).
func FormatRows(rows []dataflow.Row, types string) ([][]string, error) {
	out := make([][]string, len(rows))
	for i, row := range rows {
		if len(row) != len(types) {
			return nil, fmt.Errorf("row %d has %d columns, the query declares %d (%s)", i+1, len(row), len(types), types)
		}
		vals := make([]string, len(row))
		for j, d := range row {
			vals[j] = FormatValue(d, types[j])
		}
		out[i] = vals
	}
	return out, nil
}

// formatReal prints f like %.3f with at most 16 significant digits.
//
// Digits beyond the 16th are rounded away and printed as zeros, as SQLite's printf does:
// 1<<63 prints 9223372036854776000.000.
func formatReal(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) < 1e13 {
		return fmt.Sprintf("%.3f", f)
	}
	e := strconv.FormatFloat(f, 'e', 15, 64) // [-]d.ddddddddddddddde±XX
	mant, expText, _ := strings.Cut(e, "e")
	exp, err := strconv.Atoi(expText)
	if err != nil {
		return fmt.Sprintf("%.3f", f)
	}
	sign := ""
	if strings.HasPrefix(mant, "-") {
		sign, mant = "-", mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1) // 16 digits; the integer part has exp+1 of them
	if exp+1 >= len(digits) {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".000"
	}
	frac := digits[exp+1:] + "000"
	return sign + digits[:exp+1] + "." + frac[:3]
}

// formatText replaces the empty string by (empty) and every byte outside ' '..'~' by '@'.
func formatText(s string) string {
	if s == "" {
		return "(empty)"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = '@'
		}
	}
	return string(b)
}

// toInt converts a non-NULL datum to an integer as a C-style integer conversion would.
func toInt(d dataflow.Datum) int64 {
	switch d.Kind() {
	case dataflow.KindInt:
		return d.Int()
	case dataflow.KindFloat:
		return truncFloat(d.Float())
	case dataflow.KindDecimal:
		return intPrefix(d.Str())
	case dataflow.KindString, dataflow.KindBytes:
		return intPrefix(d.Str())
	case dataflow.KindTime:
		return timeNumber(d)
	}
	return 0
}

// toFloat converts a non-NULL datum to a float.
func toFloat(d dataflow.Datum) float64 {
	switch d.Kind() {
	case dataflow.KindDecimal:
		f, err := strconv.ParseFloat(d.Str(), 64)
		if err != nil {
			return dataflow.ParseFloatPrefix(d.Str())
		}
		return f
	case dataflow.KindTime:
		return float64(timeNumber(d))
	}
	f, _ := d.ToFloat()
	return f
}

// truncFloat truncates f toward zero, saturating at the int64 range; NaN is 0.
func truncFloat(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// intPrefix parses the integer at the start of s like strtoll.
//
// Leading white space and a sign are allowed: "12.9abc" is 12, "abc" is 0, overflow saturates.
func intPrefix(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	digits := end
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == digits {
		return 0
	}
	v, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		if s[0] == '-' {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return v
}

// timeNumber returns a DATETIME as MySQL's number YYYYMMDDhhmmss.
func timeNumber(d dataflow.Datum) int64 {
	t := d.Time()
	return int64(t.Year())*10000000000 + int64(t.Month())*100000000 + int64(t.Day())*1000000 +
		int64(t.Hour())*10000 + int64(t.Minute())*100 + int64(t.Second())
}
