package shell_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/shell"
)

func newShell(t *testing.T, force bool) (*shell.Shell, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	e, err := engine.Open(context.Background(), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	var out, errOut bytes.Buffer
	return &shell.Shell{Exec: shell.Embedded(e.NewSession()), Out: &out, Err: &errOut, Force: force}, &out, &errOut
}

func TestBatchOutputLikeMySQL(t *testing.T) {
	sh, out, errOut := newShell(t, false)
	script := `CREATE TABLE t (a INT, b TEXT); -- a comment
INSERT INTO t VALUES (1, 'x;y'), (NULL, 'tab	here');
SELECT a FROM t WHERE a = 99; -- no rows: mysql --batch prints nothing, not even a header
SELECT a, b FROM t ORDER BY a;`
	if status := sh.RunScript(context.Background(), strings.NewReader(script)); status != 0 {
		t.Fatalf("status %d, stderr %q", status, errOut.String())
	}
	want := "a\tb\nNULL\ttab\\there\n1\tx;y\n"
	if out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
}

func TestErrorStopsUnlessForced(t *testing.T) {
	for _, force := range []bool{false, true} {
		sh, out, errOut := newShell(t, force)
		status := sh.RunScript(context.Background(), strings.NewReader("SELECT * FROM nope; SELECT 1 AS one;"))
		if status != 1 {
			t.Fatalf("force=%v: status %d", force, status)
		}
		if got := errOut.String(); got != "ERROR 1146 (42S02): Table 'nope' doesn't exist\n" {
			t.Fatalf("force=%v: stderr %q", force, got)
		}
		if ran := out.String() == "one\n1\n"; ran != force {
			t.Fatalf("force=%v: stdout %q", force, out.String())
		}
	}
}
