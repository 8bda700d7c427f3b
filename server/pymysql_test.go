package server

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Python's DB-API drivers against the server: PyMySQL (Debian's python3-pymysql) and
// mysqlclient (python3-mysqldb) open connections with autocommit off and decide from the
// OK packets' status flags whether commit() and rollback() have work to do. CI installs
// both (.ci/run); elsewhere the tests skip without them.

// debianPython is the Python that Debian's packages install into.
const debianPython = "/usr/bin/python3"

// needPythonModule skips the test unless Debian's Python can import module.
func needPythonModule(t *testing.T, module, pkg string) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import "+module).Run(); err != nil {
		t.Skipf("%s cannot import %s (apt-get install %s): %v", debianPython, module, pkg, err)
	}
}

// runPython runs script with the server's port as its argument and returns its output,
// failing the test if it exits non-zero.
func runPython(t *testing.T, port, script string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, debianPython, path, port).CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	return string(out)
}

// dbapiScript is the DB-API conversation both drivers hold: connect (autocommit off, the
// DB-API default), INSERT then rollback() leaves nothing, INSERT then commit() keeps it, a
// transaction is visible to another connection only once committed, and autocommit(True)
// makes each statement durable on its own. connect is the driver's connect expression.
const dbapiScript = `
import sys
%s
port = int(sys.argv[1])
def conn():
    return connect(port)
a = conn()
b = conn()
cur = a.cursor()
cur.execute("SELECT @@autocommit, @@transaction_isolation")
print("session", cur.fetchone())
cur.execute("CREATE TABLE IF NOT EXISTS py (id INT PRIMARY KEY, v VARCHAR(10))")
cur.execute("INSERT INTO py VALUES (1, 'rolled')")
a.rollback()
cur.execute("SELECT COUNT(*) FROM py")
print("after rollback", cur.fetchone()[0])
cur.execute("INSERT INTO py VALUES (2, 'kept')")
cur.execute("INSERT INTO py VALUES (3, 'kept')")
bc = b.cursor()
bc.execute("SELECT COUNT(*) FROM py")
print("other before commit", bc.fetchone()[0])
a.commit()
b.commit()
bc.execute("SELECT COUNT(*) FROM py")
print("other after commit", bc.fetchone()[0])
a.autocommit(True)
cur.execute("INSERT INTO py VALUES (4, 'auto')")
a.rollback()
bc.execute("SELECT id FROM py ORDER BY id")
print("ids", [r[0] for r in bc.fetchall()])
a.close()
b.close()
`

// dbapiWant is what dbapiScript prints (after its session line).
const dbapiWant = `after rollback 0
other before commit 0
other after commit 2
ids [2, 3, 4]
`

func testDBAPI(t *testing.T, module, pkg, connect string) {
	needPythonModule(t, module, pkg)
	srv := startServerFull(t, "")
	_, port, _ := strings.Cut(srv.Addr(), ":")
	out := runPython(t, port, strings.Replace(dbapiScript, "%s", connect, 1))
	session, rest, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(session, "session (0, 'REPEATABLE-READ')") && !strings.HasPrefix(session, "session ('0', 'REPEATABLE-READ')") {
		t.Errorf("a new DB-API connection: got %q, want autocommit 0 and the engine's isolation", session)
	}
	if rest != dbapiWant {
		t.Errorf("%s conversation:\n%s\nwant:\n%s", module, rest, dbapiWant)
	}
}

func TestPyMySQLTransactions(t *testing.T) {
	testDBAPI(t, "pymysql", "python3-pymysql",
		`import pymysql
def connect(port): return pymysql.connect(host="127.0.0.1", port=port, user="root", password="", database="cdc")`)
}

func TestMySQLClientTransactions(t *testing.T) {
	testDBAPI(t, "MySQLdb", "python3-mysqldb",
		`import MySQLdb
def connect(port): return MySQLdb.connect(host="127.0.0.1", port=port, user="root", passwd="", db="cdc")`)
}

// concurrencyScript runs, with PyMySQL, what the engine's concurrency promises to a DB-API
// client: a transaction left open does not delay a writer of other rows (the connection's
// read timeout would end a blocked one), a write that conflicts with a transaction that
// committed first fails at COMMIT with 1213, and so do crossed updates (a deadlock under
// row locks); the loser changed nothing.
const concurrencyScript = `
import sys, pymysql
port = int(sys.argv[1])
def conn(autocommit=False):
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password="", database="cdc",
                           autocommit=autocommit, read_timeout=30)
a, b = conn(), conn()
setup = conn(True)
setup.cursor().execute("CREATE TABLE acct (id INT PRIMARY KEY, balance INT)")
setup.cursor().execute("INSERT INTO acct VALUES (1, 100), (2, 100), (3, 100)")
a.cursor().execute("INSERT INTO acct VALUES (10, 0)")  # left open
w = conn(True)
w.cursor().execute("INSERT INTO acct VALUES (11, 0)")
print("writer beside an idle transaction: done")
a.rollback()
def code(fn):
    try:
        fn()
        return "ok"
    except pymysql.err.OperationalError as e:
        return str(e.args[0])
a.cursor().execute("UPDATE acct SET balance = balance - 10 WHERE id = 1")
b.cursor().execute("UPDATE acct SET balance = balance - 20 WHERE id = 1")
print("conflict:", code(a.commit), code(b.commit))
a.cursor().execute("UPDATE acct SET balance = balance + 1 WHERE id = 2")
b.cursor().execute("UPDATE acct SET balance = balance + 1 WHERE id = 3")
a.cursor().execute("UPDATE acct SET balance = balance + 1 WHERE id = 3")
b.cursor().execute("UPDATE acct SET balance = balance + 1 WHERE id = 2")
print("deadlock:", code(a.commit), code(b.commit))
c = setup.cursor()
c.execute("SELECT id, balance FROM acct ORDER BY id")
print("rows", [tuple(r) for r in c.fetchall()])
`

// concurrencyWant is what concurrencyScript prints.
const concurrencyWant = `writer beside an idle transaction: done
conflict: ok 1213
deadlock: ok 1213
rows [(1, 90), (2, 101), (3, 101), (11, 0)]
`

func TestPyMySQLConcurrency(t *testing.T) {
	needPythonModule(t, "pymysql", "python3-pymysql")
	srv := startServerFull(t, "")
	_, port, _ := strings.Cut(srv.Addr(), ":")
	if out := runPython(t, port, concurrencyScript); out != concurrencyWant {
		t.Errorf("PyMySQL concurrency:\n%s\nwant:\n%s", out, concurrencyWant)
	}
}
