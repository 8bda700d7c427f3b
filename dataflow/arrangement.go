package dataflow

// Arrangement is an index key -> {row: count} over a collection.
//
// Keys are key encodings (AppendKey) of the collection's key columns; within a key, rows are
// visited in the order of their key encodings, so an arrangement keyed by group with the
// aggregated value as row is an ordered multiset per group. Counts are never zero: an entry
// whose count reaches zero is removed. Entries are ordered by key then row encoding and Get
// matches a prefix of that concatenation, so an operator whose rows start with their key
// columns stores them with an empty key and still finds them by key.
//
// During an epoch operators only read arrangements; their changes are staged on the Epoch
// and applied once, together, when the epoch commits. An arrangement shared by several
// operators or views is therefore always read at the state of the previous epoch.
// Implementations are not safe for concurrent use unless they say so.
type Arrangement interface {
	// Name identifies the arrangement in EXPLAIN output, errors and metrics.
	Name() string
	// Get calls fn for each row under key in ascending order until fn returns false. Key
	// encodings are self-delimiting, so a key made of the first columns of the arrangement's
	// key visits every key it starts, in key order: an arrangement keyed by (group, value)
	// is an ordered multiset per group.
	Get(key []byte, fn func(row Row, count Diff) bool) error
	// GetReverse is Get in descending row order.
	GetReverse(key []byte, fn func(row Row, count Diff) bool) error
	// Scan calls fn for every entry in key order until fn returns false.
	Scan(fn func(key []byte, row Row, count Diff) bool) error
	// Apply adds the diffs to the arrangement. Rows are retained by the arrangement; keys
	// are copied, so callers may reuse their buffers once Apply returns.
	Apply(updates []KeyedUpdate) error
	// Len returns the number of distinct (key, row) entries.
	Len() int
}

// KeyedUpdate is a change of the count of Row under Key.
type KeyedUpdate struct {
	Key  []byte
	Row  Row
	Diff Diff
}
