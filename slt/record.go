// Package slt runs sqllogictest scripts against a fresh in-memory engine.
//
// In "query" mode records run one-shot in file order; in "view" mode every query is also kept
// as an incrementally maintained materialized view, checked at the query and while the tables
// are emptied at the end of the file.
package slt

import "fmt"

// EngineName is the dialect name this engine answers to in skipif/onlyif directives.
const EngineName = "mysql"

// RecordKind says what a record does.
type RecordKind int

// The record kinds of the sqllogictest format.
const (
	KindStatement     RecordKind = iota + 1 // statement ok / statement error
	KindQuery                               // query <types> <sort> [label]
	KindHashThreshold                       // hash-threshold N
	KindHalt                                // halt
	KindInvalid                             // a malformed record, counted as failed
)

// SortMode is how a query's printed values are ordered before they are compared.
type SortMode int

// The sort modes of a query record.
const (
	NoSort    SortMode = iota // keep the engine's row order
	RowSort                   // sort rows by their printed values
	ValueSort                 // sort every value independently
)

// String returns the mode as the format spells it.
func (m SortMode) String() string {
	switch m {
	case NoSort:
		return "nosort"
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	}
	return fmt.Sprintf("SortMode(%d)", int(m))
}

// Condition is one skipif/onlyif directive in front of a record.
type Condition struct {
	OnlyIf bool   // true for onlyif, false for skipif
	Engine string // the engine name the directive names
}

// Record is one parsed record of a script.
type Record struct {
	Kind RecordKind
	// Problem says what is wrong with a KindInvalid record.
	Problem    string
	Line       int // 1-based line of the record's first line (its first directive, if any)
	Conditions []Condition

	// SQL is the statement or query text, its lines joined by newlines.
	SQL string
	// ExpectError is set for "statement error".
	ExpectError bool

	// Types has one letter (I, R or T) per result column of a query.
	Types string
	Sort  SortMode
	Label string
	// Expected holds the lines after "----", one value (or one hash line) per line.
	Expected []string
	// HasExpected reports whether the query had a "----" line; without one only execution is checked.
	HasExpected bool

	// Threshold is the value of a hash-threshold record.
	Threshold int
}

// Runs reports whether the record applies to the named engine given its skipif/onlyif directives.
func (r *Record) Runs(engine string) bool {
	for _, c := range r.Conditions {
		if c.OnlyIf != (c.Engine == engine) {
			return false
		}
	}
	return true
}

// Counts tallies the outcome of the records of one or more scripts.
type Counts struct {
	Passed, Failed, Skipped int
}

// Add returns the sum of c and o.
func (c Counts) Add(o Counts) Counts {
	return Counts{Passed: c.Passed + o.Passed, Failed: c.Failed + o.Failed, Skipped: c.Skipped + o.Skipped}
}

// String prints the counts as "N passed, M failed, K skipped".
func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", c.Passed, c.Failed, c.Skipped)
}
