package dataflow

// Expr is a scalar expression evaluated against one row, with MySQL semantics.
//
// Exprs are immutable and safe for concurrent use. Eval never retains the row.
type Expr interface {
	// Eval computes the value of the expression for row. Errors are SQL errors such as an
	// integer overflow; NULL is a value, not an error.
	Eval(row Row) (Datum, error)
	// Type is the kind of every non-NULL value Eval returns (KindNull if it returns only NULL).
	Type() Kind
	// String prints the expression in SQL-like syntax for EXPLAIN.
	String() string
}
