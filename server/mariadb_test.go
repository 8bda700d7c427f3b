package server

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The mariadb command-line client against the server: what a person following the README
// does (bin/cdc serve, then mariadb -h 127.0.0.1 -P 3306 -u root). CI installs the client
// (.ci/run); elsewhere the tests skip without it.

// mariadbCLI is a mariadb client invocation for one server.
type mariadbCLI struct {
	path string // the mariadb binary
	port string
}

// needMariaDB returns a client for a fresh in-process server (user root, no password), or
// skips the test when the mariadb client is not installed.
func needMariaDB(t *testing.T) (*Server, mariadbCLI) {
	t.Helper()
	path, err := exec.LookPath("mariadb")
	if err != nil {
		t.Skip("mariadb client not on PATH (apt-get install mariadb-client); skipping the command-line client test")
	}
	srv := startServerFull(t, "")
	_, port, _ := strings.Cut(srv.Addr(), ":")
	return srv, mariadbCLI{path: path, port: port}
}

// args are the client's connection flags: no option files, TCP to the test port as root
// with no password, and no TLS (the server offers none; newer clients would insist).
func (m mariadbCLI) args(extra ...string) []string {
	return append([]string{"--no-defaults", "-h", "127.0.0.1", "-P", m.port, "-u", "root", "--protocol=TCP", "--skip-ssl"}, extra...)
}

// run runs the client with extra arguments and returns its standard output, failing the
// test if it exits non-zero.
func (m mariadbCLI) run(t *testing.T, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.path, m.args(extra...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mariadb %s: %v\n%s", strings.Join(extra, " "), err, stderr.String())
	}
	return stdout.String()
}

// TestMariaDBConnect runs what the client sends when a person connects, and the probes of
// its status command.
func TestMariaDBConnect(t *testing.T) {
	_, m := needMariaDB(t)
	if got := m.run(t, "-e", "SELECT 1"); got != "1\n1\n" {
		t.Errorf("SELECT 1: got %q", got)
	}
	got := m.run(t, "--batch", "--execute", "SHOW DATABASES; SELECT DATABASE(); SELECT @@version")
	if lines := strings.Split(got, "\n"); len(lines) < 6 || lines[0] != "Database" || lines[1] != "cdc" ||
		lines[2] != "DATABASE()" || lines[3] != "cdc" || lines[4] != "@@version" || lines[5] == "" {
		t.Errorf("connect queries: got %q", got)
	}
	got = m.run(t, "--batch", "-e", "SELECT DATABASE(), USER() LIMIT 1; SELECT @@character_set_client, @@character_set_connection, @@character_set_server, @@character_set_database LIMIT 1")
	if !strings.Contains(got, "cdc\troot@127.0.0.1\n") || !strings.Contains(got, "utf8mb4\tutf8mb4\tutf8mb4\tutf8mb4\n") {
		t.Errorf("status probes: got %q", got)
	}
	// A database named on the command line is USEd before the session is ready.
	m.run(t, "-e", "CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(10)); INSERT INTO t VALUES (1, 'x')")
	if got := m.run(t, "--batch", "cdc", "-e", "SELECT a, b FROM t"); got != "a\tb\n1\tx\n" {
		t.Errorf("SELECT with database cdc: got %q", got)
	}
}

// chatTables returns the CREATE TABLE statements of the chat example (testdata/chat.slt).
func chatTables(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../testdata/chat.slt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "CREATE TABLE ") {
			out = append(out, line)
		}
	}
	for _, name := range []string{"user", "chat_message", "chat"} {
		found := false
		for _, s := range out {
			found = found || strings.HasPrefix(s, "CREATE TABLE "+name+" (")
		}
		if !found {
			t.Fatalf("testdata/chat.slt has no CREATE TABLE %s", name)
		}
	}
	return out
}

// TestMariaDBTail streams a TAIL through the command-line client while another client
// inserts, then kills the streaming client and checks that the server still serves.
func TestMariaDBTail(t *testing.T) {
	srv, m := needMariaDB(t)
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Skip("stdbuf (coreutils) not on PATH: the client's piped output would be block-buffered")
	}
	m.run(t, "-e", strings.Join(chatTables(t), "; "))
	m.run(t, "-e", `INSERT INTO user VALUES ('7d9f0c1a2b3c4d5e6f708192a3b4c5d6', 'ann', 'pw-ann', 'ann@example.com'), ('0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'bob', 'pw-bob', 'bob@example.com');
		INSERT INTO chat VALUES ('c4a1e8f2d3b5a6c7d8e9f0a1b2c3d4e5', 'general', 'secret', '7d9f0c1a2b3c4d5e6f708192a3b4c5d6');
		CREATE MATERIALIZED VIEW feed AS SELECT m.chat_message_id, c.chat_topic, u.user_login, m.chat_message_datetime, m.chat_message_text
			FROM chat_message m JOIN user u ON u.user_id = m.chat_message_user_id JOIN chat c ON c.chat_id = m.chat_message_chat_id`)

	// The TAIL client, its output line-buffered through a pipe.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, stdbuf, append([]string{"-oL", m.path}, m.args("--quick", "--batch", "-e", "TAIL feed")...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(what string) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("TAIL client ended before %s; stderr: %s", what, stderr.String())
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s from the TAIL client within 10s; stderr: %s", what, stderr.String())
		}
		return ""
	}
	if h := next("header"); h != "lsn\tdiff\tchat_message_id\tchat_topic\tuser_login\tchat_message_datetime\tchat_message_text" {
		t.Fatalf("TAIL header = %q", h)
	}

	m.run(t, "-e", `INSERT INTO chat_message VALUES ('m100', '2026-11-27 11:00:00', 'hello from the cli', 'c4a1e8f2d3b5a6c7d8e9f0a1b2c3d4e5', '0a1b2c3d4e5f60718293a4b5c6d7e8f9')`)
	row := strings.Split(next("change row"), "\t")
	want := []string{"1", "m100", "general", "bob", "2026-11-27 11:00:00", "hello from the cli"}
	if len(row) != 7 || strings.Join(row[1:], "|") != strings.Join(want, "|") {
		t.Fatalf("TAIL row = %q, want [lsn %s]", row, strings.Join(want, " "))
	}
	if lsn, err := strconv.ParseUint(row[0], 10, 64); err != nil || lsn == 0 {
		t.Errorf("TAIL lsn = %q, want a positive integer", row[0])
	}

	// Killing the client ends the stream; the server drops the connection and still serves.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	exited = true
	deadline := time.Now().Add(5 * time.Second)
	for srv.openConns() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.openConns(); n > 0 {
		t.Errorf("server still has %d connections after every client left", n)
	}
	if got := m.run(t, "--batch", "-e", "SELECT user_login, chat_message_text FROM feed"); got != "user_login\tchat_message_text\nbob\thello from the cli\n" {
		t.Errorf("query after the TAIL client was killed: got %q", got)
	}
}

// TestMariaDBLoadDataLocal: the mariadb client sends a tab-separated file for LOAD DATA
// LOCAL INFILE (with --local-infile), NULLs written \N included.
func TestMariaDBLoadDataLocal(t *testing.T) {
	_, m := needMariaDB(t)
	file := t.TempDir() + "/people.tsv"
	if err := os.WriteFile(file, []byte("1\talice\t3\n2\tbob\t\\N\n3\tcarol's\t5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.run(t, "-e", "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(20), score INT)")
	m.run(t, "--local-infile=1", "-e", "LOAD DATA LOCAL INFILE '"+file+"' INTO TABLE people")
	if got := m.run(t, "--batch", "-e", "SELECT id, name, score FROM people ORDER BY id"); got != "id\tname\tscore\n1\talice\t3\n2\tbob\tNULL\n3\tcarol's\t5\n" {
		t.Errorf("rows after LOAD DATA: %q", got)
	}
}
