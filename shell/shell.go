// Package shell runs SQL statements for a person or a script and prints their results the
// way the mysql client does: tab-separated in batch mode, aligned tables interactively.
package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// Shell executes statements through Exec and prints to Out and Err.
type Shell struct {
	Exec  Executor
	Out   io.Writer
	Err   io.Writer
	Force bool // keep going after an error
	// Table prints aligned tables instead of tab-separated rows.
	Table bool
}

// RunScript runs every ;-separated statement of r. It returns the exit status: 1 if a
// statement failed (the script stops there unless Force), else 0.
func (s *Shell) RunScript(ctx context.Context, r io.Reader) int {
	text, err := io.ReadAll(r)
	if err != nil {
		fmt.Fprintf(s.Err, "cdc: read statements: %v\n", err)
		return 1
	}
	stmts, err := engine.SplitStatements(string(text))
	if err != nil {
		s.printError(err)
		return 1
	}
	status := 0
	for _, st := range stmts {
		if err := s.Run(ctx, st); err != nil {
			s.printError(err)
			status = 1
			if !s.Force {
				return 1
			}
		}
	}
	return status
}

// Run executes one statement and prints its result; a TAIL prints rows as they arrive until
// ctx is cancelled.
func (s *Shell) Run(ctx context.Context, sql string) error {
	res, err := s.Exec(ctx, sql)
	if err != nil {
		return err
	}
	if res.Next != nil {
		return s.stream(ctx, res)
	}
	if res.Columns == nil {
		return nil
	}
	if s.Table {
		if len(res.Rows) == 0 {
			fmt.Fprint(s.Out, "Empty set\n\n")
			return nil
		}
		printTable(s.Out, res.Columns, res.Rows)
		fmt.Fprintf(s.Out, "%d row%s in set\n\n", len(res.Rows), plural(len(res.Rows)))
		return nil
	}
	if len(res.Rows) > 0 { // mysql --batch prints nothing, not even a header, for no rows
		printBatch(s.Out, res.Columns, res.Rows, true)
	}
	return nil
}

// stream prints a streamed result (TAIL) batch by batch until it ends or ctx is cancelled.
func (s *Shell) stream(ctx context.Context, res *Result) error {
	defer res.Close()
	printBatch(s.Out, res.Columns, nil, true)
	flush(s.Out)
	for {
		rows, err := res.Next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		printBatch(s.Out, res.Columns, rows, false)
		flush(s.Out)
	}
}

func flush(w io.Writer) {
	if f, ok := w.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	if f, ok := w.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// printError prints an error like the mysql client: ERROR code (state): message.
func (s *Shell) printError(err error) {
	fmt.Fprintln(s.Err, sqlerr.As(err).Error())
}

// printBatch prints a header (when asked) and rows like mysql --batch.
func printBatch(w io.Writer, cols []engine.Column, rows []dataflow.Row, header bool) {
	var b strings.Builder
	if header {
		for i, c := range cols {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(escapeBatch(c.Name))
		}
		b.WriteByte('\n')
	}
	for _, r := range rows {
		for i, d := range r {
			if i > 0 {
				b.WriteByte('\t')
			}
			b.WriteString(escapeBatch(d.String()))
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// escapeBatch escapes what mysql --batch escapes in values.
func escapeBatch(s string) string {
	if !strings.ContainsAny(s, "\t\n\\\x00") {
		return s
	}
	r := strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\x00", "\\0")
	return r.Replace(s)
}

// printTable prints rows as an aligned table with borders, like the interactive mysql client.
func printTable(w io.Writer, cols []engine.Column, rows []dataflow.Row) {
	if len(cols) == 0 {
		return
	}
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = len([]rune(c.Name))
	}
	cells := make([][]string, len(rows))
	for r, row := range rows {
		cells[r] = make([]string, len(row))
		for i, d := range row {
			cells[r][i] = d.String()
			if n := len([]rune(cells[r][i])); n > widths[i] {
				widths[i] = n
			}
		}
	}
	var b strings.Builder
	sep := func() {
		b.WriteByte('+')
		for _, n := range widths {
			b.WriteString(strings.Repeat("-", n+2))
			b.WriteByte('+')
		}
		b.WriteByte('\n')
	}
	line := func(vals []string, numeric []bool) {
		b.WriteByte('|')
		for i, v := range vals {
			pad := strings.Repeat(" ", widths[i]-len([]rune(v)))
			if numeric != nil && numeric[i] {
				b.WriteString(" " + pad + v + " |")
			} else {
				b.WriteString(" " + v + pad + " |")
			}
		}
		b.WriteByte('\n')
	}
	names := make([]string, len(cols))
	numeric := make([]bool, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		numeric[i] = c.Kind.Numeric()
	}
	sep()
	line(names, nil)
	sep()
	for _, r := range cells {
		line(r, numeric)
	}
	sep()
	io.WriteString(w, b.String())
}
