package dataflow

import (
	"encoding/binary"
	"math"
	"math/bits"

	"vitess.io/vitess/go/mysql/decimal"
)

// BIT_AND, BIT_OR and BIT_XOR work on the 64-bit pattern of their argument (MySQL's
// unsigned 64-bit semantics): the result is that pattern as a BIGINT, so values of 2^63 and
// more print as negative numbers (the engine has no BIGINT UNSIGNED); BIT_AND of a group
// without non-NULL values is all ones, -1 here, 18446744073709551615 in MySQL. BIT_XOR keeps
// the running XOR (a retraction XORs the value out again). BIT_AND and BIT_OR keep, per bit,
// how many of the group's values have it set, so a retraction needs no rescan: BIT_OR is the
// bits with a positive count, BIT_AND those set in every value.
//
// The variances keep count, sum and sum of squares. For BIGINT and DECIMAL arguments the
// sums are exact DECIMALs, so retractions never drift and n*Σx² - (Σx)² is exact before the
// one final division; other arguments (DOUBLE, text) keep DOUBLE sums.

func (a Aggregate) isBitwise() bool {
	return a.Func == AggBitAnd || a.Func == AggBitOr || a.Func == AggBitXor
}

func (a Aggregate) isVariance() bool {
	return a.Func == AggVarPop || a.Func == AggVarSamp || a.Func == AggStddevPop || a.Func == AggStddevSamp
}

// toBits returns the 64-bit pattern of a non-NULL value converted to an integer.
func toBits(d Datum) uint64 {
	if d.k == KindInt {
		return uint64(d.i)
	}
	return uint64(toInt(d))
}

// accumulateBits applies a group's updates to a BIT_* aggregate's count and value.
func accumulateBits(acc Row, cnt int, a Aggregate, updates []Update) {
	val := cnt + 1
	n := acc[cnt].Int()
	if a.Func == AggBitXor {
		x := uint64(acc[val].Int())
		for _, u := range updates {
			v := u.Row[a.Arg]
			if v.IsNull() {
				continue
			}
			n += u.Diff
			if u.Diff&1 != 0 {
				x ^= toBits(v)
			}
		}
		acc[cnt] = NewInt(n)
		acc[val] = NewInt(int64(x))
		if n == 0 {
			acc[val] = Null
		}
		return
	}
	counts := decodeBitCounts(acc[val])
	for _, u := range updates {
		v := u.Row[a.Arg]
		if v.IsNull() {
			continue
		}
		n += u.Diff
		for x := toBits(v); x != 0; x &= x - 1 {
			counts[bits.TrailingZeros64(x)] += u.Diff
		}
	}
	acc[cnt] = NewInt(n)
	acc[val] = encodeBitCounts(&counts)
}

// decodeBitCounts reads the per-bit counts of a BIT_AND/BIT_OR accumulator: varints for
// bits 0, 1, ... up to the last nonzero one; NULL is all zero.
func decodeBitCounts(d Datum) [64]int64 {
	var counts [64]int64
	b := []byte(d.s)
	for i := 0; i < 64 && len(b) > 0; i++ {
		c, n := binary.Varint(b)
		if n <= 0 {
			break
		}
		counts[i], b = c, b[n:]
	}
	return counts
}

func encodeBitCounts(counts *[64]int64) Datum {
	last := -1
	for i, c := range counts {
		if c != 0 {
			last = i
		}
	}
	if last < 0 {
		return Null
	}
	var b []byte
	for _, c := range counts[:last+1] {
		b = binary.AppendVarint(b, c)
	}
	return NewBytes(b)
}

// bitsResult is the value of a BIT_* aggregate over n non-NULL values.
func bitsResult(f AggFunc, n int64, val Datum) Datum {
	if f == AggBitXor {
		if val.IsNull() {
			return NewInt(0)
		}
		return val
	}
	if f == AggBitAnd && n == 0 {
		return NewInt(-1) // all bits set: 18446744073709551615 as a BIGINT
	}
	counts := decodeBitCounts(val)
	var x uint64
	for i, c := range counts {
		if (f == AggBitOr && c > 0) || (f == AggBitAnd && c == n) {
			x |= 1 << i
		}
	}
	return NewInt(int64(x))
}

// exactMoments reports whether the variances of the kind keep exact DECIMAL sums.
func exactMoments(k Kind) bool { return k == KindInt || k == KindDecimal }

// accumulateMoments applies a group's updates to a variance's count, sum and sum of squares.
func accumulateMoments(acc Row, cnt int, a Aggregate, updates []Update) error {
	sum, sq := cnt+1, cnt+2
	n := acc[cnt].Int()
	if exactMoments(a.ArgKind) {
		s, q := decOrZero(acc[sum]), decOrZero(acc[sq])
		for _, u := range updates {
			v := u.Row[a.Arg]
			if v.IsNull() {
				continue
			}
			n += u.Diff
			x, _ := toDec(v)
			w := decimal.NewFromInt(u.Diff)
			s = s.Add(x.Mul(w))
			q = q.Add(x.Mul(x).Mul(w))
		}
		acc[sum], acc[sq] = NewDecimal(s), NewDecimal(q)
	} else {
		s, q := floatOrZero(acc[sum]), floatOrZero(acc[sq])
		for _, u := range updates {
			v := u.Row[a.Arg]
			if v.IsNull() {
				continue
			}
			n += u.Diff
			x, w := toFloat(v), float64(u.Diff)
			s += x * w
			q += x * x * w
		}
		acc[sum], acc[sq] = NewFloat(s), NewFloat(q)
	}
	acc[cnt] = NewInt(n)
	if n == 0 {
		acc[sum], acc[sq] = Null, Null
	}
	return nil
}

func decOrZero(d Datum) decimal.Decimal {
	if d.IsNull() {
		return decimal.Zero
	}
	return d.Decimal()
}

func floatOrZero(d Datum) float64 {
	if d.IsNull() {
		return 0
	}
	return d.Float()
}

// variance is the value of a variance aggregate over n values with the given sums: DOUBLE,
// NULL without values (and for the sample ones with a single value) as in MySQL.
func variance(f AggFunc, n int64, sum, sq Datum) Datum {
	samp := f == AggVarSamp || f == AggStddevSamp
	if n <= 0 || (samp && n == 1) || sum.IsNull() || sq.IsNull() {
		return Null
	}
	var num float64 // n*Σx² - (Σx)²
	if sum.Kind() == KindDecimal {
		s := sum.Decimal()
		num, _ = decimal.NewFromInt(n).Mul(sq.Decimal()).Sub(s.Mul(s)).Float64()
	} else {
		s := sum.Float()
		num = float64(n)*sq.Float() - s*s
	}
	num = max(num, 0)
	den := float64(n) * float64(n)
	if samp {
		den = float64(n) * float64(n-1)
	}
	v := num / den
	if f == AggStddevPop || f == AggStddevSamp {
		v = math.Sqrt(v)
	}
	return NewFloat(v)
}
