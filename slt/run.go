package slt

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cdc-dev/cdc/engine"
)

// The modes RunFile supports.
const (
	ModeQuery = "query" // statements and queries in file order
	ModeView  = "view"  // also every query as a maintained materialized view
)

// Options configure a run.
type Options struct {
	// Mode is ModeQuery or ModeView; empty means ModeQuery.
	Mode string
	// Seed drives the deterministic order in which view mode deletes rows at the end of a file.
	Seed int64
	// Out receives one diagnostic per failure; nil discards them.
	Out io.Writer
}

// session is the part of *engine.Session the runner uses.
type session interface {
	Exec(ctx context.Context, sql string) (*engine.Result, error)
}

// opener starts a fresh engine and returns a session on it and a function that closes both.
type opener func(ctx context.Context) (session, func(), error)

// openMemory opens a fresh in-memory engine.
func openMemory(ctx context.Context) (session, func(), error) {
	e, err := engine.Open(ctx, engine.Options{})
	if err != nil {
		return nil, nil, err
	}
	s := e.NewSession()
	return s, func() { s.Close(); _ = e.Close() }, nil
}

// openDisk opens a fresh engine on a new temporary data directory, removed on close.
func openDisk(ctx context.Context) (session, func(), error) {
	dir, err := os.MkdirTemp("", "cdc-slt-")
	if err != nil {
		return nil, nil, err
	}
	e, err := engine.Open(ctx, engine.Options{Dir: dir})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	s := e.NewSession()
	return s, func() { s.Close(); _ = e.Close(); os.RemoveAll(dir) }, nil
}

// RunFile runs the script at path on a fresh in-memory engine and counts its records.
//
// A failing record never stops the file. The error is for problems of the runner itself: an
// unreadable or malformed script, an unknown mode, an engine that does not open, or ctx ending.
func RunFile(ctx context.Context, path string, opts Options) (Counts, error) {
	return runFile(ctx, path, opts, openMemory)
}

// runFile is RunFile with the engine supplied by open.
func runFile(ctx context.Context, path string, opts Options, open opener) (Counts, error) {
	if opts.Mode == "" {
		opts.Mode = ModeQuery
	}
	if opts.Mode != ModeQuery && opts.Mode != ModeView {
		return Counts{}, fmt.Errorf("unknown mode %q (want %s or %s)", opts.Mode, ModeQuery, ModeView)
	}
	recs, err := ParseFile(path)
	if err != nil {
		return Counts{}, err
	}
	sess, closeEngine, err := open(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("%s: open engine: %w", path, err)
	}
	defer closeEngine()
	r := &runner{ctx: ctx, path: path, opts: opts, sess: sess, labels: map[string]string{}}
	err = r.run(recs)
	return r.counts, err
}

// runner holds the state of one script's run.
type runner struct {
	ctx       context.Context
	path      string
	opts      Options
	sess      session
	counts    Counts
	threshold int               // current hash-threshold; 0 never hashes
	labels    map[string]string // label -> hash line of its first result
	views     *viewSet          // nil in query mode
}

// run executes the records in order, then, in view mode, the end-of-file deletions.
func (r *runner) run(recs []Record) error {
	if r.opts.Mode == ModeView {
		r.views = newViewSet(recs)
		r.createViews(-1)
	}
	for i := range recs {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		rec := &recs[i]
		if !rec.Runs(EngineName) {
			if rec.Kind == KindStatement || rec.Kind == KindQuery || rec.Kind == KindInvalid {
				r.counts.Skipped++
			}
			continue
		}
		if rec.Kind == KindHalt {
			break
		}
		switch rec.Kind {
		case KindHashThreshold:
			r.threshold = rec.Threshold
		case KindStatement:
			r.tally(rec, r.runStatement(i, rec))
		case KindQuery:
			r.tally(rec, r.runQuery(i, rec))
		case KindInvalid:
			r.tally(rec, []string{"malformed record: " + rec.Problem})
		}
	}
	if r.views != nil {
		r.emptyTables()
	}
	return r.ctx.Err()
}

// tally counts a record as passed when problems is empty, else as failed with a diagnostic.
func (r *runner) tally(rec *Record, problems []string) {
	if len(problems) == 0 {
		r.counts.Passed++
		return
	}
	r.counts.Failed++
	r.report(rec.Line, strings.Join(problems, "\n\t"), rec.SQL)
}

// report writes one failure diagnostic to opts.Out; line 0 means the end-of-file phase.
func (r *runner) report(line int, msg, sql string) {
	if r.opts.Out == nil {
		return
	}
	if line > 0 {
		fmt.Fprintf(r.opts.Out, "%s:%d: [%s] %s\n", r.path, line, r.opts.Mode, msg)
	} else {
		fmt.Fprintf(r.opts.Out, "%s: [%s] %s\n", r.path, r.opts.Mode, msg)
	}
	if sql != "" {
		fmt.Fprintf(r.opts.Out, "\t%s\n", strings.ReplaceAll(sql, "\n", "\n\t"))
	}
}

// exec runs one SQL statement, turning an engine panic into an error.
func (r *runner) exec(sql string) (res *engine.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("engine panic: %v", p)
		}
	}()
	res, err = r.sess.Exec(r.ctx, sql)
	if err == nil && res == nil {
		res = &engine.Result{}
	}
	return res, err
}

// runStatement executes a statement record, statement by statement, and returns its problems.
func (r *runner) runStatement(i int, rec *Record) []string {
	var err error
	for _, sql := range splitStatements(rec.SQL) {
		if r.views != nil {
			err = r.execWithViews(i, sql, rec.ExpectError)
		} else {
			_, err = r.exec(sql)
		}
		if err != nil {
			break
		}
	}
	switch {
	case rec.ExpectError && err == nil:
		return []string{"statement succeeded, expected an error"}
	case !rec.ExpectError && err != nil:
		return []string{fmt.Sprintf("statement failed: %v", err)}
	}
	return nil
}

// splitStatements cuts a statement record into its statements with the engine's splitter.
//
// It returns the whole text when the splitter fails or finds nothing.
func splitStatements(sql string) (parts []string) {
	defer func() {
		if recover() != nil {
			parts = []string{sql}
		}
	}()
	all, err := engine.SplitStatements(sql)
	if err != nil {
		return []string{sql}
	}
	for _, p := range all {
		if strings.TrimSpace(p) != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return []string{sql}
	}
	return parts
}

// runQuery checks a query record and, in view mode, its materialized view.
func (r *runner) runQuery(i int, rec *Record) []string {
	rows, problems := r.oneShot(rec)
	if r.views != nil {
		problems = append(problems, r.checkViewAtQuery(i, rec, rows)...)
	}
	return problems
}

// oneShot runs a query record and checks its result and label.
//
// rows is its printed result in engine order, nil when it did not produce one.
func (r *runner) oneShot(rec *Record) (rows [][]string, problems []string) {
	rows, err := r.queryRows(rec.SQL, rec.Types)
	if err != nil {
		return nil, []string{err.Error()}
	}
	vals := SortValues(rows, rec.Sort)
	if rec.HasExpected {
		if err := CompareExpected(rec.Expected, vals); err != nil {
			problems = append(problems, err.Error(), "got: "+r.describe(vals), "expected: "+shorten(rec.Expected))
		}
	}
	if rec.Label != "" {
		got := HashLine(vals)
		if first, ok := r.labels[rec.Label]; !ok {
			r.labels[rec.Label] = got
		} else if first != got {
			problems = append(problems, fmt.Sprintf("%s: got %s, its first result was %s", rec.Label, got, first))
		}
	}
	return rows, problems
}

// queryRows runs sql and prints its rows with types.
func (r *runner) queryRows(sql, types string) ([][]string, error) {
	res, err := r.exec(sql)
	if err != nil {
		return nil, fmt.Errorf("query failed: %v", err)
	}
	if !res.HasRows() {
		return nil, fmt.Errorf("query returned no result set")
	}
	if len(res.Columns) != len(types) {
		return nil, fmt.Errorf("query returned %d columns, the record declares %d (%s)", len(res.Columns), len(types), types)
	}
	return FormatRows(res.Rows, types)
}

// maxShown bounds how many values a diagnostic prints.
const maxShown = 24

// describe prints a result the way the script would: hashed above the threshold, else its values.
func (r *runner) describe(vals []string) string {
	if r.threshold > 0 && len(vals) > r.threshold {
		s := HashLine(vals)
		if len(vals) <= maxShown {
			s += ": " + strings.Join(vals, " ")
		}
		return s
	}
	return shorten(vals)
}

// shorten prints at most maxShown values separated by spaces.
func shorten(vals []string) string {
	if len(vals) > maxShown {
		return strings.Join(vals[:maxShown], " ") + fmt.Sprintf(" ... (%d values)", len(vals))
	}
	return strings.Join(vals, " ")
}
