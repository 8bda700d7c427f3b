package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/sources"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// kindSource is the catalog kind of an S3 source.
const kindSource = "source"

// objectSource is the configuration of a source over the objects of a bucket. Its rows live
// in a change-captured table like any other, written only from the bucket's changes.
type objectSource struct {
	bucket, prefix string
	options        map[string]string // upper-case names, see sqlplan.SourceOptions
	// content is set when rows carry the object's bytes (CONTENT = true), up to maxContent
	// bytes; larger objects have NULL content.
	content    bool
	maxContent int64
	// mu serialises the writers of the source's rows: reconciliations, notifications and
	// ApplyObjectChanges. It also guards notifying.
	mu sync.Mutex
	// notifying is set once the bucket's notification for notifyARN is known to be set.
	notifying bool
	// Counters for Stats: reconciliations and the differences they applied, objects listed
	// by the last one.
	reconciles, inserted, updated, deleted, reconcileErrors atomic.Uint64
	listed                                                  atomic.Int64
}

// sourceColumns are the columns of an object source, in order; key is the primary key, and
// content is last when the source has it.
func sourceColumns(content bool) []sources.ColumnSchema {
	cols := []sources.ColumnSchema{
		{Name: "key", Kind: dataflow.KindString, SQLType: "VARCHAR(1024)", NotNull: true},
		{Name: "size", Kind: dataflow.KindInt, SQLType: "BIGINT"},
		{Name: "etag", Kind: dataflow.KindString, SQLType: "VARCHAR(64)"},
		{Name: "content_type", Kind: dataflow.KindString, SQLType: "VARCHAR(255)"},
		{Name: "last_modified", Kind: dataflow.KindTime, SQLType: "DATETIME(6)"},
		{Name: "user_metadata", Kind: dataflow.KindString, SQLType: "TEXT"},
	}
	if content {
		cols = append(cols, sources.ColumnSchema{Name: "content", Kind: dataflow.KindBytes, SQLType: "LONGBLOB"})
	}
	return cols
}

// defaultMaxContent is the content cap of a source without MAX_CONTENT_BYTES, and
// maxContentCap the largest allowed: a row must fit in one storage transaction.
const (
	defaultMaxContent = 1 << 20
	maxContentCap     = 4 << 20
)

// sourceTable returns the table that holds the rows of an object source.
func sourceTable(st *sqlplan.CreateSource, sql string) *table {
	src := &objectSource{bucket: st.Bucket, prefix: st.Prefix, options: st.Options,
		content: st.Options["CONTENT"] == "true", maxContent: defaultMaxContent}
	if v, err := strconv.ParseInt(st.Options["MAX_CONTENT_BYTES"], 10, 64); err == nil {
		src.maxContent = v
	}
	t := &table{sql: sql, source: src}
	t.schema = sources.TableSchema{Name: st.Name, Columns: sourceColumns(src.content), PrimaryKey: []int{0}}
	t.rules = make([]columnRule, len(t.schema.Columns))
	return t
}

// createSource creates an object source. Called with e.mu held, in a DDL transaction.
func (e *Engine) createSource(tx *sources.Txn, st *sqlplan.CreateSource, sql string) (*Result, func(), error) {
	if e.exists(st.Name) {
		if st.IfNotExists {
			return &Result{}, nil, nil
		}
		return nil, nil, sqlerr.New(sqlerr.TableExists, "Table '%s' already exists", st.Name)
	}
	if err := checkSourceOptions(st); err != nil {
		return nil, nil, err
	}
	t := sourceTable(st, strings.TrimSpace(sql))
	if err := tx.CreateTable(t.schema); err != nil {
		return nil, nil, err
	}
	seq := e.catSeq + 1
	if err := tx.PutCatalog(strings.ToLower(st.Name), kindSource, t.sql, seq); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() {
		e.catSeq = seq
		e.tables[strings.ToLower(st.Name)] = t
	}, nil
}

// DefaultNotifyARN is the notification target CREATE SOURCE configures on the bucket unless
// its NOTIFY_ARN option names another (” for none): MinIO's webhook target with id cdc.
const DefaultNotifyARN = "arn:minio:sqs::cdc:webhook"

// createSource runs CREATE SOURCE: the bucket must be reachable, and the new source starts
// with the objects a first listing finds (which also sets the bucket's notification).
func (s *Session) createSource(ctx context.Context, st *sqlplan.CreateSource, sql string) (*Result, error) {
	s.e.mu.Lock()
	exists := s.e.exists(st.Name)
	s.e.mu.Unlock()
	if exists && st.IfNotExists {
		return &Result{}, nil
	}
	if err := checkSourceOptions(st); err != nil {
		return nil, err
	}
	src := &objectSource{bucket: st.Bucket, prefix: st.Prefix, options: st.Options}
	if _, err := sources.OpenS3(ctx, src.s3Config()); err != nil {
		return nil, sqlerr.New(sqlerr.WrongValue, "cannot create source %s: %v", st.Name, err)
	}
	res, err := s.ddl(ctx, func(tx *sources.Txn) (*Result, func(), error) { return s.e.createSource(tx, st, sql) })
	if err != nil {
		return nil, err
	}
	if _, err := s.e.Reconcile(ctx, st.Name); err != nil {
		return nil, fmt.Errorf("source %s was created, but its first listing failed (it is retried periodically): %w", st.Name, err)
	}
	return res, nil
}

// checkSourceOptions rejects a CREATE SOURCE whose options make no sense.
func checkSourceOptions(st *sqlplan.CreateSource) error {
	if st.Bucket == "" {
		return sqlerr.New(sqlerr.WrongValue, "CREATE SOURCE needs a bucket name")
	}
	for _, name := range []string{"SECURE", "CONTENT"} {
		if v, ok := st.Options[name]; ok && v != "true" && v != "false" {
			return sqlerr.New(sqlerr.WrongValue, "%s takes true or false, not %q", name, v)
		}
	}
	if v, ok := st.Options["MAX_CONTENT_BYTES"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxContentCap {
			return sqlerr.New(sqlerr.WrongValue, "MAX_CONTENT_BYTES takes a number of bytes up to %d, not %q", maxContentCap, v)
		}
	}
	return nil
}

// dropSource drops an object source no view reads.
func (e *Engine) dropSource(tx *sources.Txn, st *sqlplan.DropSource) (*Result, func(), error) {
	key := strings.ToLower(st.Name)
	t, ok := e.tables[key]
	if !ok || t.source == nil {
		if ok {
			return nil, nil, sqlerr.New(sqlerr.WrongObject, "'%s' is a table, not a source: use DROP TABLE", st.Name)
		}
		if st.IfExists {
			return &Result{}, nil, nil
		}
		return nil, nil, sqlerr.New(sqlerr.BadTable, "Unknown source '%s'", st.Name)
	}
	if deps := e.dependents(st.Name); len(deps) > 0 {
		return nil, nil, sqlerr.New(sqlerr.Dependent, "Cannot drop source '%s': view %s depends on it", st.Name, strings.Join(deps, ", "))
	}
	if err := tx.DropTable(t.schema.Name); err != nil {
		return nil, nil, err
	}
	if err := tx.DeleteCatalog(key); err != nil {
		return nil, nil, err
	}
	return &Result{}, func() { delete(e.tables, key) }, nil
}

// redactedSourceSQL is a source's CREATE statement with its secret left out.
func redactedSourceSQL(t *table) string {
	st, err := sqlplan.Parse(t.sql)
	cs, ok := st.(*sqlplan.CreateSource)
	if err != nil || !ok {
		return "CREATE SOURCE " + t.schema.Name + " (definition unreadable)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE SOURCE `%s` FROM S3 BUCKET %s", cs.Name, quoteString(cs.Bucket))
	if cs.Prefix != "" {
		fmt.Fprintf(&b, " PREFIX %s", quoteString(cs.Prefix))
	}
	if len(cs.Options) > 0 {
		var opts []string
		for _, k := range slices.Sorted(maps.Keys(cs.Options)) {
			v := cs.Options[k]
			if k == "SECRET_KEY" {
				v = "<redacted>"
			}
			opts = append(opts, fmt.Sprintf("%s = %s", k, quoteString(v)))
		}
		fmt.Fprintf(&b, " WITH (%s)", strings.Join(opts, ", "))
	}
	return b.String()
}

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ObjectChange is the new state of one object of a source's bucket: its metadata, or its
// deletion.
type ObjectChange struct {
	Key          string
	Deleted      bool
	Size         int64
	ETag         string
	ContentType  string
	LastModified time.Time
	UserMetadata map[string]string
	// Content is the object's bytes, for a source with content (nil: NULL, too large).
	Content []byte
	// At, if set, is when the change happened: it is skipped if the source's row was modified
	// later (a notification delivered late, after a newer listing or event).
	At time.Time
}

// row returns the source row of an object that exists, with its content if withContent.
func (c ObjectChange) row(withContent bool) dataflow.Row {
	meta := dataflow.Null
	if len(c.UserMetadata) > 0 {
		b, _ := json.Marshal(c.UserMetadata) // a map of strings always marshals
		meta = dataflow.NewString(string(b))
	}
	ct := dataflow.Null
	if c.ContentType != "" {
		ct = dataflow.NewString(c.ContentType)
	}
	row := dataflow.Row{dataflow.NewString(c.Key), dataflow.NewInt(c.Size), dataflow.NewString(strings.Trim(c.ETag, `"`)),
		ct, dataflow.NewTimeMicros(c.LastModified.UnixMicro()), meta}
	if withContent {
		content := dataflow.Null
		if c.Content != nil {
			content = dataflow.NewBytes(c.Content)
		}
		row = append(row, content)
	}
	return row
}

// ApplyObjectChanges writes the changes of a source's objects as one transaction with one
// LSN, skipping those that change nothing (an event delivered twice, say), and returns the
// LSN (0 if nothing changed). Changes apply in order, so the last one of a key wins.
func (e *Engine) ApplyObjectChanges(ctx context.Context, source string, changes []ObjectChange) (uint64, error) {
	e.mu.Lock()
	t, ok := e.tables[strings.ToLower(source)]
	e.mu.Unlock()
	if ok && t.source != nil {
		t.source.mu.Lock() // not interleaved with a reconciliation or a notification
		defer t.source.mu.Unlock()
	}
	lsn, _, err := e.applyObjectChanges(ctx, source, changes)
	return lsn, err
}

// applyObjectChanges is ApplyObjectChanges that also returns how many changes changed a row;
// the caller holds the source's mu.
func (e *Engine) applyObjectChanges(ctx context.Context, source string, changes []ObjectChange) (uint64, int64, error) {
	e.mu.Lock()
	t, ok := e.tables[strings.ToLower(source)]
	e.mu.Unlock()
	if !ok || t.source == nil {
		return 0, 0, sqlerr.New(sqlerr.NoSuchTable, "Source '%s' doesn't exist", source)
	}
	if err := e.failure(); err != nil {
		return 0, 0, err
	}
	s := e.NewSession()
	defer s.Close()
	res, err := s.write(ctx, func(tx *txnState, undo *[]undoEntry) (int64, error) {
		var n int64
		for _, c := range changes {
			if c.Key == "" {
				return 0, sqlerr.New(sqlerr.WrongValue, "an object change without a key")
			}
			key := dataflow.AppendKey(nil, dataflow.NewString(c.Key))
			old, found, err := tx.gtx.Get(t.schema, key)
			if err != nil {
				return 0, err
			}
			if found && !c.At.IsZero() && old[4].TimeMicros() > c.At.UnixMicro() {
				continue // the source already holds a newer version
			}
			switch {
			case c.Deleted && found:
				if err := tx.gtx.Delete(t.schema, key); err != nil {
					return 0, err
				}
				if err := tx.record(t, changelogpb.ChangeEvent_DELETE, key, old, nil); err != nil {
					return 0, err
				}
			case c.Deleted:
				continue
			case found:
				row := c.row(t.source.content)
				if sameObject(row, old) && (!t.source.content || dataflow.Compare(row[6], old[6]) == 0) {
					continue // the same version (seen by a listing and an event, say)
				}
				newKey, err := tx.gtx.Update(t.schema, key, row)
				if err != nil {
					return 0, err
				}
				if err := tx.record(t, changelogpb.ChangeEvent_UPDATE, newKey, old, row); err != nil {
					return 0, err
				}
			default:
				row := c.row(t.source.content)
				k, err := tx.gtx.Insert(t.schema, row)
				if err != nil {
					return 0, err
				}
				if err := tx.record(t, changelogpb.ChangeEvent_INSERT, k, nil, row); err != nil {
					return 0, err
				}
			}
			n++
		}
		return n, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("apply object changes to source %s: %w", source, err)
	}
	return res.LSN, res.RowsAffected, nil
}

// notifyARN is the notification target the source's bucket should notify, or "" for none.
func (src *objectSource) notifyARN() string {
	if arn, ok := src.options["NOTIFY_ARN"]; ok {
		return arn
	}
	return DefaultNotifyARN
}

// fetchContent reads the bytes of the changed objects of a source with content, in place;
// an object over the cap keeps nil content (NULL). An object that is gone by now is left out:
// its deletion is on its way.
func (e *Engine) fetchContent(ctx context.Context, t *table, b *sources.S3Bucket, changes []ObjectChange) ([]ObjectChange, error) {
	if !t.source.content {
		return changes, nil
	}
	out := changes[:0]
	for _, c := range changes {
		if !c.Deleted && c.Size <= t.source.maxContent {
			data, found, err := b.Get(ctx, c.Key, t.source.maxContent)
			if err != nil {
				return nil, err
			}
			if !found {
				continue
			}
			c.Content = data
			if c.Content == nil {
				c.Content = []byte{}
			}
		}
		out = append(out, c)
	}
	return out, nil
}
