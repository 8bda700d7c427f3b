package sources

import (
	"fmt"
	"math"
	"strings"

	"github.com/genjidb/genji/types"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/sqlerr"
)

// How values are stored in Genji v0.15.2, and why not in its obvious types:
//
//   - Int, Time (microseconds): INTEGER.
//   - Float: INTEGER holding floatToStored(f). Genji's DOUBLE encoding tests x >= 0 instead of
//     the sign bit: -0.0 reads back as NaN and NaN as 1.1125369292535997e-308.
//   - String, Bytes, Decimal: BLOB holding the dataflow key encoding (order-preserving,
//     self-delimiting, exact: decimals keep their text). Genji's key comparator
//     (encoding.compareNextValue) slices both TEXT/BLOB values with the offset of the second
//     one's length prefix, so two values whose uvarint lengths differ in size (one below 128
//     bytes, one not) compare wrongly: point lookups miss rows, scans come out of order and a
//     duplicate primary key is accepted. Stores of format 1 (paddedFormat) worked around it
//     by zero-padding every such value to at least padTo bytes, which keeps them all in the
//     2-byte length class: a chat message's row took 665 bytes for 192 of values. Stores of
//     format 2 (storageFormat, every new store) keep values unpadded and open Genji's Pebble
//     with a comparator without the fault (genjiCompare). Reads accept both forms. Values in
//     a primary key or index stay below maxKeyValueBytes either way.
const (
	padTo            = 128
	maxKeyValueBytes = 16000

	codeTooLongKey   = 1071 // ER_TOO_LONG_KEY, 42000
	codeTooLongIdent = 1059 // ER_TOO_LONG_IDENT, 42000
)

// maxGenjiName bounds generated table and index names: Genji keys its own catalog by name as
// TEXT, with the same comparator.
const maxGenjiName = padTo - 1

// padded reports whether a kind is stored as a padded key encoding.
func padded(k dataflow.Kind) bool {
	return k == dataflow.KindString || k == dataflow.KindBytes || k == dataflow.KindDecimal
}

// genjiType is the Genji column type a kind is stored as.
func genjiType(k dataflow.Kind) string {
	switch k {
	case dataflow.KindInt, dataflow.KindTime, dataflow.KindFloat:
		return "INTEGER"
	case dataflow.KindDecimal, dataflow.KindString, dataflow.KindBytes:
		return "BLOB"
	}
	return ""
}

// encodePadded returns the stored form of a String, Bytes or Decimal datum.
func encodePadded(d dataflow.Datum) []byte {
	b := dataflow.AppendKey(make([]byte, 0, max(padTo, len(d.Str())+16)), d)
	if len(b) < padTo {
		b = append(b, make([]byte, padTo-len(b))...)
	}
	return b
}

// encodeStored returns the stored form of a String, Bytes or Decimal datum: padded in a
// store of paddedFormat (pad), its key encoding otherwise.
func encodeStored(d dataflow.Datum, pad bool) []byte {
	if pad {
		return encodePadded(d)
	}
	return dataflow.AppendKey(make([]byte, 0, len(d.Str())+16), d)
}

// storedLen bounds the length of encodeStored(d, pad).
func storedLen(d dataflow.Datum, pad bool) int {
	if pad {
		return paddedLen(d)
	}
	return unpaddedLen(d)
}

// unpaddedLen bounds the length of d's key encoding.
func unpaddedLen(d dataflow.Datum) int {
	n := len(d.Str()) + strings.Count(d.Str(), "\x00") + 3
	if d.Kind() == dataflow.KindDecimal {
		n += len(d.Str()) + 6 // sign, exponent and digits before the text
	}
	return n
}

// paddedLen is the length of encodePadded(d) or an upper bound of it.
func paddedLen(d dataflow.Datum) int {
	return max(padTo, unpaddedLen(d))
}

// decodePadded inverts encodePadded and encodeStored for a column of kind k.
func decodePadded(b []byte, k dataflow.Kind) (dataflow.Datum, error) {
	d, rest, err := dataflow.DecodeKey(b)
	if err != nil {
		return dataflow.Null, err
	}
	if d.Kind() != k {
		return dataflow.Null, fmt.Errorf("stored %s value for a %s column", d.Kind(), k)
	}
	for _, c := range rest {
		if c != 0 {
			return dataflow.Null, fmt.Errorf("trailing bytes after a stored %s value", k)
		}
	}
	return d, nil
}

// floatToStored maps a float to an int64 whose order is the order of the float's key
// encoding and which Genji stores exactly.
func floatToStored(f float64) int64 {
	b := math.Float64bits(f)
	if b>>63 != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return int64(b ^ (1 << 63))
}

// storedToFloat inverts floatToStored.
func storedToFloat(v int64) float64 {
	b := uint64(v) ^ (1 << 63)
	if b>>63 != 0 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// toGenji returns the Genji parameter value of a datum, padded in a store of paddedFormat.
func toGenji(d dataflow.Datum, pad bool) any {
	switch d.Kind() {
	case dataflow.KindInt:
		return d.Int()
	case dataflow.KindTime:
		return d.TimeMicros()
	case dataflow.KindFloat:
		return floatToStored(d.Float())
	case dataflow.KindDecimal, dataflow.KindString, dataflow.KindBytes:
		return encodeStored(d, pad)
	}
	return nil
}

// fromGenji returns the datum of kind k stored as v.
func fromGenji(v types.Value, k dataflow.Kind) (dataflow.Datum, error) {
	switch v.Type() {
	case types.NullValue:
		return dataflow.Null, nil
	case types.IntegerValue:
		x := types.As[int64](v)
		switch k {
		case dataflow.KindInt:
			return dataflow.NewInt(x), nil
		case dataflow.KindTime:
			return dataflow.NewTimeMicros(x), nil
		case dataflow.KindFloat:
			return dataflow.NewFloat(storedToFloat(x)), nil
		}
	case types.BlobValue:
		if padded(k) {
			return decodePadded(types.As[[]byte](v), k)
		}
	}
	return dataflow.Null, fmt.Errorf("stored %s value for a %s column", v.Type(), k)
}

// keyTooLong is the error for a key or index value beyond maxKeyValueBytes.
func keyTooLong() error {
	return sqlerr.New(codeTooLongKey, "Specified key was too long; max key length is %d bytes", maxKeyValueBytes)
}

// checkGenjiName refuses a user identifier whose Genji name would be too long.
func checkGenjiName(user, g string) error {
	if len(g) > maxGenjiName {
		return sqlerr.New(codeTooLongIdent, "Identifier name '%s' is too long", user)
	}
	return nil
}
