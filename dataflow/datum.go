// Package dataflow holds the values, updates and pure incremental operators of the engine.
//
// Everything here is deterministic: operators take batches and return batches, keep their
// state in Arrangements handed to them, and never start goroutines, read clocks or do I/O
// other than through those arrangements.
package dataflow

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"vitess.io/vitess/go/mysql/decimal"
)

// Kind is the runtime type of a Datum.
type Kind uint8

// The kinds a Datum can have. Their order is the order of values of different kinds.
const (
	KindNull Kind = iota
	KindInt
	KindFloat
	KindDecimal
	KindString
	KindBytes
	KindTime
)

// String names the kind the way SQL spells the type.
func (k Kind) String() string {
	switch k {
	case KindNull:
		return "NULL"
	case KindInt:
		return "BIGINT"
	case KindFloat:
		return "DOUBLE"
	case KindDecimal:
		return "DECIMAL"
	case KindString:
		return "TEXT"
	case KindBytes:
		return "BLOB"
	case KindTime:
		return "DATETIME"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Numeric reports whether values of the kind are numbers.
func (k Kind) Numeric() bool { return k == KindInt || k == KindFloat || k == KindDecimal }

// Datum is one typed SQL value. The zero Datum is NULL. Datums are immutable values.
//
// Integers and times live in i (times as microseconds since the Unix epoch, UTC), floats as
// their IEEE bits in i, strings and blobs in s, decimals as their canonical text in s.
type Datum struct {
	k Kind
	i int64
	s string
}

// Null is the SQL NULL.
var Null = Datum{}

// NewInt returns an integer datum.
func NewInt(v int64) Datum { return Datum{k: KindInt, i: v} }

// NewBool returns 1 or 0, MySQL's booleans.
func NewBool(b bool) Datum {
	if b {
		return Datum{k: KindInt, i: 1}
	}
	return Datum{k: KindInt}
}

// NewFloat returns a DOUBLE datum.
func NewFloat(v float64) Datum { return Datum{k: KindFloat, i: int64(math.Float64bits(v))} }

// NewDecimal returns an exact DECIMAL datum.
func NewDecimal(d decimal.Decimal) Datum { return Datum{k: KindDecimal, s: d.String()} }

// NewString returns a text datum.
func NewString(s string) Datum { return Datum{k: KindString, s: s} }

// NewBytes returns a BLOB datum.
func NewBytes(b []byte) Datum { return Datum{k: KindBytes, s: string(b)} }

// NewTime returns a DATETIME datum; the time is truncated to microseconds and kept in UTC.
func NewTime(t time.Time) Datum { return Datum{k: KindTime, i: t.UnixMicro()} }

// NewTimeMicros returns a DATETIME datum from microseconds since the Unix epoch.
func NewTimeMicros(us int64) Datum { return Datum{k: KindTime, i: us} }

// Kind returns the runtime type of d.
func (d Datum) Kind() Kind { return d.k }

// IsNull reports whether d is NULL.
func (d Datum) IsNull() bool { return d.k == KindNull }

// Int returns the integer of a KindInt datum.
func (d Datum) Int() int64 { return d.i }

// Float returns the float of a KindFloat datum.
func (d Datum) Float() float64 { return math.Float64frombits(uint64(d.i)) }

// Str returns the text of a KindString or KindBytes datum, or the canonical text of a decimal.
func (d Datum) Str() string { return d.s }

// Decimal returns the value of a KindDecimal datum.
func (d Datum) Decimal() decimal.Decimal {
	v, err := decimal.NewFromString(d.s)
	if err != nil {
		return decimal.Zero
	}
	return v
}

// TimeMicros returns the microseconds since the Unix epoch of a KindTime datum.
func (d Datum) TimeMicros() int64 { return d.i }

// Time returns a KindTime datum as a UTC time.
func (d Datum) Time() time.Time { return time.UnixMicro(d.i).UTC() }

// TimeLayout is how DATETIME values print and parse.
const TimeLayout = "2006-01-02 15:04:05.999999"

// String formats d as MySQL prints it in text results; NULL prints as NULL.
func (d Datum) String() string {
	switch d.k {
	case KindNull:
		return "NULL"
	case KindInt:
		return strconv.FormatInt(d.i, 10)
	case KindFloat:
		return FormatFloat(d.Float())
	case KindDecimal, KindString, KindBytes:
		return d.s
	case KindTime:
		return d.Time().Format(TimeLayout)
	}
	return "?"
}

// FormatFloat prints a DOUBLE the way MySQL does: shortest representation, no exponent for
// ordinary magnitudes.
func FormatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-15 || abs >= 1e15) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// ToFloat converts a numeric, time or text datum to a float the way MySQL does in numeric
// context; ok is false for NULL.
func (d Datum) ToFloat() (f float64, ok bool) {
	switch d.k {
	case KindInt:
		return float64(d.i), true
	case KindFloat:
		return d.Float(), true
	case KindDecimal:
		v, _ := d.Decimal().Float64()
		return v, true
	case KindString, KindBytes:
		return ParseFloatPrefix(d.s), true
	case KindTime:
		return float64(d.i), true
	}
	return 0, false
}

// ParseFloatPrefix returns the number at the start of s, as MySQL does when it converts a
// string in numeric context ("12abc" is 12, "abc" is 0).
func ParseFloatPrefix(s string) float64 {
	text, _, ok := numberPrefix(s)
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0
	}
	return f
}

// numberPrefix finds the number at the start of s after white space: its text, whether it has
// an exponent, and whether there is a number at all.
func numberPrefix(s string) (text string, exponent bool, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := false
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits = true
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits = true
		}
	}
	if !digits {
		return "", false, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			return s[start:j], true, true
		}
	}
	return s[start:i], false, true
}
