package shell

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/cdc-dev/cdc/engine"
	"github.com/chzyer/readline"
)

// IsTerminal reports whether standard input is a terminal.
func IsTerminal() bool { return readline.DefaultIsTerminal() }

// Interactive reads statements with line editing and history until EOF or `exit`. Ctrl-C
// clears the line being typed, or cancels the running statement (a TAIL) without leaving.
func (s *Shell) Interactive(ctx context.Context, prompt string) int {
	s.Table = true
	home, _ := os.UserHomeDir()
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          prompt,
		HistoryFile:     filepath.Join(home, ".cdc_history"),
		InterruptPrompt: "^C",
		EOFPrompt:       "exit",
	})
	if err != nil {
		s.printError(err)
		return 1
	}
	defer rl.Close()
	var buf strings.Builder
	for {
		if buf.Len() == 0 {
			rl.SetPrompt(prompt)
		} else {
			rl.SetPrompt(strings.Repeat(" ", len(prompt)-3) + "-> ")
		}
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			buf.Reset()
			continue
		}
		if errors.Is(err, io.EOF) {
			return 0
		}
		if err != nil {
			s.printError(err)
			return 1
		}
		trimmed := strings.TrimSpace(line)
		if buf.Len() == 0 && (trimmed == "exit" || trimmed == "quit" || trimmed == `\q`) {
			return 0
		}
		buf.WriteString(line)
		buf.WriteByte('\n')
		if !strings.HasSuffix(trimmed, ";") {
			continue
		}
		stmts, err := engine.SplitStatements(buf.String())
		buf.Reset()
		if err != nil {
			s.printError(err)
			continue
		}
		for _, st := range stmts {
			stmtCtx, cancel := signal.NotifyContext(ctx, os.Interrupt)
			err := s.Run(stmtCtx, st)
			cancel()
			if err != nil {
				s.printError(err)
			}
			if ctx.Err() != nil {
				return 0
			}
		}
	}
}
