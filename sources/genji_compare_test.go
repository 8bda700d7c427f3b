package sources

import (
	"bytes"
	"cmp"
	"math/rand"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/dataflow"
)

// keyValue is one value of a generated Genji key: its encoding and what orders it.
type keyValue struct {
	enc      []byte
	typ      byte
	contents []byte // a blob's contents, or an integer's bytes after the type byte
}

// randomKey returns a Genji key of a namespace and one to three integer or blob values,
// the blobs of lengths drawn by blobLen.
func randomKey(r *rand.Rand, blobLen func() int) []keyValue {
	ns := genjiEncodeInt(nil, int64(1+r.Intn(3)))
	k := []keyValue{{enc: ns, typ: ns[0], contents: ns[1:]}}
	for n := 1 + r.Intn(3); n > 0; n-- {
		if r.Intn(3) == 0 {
			v := genjiEncodeInt(nil, []int64{-1 << 40, -5, 0, 7, 300, 1 << 40}[r.Intn(6)])
			k = append(k, keyValue{enc: v, typ: v[0], contents: v[1:]})
			continue
		}
		c := make([]byte, blobLen())
		for i := range c {
			c[i] = "ab\x00"[r.Intn(3)] // few letters: long common prefixes
		}
		k = append(k, keyValue{enc: genjiEncodeBlob(nil, c), typ: genjiBlob, contents: c})
	}
	return k
}

func joinKey(k []keyValue) []byte {
	var b []byte
	for _, v := range k {
		b = append(b, v.enc...)
	}
	return b
}

// referenceCompare is the order genjiCompare should give: value by value, by type byte and
// then by contents, a key that is a prefix of another first.
func referenceCompare(a, b []keyValue) int {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i].typ != b[i].typ {
			return int(a[i].typ) - int(b[i].typ)
		}
		if c := bytes.Compare(a[i].contents, b[i].contents); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// genjiCompareOrPanic is Genji's own comparison, false when it panics (as it can on blobs
// of both length classes).
func genjiCompareOrPanic(a, b []byte) (c int, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return genjiComparer.Compare(a, b), true
}

// TestGenjiCompare: genjiCompare orders keys with blobs of any lengths by their values, and
// agrees with Genji's comparator wherever that one is right: on keys whose blobs are all
// below 128 bytes, or all from 128 bytes on (the values of stores of paddedFormat).
func TestGenjiCompare(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	classes := []struct {
		name     string
		len      func() int
		genjiToo bool
	}{
		{"mixed", func() int { return []int{0, 3, 127, 128, 129, 300}[r.Intn(6)] + r.Intn(2) }, false},
		{"short", func() int { return r.Intn(128) }, true},
		{"long", func() int { return 128 + r.Intn(200) }, true},
	}
	for _, c := range classes {
		disagreed := 0
		for i := 0; i < 20000; i++ {
			a, b := randomKey(r, c.len), randomKey(r, c.len)
			if r.Intn(4) == 0 { // share a prefix of values
				n := r.Intn(len(a))
				b = append(append([]keyValue(nil), a[:n+1]...), b[min(n+1, len(b)):]...)
			}
			ka, kb := joinKey(a), joinKey(b)
			want := cmp.Compare(referenceCompare(a, b), 0)
			if got := cmp.Compare(genjiCompare(ka, kb), 0); got != want {
				t.Fatalf("%s: genjiCompare(%x, %x) = %d, want %d", c.name, ka, kb, got, want)
			}
			if got := cmp.Compare(genjiCompare(kb, ka), 0); got != -want {
				t.Fatalf("%s: genjiCompare(%x, %x) = %d, want %d", c.name, kb, ka, got, -want)
			}
			if genji, ok := genjiCompareOrPanic(ka, kb); !ok || cmp.Compare(genji, 0) != want {
				if c.genjiToo {
					t.Fatalf("%s: Genji's Compare(%x, %x) = %d (%v), want %d", c.name, ka, kb, genji, ok, want)
				}
				disagreed++
			}
			// Keys cut anywhere (bounds) compare without a fault, as a prefix before the key.
			cut := ka[:r.Intn(len(ka)+1)]
			if genjiCompare(cut, ka) > 0 {
				t.Fatalf("%s: the prefix %x of %x sorts after it", c.name, cut, ka)
			}
			_ = genjiCompare(kb, cut)
		}
		if !c.genjiToo && disagreed == 0 {
			t.Fatalf("%s: Genji's comparator never erred: the test does not reach its fault", c.name)
		}
	}
}

// TestAppendKeyBlob: appendKeyBlob writes what genjiEncodeBlob of the key encoding does,
// for lengths on both sides of each uvarint size, after other bytes.
func TestAppendKeyBlob(t *testing.T) {
	for _, n := range []int{0, 1, 120, 123, 124, 125, 126, 127, 128, 129, 200, 16379, 16380, 16381, 16383, 16384, 20000} {
		for _, s := range []string{strings.Repeat("x", n), strings.Repeat("\x00", n)} {
			for _, d := range []dataflow.Datum{dataflow.NewString(s), dataflow.NewBytes([]byte(s))} {
				want := genjiEncodeBlob([]byte("head"), dataflow.AppendKey(nil, d))
				if got := appendKeyBlob([]byte("head"), d); !bytes.Equal(got, want) {
					t.Fatalf("%d bytes (%q...): %x..., want %x...", n, s[:min(n, 3)], got[:min(len(got), 12)], want[:min(len(want), 12)])
				}
			}
		}
	}
}
