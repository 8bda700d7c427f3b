package server

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/cdc-dev/cdc/shell"
)

// TestRemoteShell drives the shell's network client against the server: statements, errors
// with their MySQL codes, and a TAIL streamed while another connection writes.
func TestRemoteShell(t *testing.T) {
	ctx := testCtx(t)
	addr := startServer(t, "secret")
	exec, closeConn, err := shell.Dial(ctx, addr, "root", "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer closeConn()
	var out, errOut bytes.Buffer
	sh := &shell.Shell{Exec: exec, Out: &out, Err: &errOut}
	script := `CREATE TABLE chat (chat_id CHAR(32) PRIMARY KEY, chat_topic VARCHAR(32));
INSERT INTO chat VALUES ('c1', 'go'), ('c2', NULL);
CREATE MATERIALIZED VIEW topics AS SELECT chat_topic, COUNT(*) AS n FROM chat GROUP BY chat_topic;
SELECT * FROM topics ORDER BY n, chat_topic;
SELECT * FROM nope;`
	if status := sh.RunScript(ctx, strings.NewReader(script)); status != 1 {
		t.Fatalf("status %d, stderr %q", status, errOut.String())
	}
	if got, want := out.String(), "chat_topic\tn\nNULL\t1\ngo\t1\n"; got != want {
		t.Fatalf("stdout %q, want %q", got, want)
	}
	if got := errOut.String(); got != "ERROR 1146 (42S02): Table 'nope' doesn't exist\n" {
		t.Fatalf("stderr %q", got)
	}

	tailCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := exec(tailCtx, "TAIL topics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if res.Next == nil || len(res.Columns) != 4 {
		t.Fatalf("TAIL result %+v", res)
	}
	writer, closeWriter, err := shell.Dial(ctx, addr, "root", "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer closeWriter()
	var seen []string
	for len(seen) < 2 {
		rows, err := res.Next(tailCtx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			seen = append(seen, r.String())
		}
	}
	if _, err := writer(ctx, `INSERT INTO chat VALUES ('c3', 'go')`); err != nil {
		t.Fatal(err)
	}
	for len(seen) < 4 {
		rows, err := res.Next(tailCtx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			seen = append(seen, r.String())
		}
	}
	if !strings.HasSuffix(seen[2], "\t-1\tgo\t1") || !strings.HasSuffix(seen[3], "\t1\tgo\t2") {
		t.Fatalf("TAIL rows %q", seen)
	}
	// Ctrl-C (the end of the statement's context) ends the TAIL with KILL QUERY; the shell's
	// connection, with its session, stays usable.
	cancel()
	for {
		_, err := res.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("TAIL after cancel: %v", err)
		}
	}
	res.Close()
	after, err := exec(ctx, "SELECT n FROM topics WHERE chat_topic = 'go'")
	if err != nil || len(after.Rows) != 1 || after.Rows[0][0].Str() != "2" {
		t.Fatalf("after the TAIL: %+v, %v", after, err)
	}
}
