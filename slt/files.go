package slt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ExpandPaths replaces every directory in paths by the scripts under it.
//
// A directory becomes its *.test and *.slt files, recursively and sorted; files are kept as
// given, in order.
func ExpandPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".test") || strings.HasSuffix(path, ".slt")) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

// RunFiles runs the scripts named by paths and writes their counts to w.
//
// Directories expand as in ExpandPaths. It writes "<path>: N passed, M failed, K skipped" per
// file, then the total "N passed, M failed, K skipped". A file whose run errors still gets its
// line and the others still run; the errors are returned joined. Only a bad path or ctx ending
// stops the run early.
func RunFiles(ctx context.Context, paths []string, opts Options, w io.Writer) (Counts, error) {
	return runFiles(ctx, paths, opts, w, openMemory)
}

// runFiles is RunFiles with the engine supplied by open.
func runFiles(ctx context.Context, paths []string, opts Options, w io.Writer, open opener) (Counts, error) {
	files, err := ExpandPaths(paths)
	if err != nil {
		return Counts{}, err
	}
	var total Counts
	var errs []error
	for _, f := range files {
		c, err := runFile(ctx, f, opts, open)
		total = total.Add(c)
		fmt.Fprintf(w, "%s: %s\n", f, c)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	fmt.Fprintln(w, total)
	return total, errors.Join(errs...)
}
