package slt

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// scriptTree writes a small tree of scripts and returns its root.
func scriptTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"b.slt":        "statement ok\nCREATE TABLE t(a INTEGER)\n",
		"a/x.test":     "query I nosort\nSELECT 1\n----\n1\n\nquery I nosort\nSELECT 1\n----\n2\n",
		"a/notes.txt":  "not a script",
		"a/z/deep.slt": "skipif mysql\nstatement ok\nSELECT 1\n",
	}
	for name, src := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func fakeOpener(ctx context.Context) (session, func(), error) { return newFakeDB().open(ctx) }

func TestExpandPaths(t *testing.T) {
	root := scriptTree(t)
	got, err := ExpandPaths([]string{filepath.Join(root, "b.slt"), root})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(root, "b.slt"),
		filepath.Join(root, "a/x.test"),
		filepath.Join(root, "a/z/deep.slt"),
		filepath.Join(root, "b.slt"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("ExpandPaths = %q, want %q", got, want)
	}
	if _, err := ExpandPaths([]string{filepath.Join(root, "absent")}); err == nil {
		t.Error("a missing path should be an error")
	}
}

func TestRunFilesOutput(t *testing.T) {
	root := scriptTree(t)
	var w bytes.Buffer
	c, err := runFiles(context.Background(), []string{root}, Options{}, &w, fakeOpener)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Passed: 2, Failed: 1, Skipped: 1}); c != want {
		t.Errorf("counts %v, want %v", c, want)
	}
	want := root + "/a/x.test: 1 passed, 1 failed, 0 skipped\n" +
		root + "/a/z/deep.slt: 0 passed, 0 failed, 1 skipped\n" +
		root + "/b.slt: 1 passed, 0 failed, 0 skipped\n" +
		"2 passed, 1 failed, 1 skipped\n"
	if w.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", w.String(), want)
	}
}

func TestRunFilesKeepsGoingAfterAMalformedScript(t *testing.T) {
	root := scriptTree(t)
	if err := os.WriteFile(filepath.Join(root, "a/bad.slt"), []byte("frobnicate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	c, err := runFiles(context.Background(), []string{root}, Options{}, &w, fakeOpener)
	if err != nil {
		t.Errorf("err = %v, want the malformed record counted as failed", err)
	}
	if c.Passed != 2 || !strings.Contains(w.String(), "bad.slt: 0 passed, 1 failed, 0 skipped\n") || !strings.HasSuffix(w.String(), "\n2 passed, 2 failed, 1 skipped\n") {
		t.Errorf("counts %v, output:\n%s", c, w.String())
	}
}

func TestCommand(t *testing.T) {
	root := scriptTree(t)
	for _, c := range []struct {
		args   []string
		status int
		stdout string
		stderr string
	}{
		{[]string{filepath.Join(root, "b.slt")}, 0, "1 passed, 0 failed, 0 skipped\n", ""},
		{[]string{"--mode", "view", filepath.Join(root, "b.slt"), "--seed", "3"}, 0, "1 passed, 0 failed, 0 skipped\n", ""},
		{[]string{"-v", filepath.Join(root, "a")}, 1, "1 passed, 1 failed, 1 skipped\n", `expected "2", got "1"`},
		{[]string{filepath.Join(root, "a")}, 1, "1 passed, 1 failed, 1 skipped\n", ""},
		{[]string{"--mode", "table", root}, 2, "", "unknown mode"},
		{[]string{}, 2, "", "usage: cdc slt"},
		{[]string{"--bogus"}, 2, "", "flag provided but not defined"},
		{[]string{filepath.Join(root, "absent")}, 1, "", "absent"},
	} {
		var stdout, stderr bytes.Buffer
		status := command(context.Background(), c.args, &stdout, &stderr, fakeOpener)
		if status != c.status || !strings.HasSuffix(stdout.String(), c.stdout) || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("slt %q: status %d, stdout %q, stderr %q", c.args, status, stdout.String(), stderr.String())
		}
		if c.stderr == "" && stderr.Len() > 0 {
			t.Errorf("slt %q: unexpected stderr %q", c.args, stderr.String())
		}
	}
}
