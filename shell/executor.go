package shell

import (
	"context"
	"errors"
	"io"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
)

// Result is what a statement returns to the shell: columns and rows, or a stream of rows.
type Result struct {
	Columns []engine.Column // nil for statements that return no rows
	Rows    []dataflow.Row
	// Next, when set, returns the next rows of a streamed result (TAIL); it returns io.EOF
	// when the stream ends. Close must then be called.
	Next  func(ctx context.Context) ([]dataflow.Row, error)
	Close func()
}

// Executor runs one statement.
type Executor func(ctx context.Context, sql string) (*Result, error)

// Embedded runs statements on an engine session in this process.
func Embedded(s *engine.Session) Executor {
	return func(ctx context.Context, sql string) (*Result, error) {
		res, err := s.Exec(ctx, sql)
		if err != nil {
			return nil, err
		}
		if sub := res.Tail; sub != nil {
			return &Result{
				Columns: sub.Columns(),
				Next: func(ctx context.Context) ([]dataflow.Row, error) {
					b, err := sub.Next(ctx)
					if errors.Is(err, engine.ErrSubscriptionClosed) {
						return nil, io.EOF
					}
					if err != nil {
						return nil, err
					}
					return sub.Rows(b), nil
				},
				Close: sub.Close,
			}, nil
		}
		return &Result{Columns: res.Columns, Rows: res.Rows}, nil
	}
}
