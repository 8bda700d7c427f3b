package sqlplan

import (
	"math/rand"
	"strings"
	"testing"
)

// TestContainsFold: the fast search agrees with a plain case-insensitive search on random
// text over a small alphabet (so that partial matches and both cases are frequent).
func TestContainsFold(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	words := []string{"full", "intersect", "except", "e", "ee"}
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.Intn(40))
		for i := range b {
			b[i] = "fFuUlLeExXcCpPtT '"[r.Intn(18)]
		}
		s := string(b)
		for _, w := range words {
			if got, want := containsFold(s, w), strings.Contains(strings.ToLower(s), w); got != want {
				t.Fatalf("containsFold(%q, %q) = %v, want %v", s, w, got, want)
			}
		}
	}
}
