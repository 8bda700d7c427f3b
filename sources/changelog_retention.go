package sources

import (
	"fmt"
	"math"

	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/genjidb/genji/types"
	"google.golang.org/protobuf/proto"
)

// OldestLSN returns the lowest LSN still in the change log, 0 if the log is empty.
func (s *Store) OldestLSN() (uint64, error) {
	t, err := s.Begin(false)
	if err != nil {
		return 0, fmt.Errorf("oldest LSN: %w", err)
	}
	defer t.Rollback()
	oldest, err := queryLSN(t.tx, "ASC")
	if err != nil {
		return 0, fmt.Errorf("oldest LSN: %w", err)
	}
	return oldest, nil
}

// CommitTime returns the commit time (Unix microseconds) of the logged transaction lsn.
func (s *Store) CommitTime(lsn uint64) (int64, bool, error) {
	if lsn == 0 || lsn > math.MaxInt64 {
		return 0, false, nil
	}
	t, err := s.Begin(false)
	if err != nil {
		return 0, false, err
	}
	defer t.Rollback()
	st, err := t.prepare("SELECT data FROM __cdc_log WHERE lsn = ?")
	if err != nil {
		return 0, false, err
	}
	// The record is decoded inside the read: Genji's blob values alias its read buffers.
	tx := new(changelogpb.Transaction)
	found := false
	err = t.query(st, []any{int64(lsn)}, func(d types.Document) error {
		return d.Iterate(func(_ string, v types.Value) error {
			data, _ := v.V().([]byte)
			if err := proto.Unmarshal(data, tx); err != nil {
				return fmt.Errorf("decode log record %d: %w", lsn, err)
			}
			found = true
			return nil
		})
	})
	if err != nil || !found {
		return 0, false, err
	}
	return tx.CommitTimeMicros, true, nil
}

// TruncateLog deletes the logged transactions with LSNs in [from, below), in one
// transaction; the caller keeps the chunks small (a Genji transaction is bounded) and must
// be the only writer. The head of the log must not be deleted: LastLSN reads it at start-up.
func (s *Store) TruncateLog(from, below uint64) error {
	if below > math.MaxInt64 {
		below = math.MaxInt64
	}
	if from >= below {
		return nil
	}
	t, err := s.Begin(true)
	if err != nil {
		return err
	}
	defer t.Rollback()
	st, err := t.prepare("DELETE FROM __cdc_log WHERE lsn >= ? AND lsn < ?")
	if err != nil {
		return err
	}
	if err := st.Exec(int64(from), int64(below)); err != nil {
		return fmt.Errorf("truncate change log below %d: %w", below, err)
	}
	return t.Commit()
}
