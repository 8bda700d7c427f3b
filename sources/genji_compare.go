package sources

import (
	"bytes"
	"encoding/binary"
)

// Genji's key comparator (encoding.Compare) walks the values of two keys; for a TEXT or
// BLOB value it reads the length prefix of each but slices both with the offset of the
// second's, so two values whose uvarint lengths differ in size (one below 128 bytes, one
// not) compare wrongly (genji_encoding.go). genjiCompare is the same order without that
// fault: each value is sliced by its own length. On keys whose TEXT and BLOB values at each
// position have length prefixes of one size, the two agree, and every key of a store of
// format 1 is so (its values are padded to 128 bytes; Genji's own catalog keys by names
// below 128 bytes), so a store written with Genji's comparator reads the same with this one.
// Stores of format 2 keep their values unpadded and need it.

// Genji's value type bytes (internal/encoding/types.go) that genjiCompare tells apart.
const (
	genjiFalse    = 0x10
	genjiTrue     = 0x11
	genjiInt32    = 0x21
	genjiInt16    = 0x22
	genjiInt8     = 0x23
	genjiIntSmall = 0x24 // to 0xC3: a small integer in the type byte itself
	genjiUint8    = 0xC4
	genjiUint16   = 0xC5
	genjiUint32   = 0xC6
	genjiFloat64  = 0xD0
	genjiFloat32  = 0xD1
	genjiText     = 0xDA
	genjiArray    = 0xE6
	genjiDocument = 0xF0
	genjiNone     = 0x00 // Genji's tombstone type
)

// genjiCompare orders Genji keys: value by value, by type byte and then by value.
func genjiCompare(a, b []byte) int {
	for {
		if len(a) == 0 {
			if len(b) == 0 {
				return 0
			}
			return -1
		}
		if len(b) == 0 {
			return 1
		}
		// The usual values first, inline: small integers (namespaces) and blobs.
		if t := a[0]; t == b[0] {
			if t >= genjiIntSmall && t < genjiUint8 {
				a, b = a[1:], b[1:]
				continue
			}
			if t == genjiBlob && len(a) > 2 && len(b) > 2 && a[1] < 0x80 && b[1] < 0x80 {
				ea, eb := 2+int(a[1]), 2+int(b[1])
				if ea <= len(a) && eb <= len(b) {
					if c := bytes.Compare(a[2:ea], b[2:eb]); c != 0 {
						return c
					}
					a, b = a[ea:], b[eb:]
					continue
				}
			}
		}
		c, na, nb := compareGenjiValue(a, b)
		if c != 0 {
			return c
		}
		a, b = a[na:], b[nb:]
	}
}

// compareGenjiValue compares the first values of two non-empty keys and returns how many
// bytes each takes. A value cut short (a bound Genji or Pebble made) compares by what it
// has; a type Genji has no order for compares the rest of the keys bytewise.
func compareGenjiValue(a, b []byte) (c, na, nb int) {
	if c := int(a[0]) - int(b[0]); c != 0 {
		return c, 1, 1
	}
	t := a[0]
	if t >= genjiIntSmall && t < genjiUint8 {
		return 0, 1, 1
	}
	switch t {
	case genjiNull, genjiFalse, genjiTrue, genjiNone:
		return 0, 1, 1
	}
	// A type byte alone sorts before the same type with a value.
	if len(a) == 1 || len(b) == 1 {
		return len(a) - len(b), 1, 1
	}
	switch t {
	case genjiInt64, genjiUint64, genjiFloat64:
		return compareFixed(a, b, 8)
	case genjiInt32, genjiUint32, genjiFloat32:
		return compareFixed(a, b, 4)
	case genjiInt16, genjiUint16:
		return compareFixed(a, b, 2)
	case genjiInt8, genjiUint8:
		return compareFixed(a, b, 1)
	case genjiText, genjiBlob:
		ca, sa := lengthPrefixed(a)
		cb, sb := lengthPrefixed(b)
		return bytes.Compare(ca, cb), sa, sb
	case genjiArray, genjiDocument:
		return compareComposite(a, b, t == genjiDocument)
	}
	return bytes.Compare(a, b), len(a), len(b)
}

// compareFixed compares values of w bytes after their type byte.
func compareFixed(a, b []byte, w int) (int, int, int) {
	ea, eb := min(1+w, len(a)), min(1+w, len(b))
	return bytes.Compare(a[1:ea], b[1:eb]), ea, eb
}

// lengthPrefixed returns the contents of a TEXT or BLOB value and the bytes it takes.
func lengthPrefixed(v []byte) (contents []byte, size int) {
	l, n := binary.Uvarint(v[1:])
	if n <= 0 { // cut inside the length: before any contents
		return nil, len(v)
	}
	start := 1 + n
	end := start + int(min(l, uint64(len(v)-start)))
	return v[start:end], end
}

// compareComposite compares arrays (or documents: field and value pairs) element by
// element, then by element count.
func compareComposite(a, b []byte, pairs bool) (int, int, int) {
	la, n := binary.Uvarint(a[1:])
	lb, m := binary.Uvarint(b[1:])
	if n <= 0 || m <= 0 {
		return bytes.Compare(a, b), len(a), len(b)
	}
	ia, ib := 1+n, 1+m
	per := uint64(1)
	if pairs {
		per = 2
	}
	for i := uint64(0); i < min(la, lb)*per; i++ {
		if ia >= len(a) || ib >= len(b) {
			return (len(a) - ia) - (len(b) - ib), ia, ib
		}
		c, na, nb := compareGenjiValue(a[ia:], b[ib:])
		ia, ib = ia+na, ib+nb
		if c != 0 {
			return c, ia, ib
		}
	}
	switch {
	case la < lb:
		return -1, ia, ib
	case la > lb:
		return 1, ia, ib
	}
	return 0, ia, ib
}
