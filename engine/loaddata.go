package engine

import (
	"context"

	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// LoadData runs LOAD DATA LOCAL INFILE with the file its client sent (data): the file's rows
// go into the table as one INSERT statement of the session (atomic, in the open transaction
// if there is one, within the transaction size bound), its fields coerced to the columns'
// types as MySQL's strict mode does.
func (s *Session) LoadData(ctx context.Context, ld *sqlplan.LoadData, data []byte) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, sqlerr.New(sqlerr.Unknown, "internal error: %v", r)
			if s.txn != nil {
				if s.explicit {
					err = s.abort(err)
				} else {
					s.rollback()
				}
			}
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
	cols := make([]int, 0, len(tb.schema.Columns))
	if ld.Columns == nil {
		for i := range tb.schema.Columns {
			cols = append(cols, i)
		}
	} else {
		seen := map[int]bool{}
		for _, c := range ld.Columns {
			i := tb.columnIndex(c)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.BadField, "Unknown column '%s' in 'field list'", c)
			}
			if seen[i] {
				return nil, sqlerr.New(sqlerr.FieldSpecifiedTwice, "Column '%s' specified twice", c)
			}
			seen[i] = true
			cols = append(cols, i)
		}
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
	return s.write(ctx, func(t *txnState, undo *[]undoEntry) (int64, error) {
		return insertValues(t, tb, cols, values, ld.Replace, undo)
	})
}
