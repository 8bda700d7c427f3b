package engine

import (
	"context"

	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// LoadData runs LOAD DATA LOCAL INFILE with the file its client sent (data): in an open
// transaction the file's rows go in as one INSERT statement (atomic, within the transaction
// size bound); in autocommit in transactions of loadChunk rows. Fields are coerced to the
// columns' types as MySQL's strict mode does.
func (s *Session) LoadData(ctx context.Context, ld *sqlplan.LoadData, data []byte) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, s.recovered(r)
		}
	}()
	if err := s.e.failure(); err != nil {
		return nil, err
	}
	if s.aborted != nil {
		return nil, s.aborted
	}
	if ld.Ignore {
		return nil, sqlerr.New(sqlerr.NotSupported, "LOAD DATA ... IGNORE is not supported yet")
	}
	tb, err := s.e.lookupTable(ld.Table)
	if err != nil {
		return nil, err
	}
	cols, err := tb.columnList(ld.Columns)
	if err != nil {
		return nil, err
	}
	values := ld.Rows(data)
	for n, vals := range values {
		switch {
		case len(vals) < len(cols):
			return nil, sqlerr.New(sqlerr.TooFewFields, "Row %d doesn't contain data for all columns", n+1)
		case len(vals) > len(cols):
			return nil, sqlerr.New(sqlerr.TooManyFields, "Row %d was truncated; it contained more data than there were input columns", n+1)
		}
	}
	if s.explicit || !s.Autocommit() {
		return s.write(ctx, func(t *txnState, undo *[]undoEntry) (int64, error) {
			return insertValues(t, tb, cols, values, ld.Replace, undo)
		})
	}
	// In autocommit the rows go in transactions of loadChunk rows, each committed before
	// the next: a file far larger than one transaction may hold loads (and its rows reach
	// the views as they go). A failed chunk changes nothing and stops the load; the error
	// says how many rows the chunks before it committed.
	total := &Result{}
	for start := 0; start < len(values); start += loadChunk {
		chunk := values[start:min(start+loadChunk, len(values))]
		res, err := s.write(ctx, func(t *txnState, undo *[]undoEntry) (int64, error) {
			return insertValues(t, tb, cols, chunk, ld.Replace, undo)
		})
		if err != nil {
			if start == 0 {
				return nil, err
			}
			e := sqlerr.As(err)
			return nil, sqlerr.New(e.Code, "%s (LOAD DATA stopped in the rows from line %d: the %d rows before them were committed, up to LSN %d)", e.Msg, start+1+ld.IgnoreLines, start, total.LSN)
		}
		total.RowsAffected += res.RowsAffected
		total.LSN = res.LSN
	}
	return total, nil
}

// loadChunk is how many rows of a LOAD DATA in autocommit go in one transaction.
const loadChunk = 1000
