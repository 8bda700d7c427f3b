package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/shell"
)

// runSQL is `cdc sql`: an embedded engine on a data directory, or a client of a server.
func runSQL(args []string) int {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	storage := storageFlags(fs)
	addr := fs.String("addr", "", "connect to a cdc server at HOST:PORT instead of opening --data")
	user := fs.String("u", "root", "user name, with --addr")
	password := fs.String("p", os.Getenv("CDC_PASSWORD"), "password, with --addr (default: $CDC_PASSWORD)")
	exec := fs.String("e", "", "run these ;-separated statements and exit")
	force := fs.Bool("force", false, "continue after errors")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts, err := storage()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdc:", err)
		return 2
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	// Messages of the log package (a storage engine's fatal error, say) go to stderr as
	// they are, not through slog at a level the shell hides.
	log.SetOutput(os.Stderr)
	interactive := *exec == "" && shell.IsTerminal()
	ctx := context.Background()
	if !interactive {
		// In a script, Ctrl-C stops everything; interactively it only cancels a statement.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
	}
	sh := &shell.Shell{Out: os.Stdout, Err: os.Stderr, Force: *force}
	if *addr != "" {
		exec, closeConn, err := shell.Dial(ctx, *addr, *user, *password)
		if err != nil {
			fmt.Fprintf(os.Stderr, "cdc: %v\n", err)
			return 1
		}
		defer closeConn()
		sh.Exec = exec
	} else {
		e, err := engine.Open(ctx, opts)
		if err != nil {
			fmt.Fprintf(os.Stderr, "cdc: %v\n", err)
			return 1
		}
		defer e.Close()
		sess := e.NewSession()
		defer sess.Close()
		sh.Exec = shell.Embedded(sess)
	}
	switch {
	case *exec != "":
		return sh.RunScript(ctx, strings.NewReader(*exec))
	case interactive:
		return sh.Interactive(ctx, "cdc> ")
	default:
		return sh.RunScript(ctx, bufio.NewReader(os.Stdin))
	}
}
