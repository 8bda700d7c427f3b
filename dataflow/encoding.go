package dataflow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"vitess.io/vitess/go/mysql/decimal"
)

// Key encoding: every datum is a tag byte followed by a body, and bytes.Compare of two
// encodings orders them as Compare orders the datums. Encodings are self-delimiting, so the
// encoding of a row is the concatenation of its datums' and a key is a prefix of every
// key-plus-row it starts.
const (
	tagNull       = 0x01
	tagInt        = 0x10
	tagFloat      = 0x20
	tagDecimalNeg = 0x30
	tagDecimalZ   = 0x31
	tagDecimalPos = 0x32
	tagString     = 0x40
	tagBytes      = 0x50
	tagTime       = 0x60
)

// AppendKey appends the order-preserving encoding of d to dst.
func AppendKey(dst []byte, d Datum) []byte {
	switch d.k {
	case KindNull:
		return append(dst, tagNull)
	case KindInt:
		dst = append(dst, tagInt)
		return binary.BigEndian.AppendUint64(dst, uint64(d.i)^(1<<63))
	case KindTime:
		dst = append(dst, tagTime)
		return binary.BigEndian.AppendUint64(dst, uint64(d.i)^(1<<63))
	case KindFloat:
		dst = append(dst, tagFloat)
		bits := math.Float64bits(d.Float())
		if bits&(1<<63) != 0 {
			bits = ^bits
		} else {
			bits |= 1 << 63
		}
		return binary.BigEndian.AppendUint64(dst, bits)
	case KindDecimal:
		return appendDecimalKey(dst, d.s)
	case KindString:
		return appendEscaped(append(dst, tagString), d.s)
	case KindBytes:
		return appendEscaped(append(dst, tagBytes), d.s)
	}
	panic(fmt.Sprintf("dataflow: AppendKey of unknown kind %d", d.k))
}

// AppendRowKey appends the encodings of every datum of r.
func AppendRowKey(dst []byte, r Row) []byte {
	for _, d := range r {
		dst = AppendKey(dst, d)
	}
	return dst
}

// AppendColumnsKey appends the encodings of the columns cols of r, in that order.
func AppendColumnsKey(dst []byte, r Row, cols []int) []byte {
	for _, c := range cols {
		dst = AppendKey(dst, r[c])
	}
	return dst
}

// appendEscaped writes s with 0x00 escaped as 0x00 0xff and terminated by 0x00 0x01.
func appendEscaped(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			break
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, 0, 0xff)
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, 0, 0x01)
}

// appendDecimalKey encodes a decimal as sign, exponent and significant digits, so that byte
// order is numeric order. The canonical text is kept after the digits so decoding restores
// its scale ("1.50" and "1.5" are equal numbers but different texts).
func appendDecimalKey(dst []byte, text string) []byte {
	neg := strings.HasPrefix(text, "-")
	digits := strings.TrimPrefix(text, "-")
	intPart, frac, _ := strings.Cut(digits, ".")
	all := strings.TrimLeft(intPart+frac, "0")
	exp := int32(len(strings.TrimLeft(intPart, "0")))
	if strings.TrimLeft(intPart, "0") == "" {
		// 0.00ddd: the exponent counts the leading zeros of the fraction, negatively.
		exp = -int32(len(frac) - len(strings.TrimLeft(frac, "0")))
	}
	all = strings.TrimRight(all, "0")
	if all == "" {
		dst = append(dst, tagDecimalZ)
		return appendEscaped(dst, text)
	}
	if neg {
		dst = append(dst, tagDecimalNeg)
		dst = binary.BigEndian.AppendUint32(dst, ^(uint32(exp) ^ (1 << 31)))
		for i := 0; i < len(all); i++ {
			dst = append(dst, ^all[i])
		}
		dst = append(dst, 0xff)
	} else {
		dst = append(dst, tagDecimalPos)
		dst = binary.BigEndian.AppendUint32(dst, uint32(exp)^(1<<31))
		dst = append(dst, all...)
		dst = append(dst, 0x00)
	}
	return appendEscaped(dst, text)
}

var errShortKey = errors.New("dataflow: truncated key encoding")

// DecodeKey decodes one datum from the front of b and returns the rest.
func DecodeKey(b []byte) (Datum, []byte, error) {
	if len(b) == 0 {
		return Null, nil, errShortKey
	}
	tag, b := b[0], b[1:]
	switch tag {
	case tagNull:
		return Null, b, nil
	case tagInt, tagTime, tagFloat:
		if len(b) < 8 {
			return Null, nil, errShortKey
		}
		u := binary.BigEndian.Uint64(b)
		b = b[8:]
		switch tag {
		case tagInt:
			return NewInt(int64(u ^ (1 << 63))), b, nil
		case tagTime:
			return NewTimeMicros(int64(u ^ (1 << 63))), b, nil
		}
		if u&(1<<63) != 0 {
			u &^= 1 << 63
		} else {
			u = ^u
		}
		return NewFloat(math.Float64frombits(u)), b, nil
	case tagDecimalNeg, tagDecimalPos:
		if len(b) < 4 {
			return Null, nil, errShortKey
		}
		b = b[4:]
		end := byte(0x00)
		if tag == tagDecimalNeg {
			end = 0xff
		}
		i := 0
		for i < len(b) && b[i] != end {
			i++
		}
		if i == len(b) {
			return Null, nil, errShortKey
		}
		b = b[i+1:]
		fallthrough
	case tagDecimalZ:
		s, rest, err := decodeEscaped(b)
		if err != nil {
			return Null, nil, err
		}
		return Datum{k: KindDecimal, s: s}, rest, nil
	case tagString, tagBytes:
		s, rest, err := decodeEscaped(b)
		if err != nil {
			return Null, nil, err
		}
		if tag == tagString {
			return NewString(s), rest, nil
		}
		return Datum{k: KindBytes, s: s}, rest, nil
	}
	return Null, nil, fmt.Errorf("dataflow: unknown key tag %#x", tag)
}

func decodeEscaped(b []byte) (string, []byte, error) {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != 0 {
			continue
		}
		if i+1 >= len(b) {
			return "", nil, errShortKey
		}
		switch b[i+1] {
		case 0x01:
			if out == nil {
				return string(b[:i]), b[i+2:], nil
			}
			out = append(out, b[:i]...)
			return string(out), b[i+2:], nil
		case 0xff:
			out = append(out, b[:i]...)
			out = append(out, 0)
			b = b[i+2:]
			i = -1
		default:
			return "", nil, fmt.Errorf("dataflow: bad escape %#x in key", b[i+1])
		}
	}
	return "", nil, errShortKey
}

// DecodeRow decodes a whole encoding made by AppendRowKey; n is the expected width or -1.
func DecodeRow(b []byte, n int) (Row, error) {
	var r Row
	if n > 0 {
		r = make(Row, 0, n)
	}
	for len(b) > 0 {
		d, rest, err := DecodeKey(b)
		if err != nil {
			return nil, err
		}
		r = append(r, d)
		b = rest
	}
	if n >= 0 && len(r) != n {
		return nil, fmt.Errorf("dataflow: decoded %d columns, want %d", len(r), n)
	}
	return r, nil
}

// NormalizeDecimal returns the canonical text of a decimal as NewDecimal stores it.
func NormalizeDecimal(d decimal.Decimal) string { return d.String() }
