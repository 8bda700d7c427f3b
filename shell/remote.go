package shell

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
)

// Dial connects to a cdc server (or any MySQL server) and returns an Executor on one
// connection, so that transactions span statements, and a function that closes it.
func Dial(ctx context.Context, addr, user, password string) (Executor, func() error, error) {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", addr, user, password
	cfg.InterpolateParams = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, nil, err
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect to %s: %w", addr, remoteError(err))
	}
	closeAll := func() error {
		conn.Close()
		return db.Close()
	}
	var id int64
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		closeAll()
		return nil, nil, remoteError(err)
	}
	return remote(db, conn, id), closeAll, nil
}

// remote runs statements on a database/sql connection. A result set is read whole, except
// for TAIL, whose rows are streamed. A TAIL is ended with KILL QUERY sent on another
// connection of db, so that its own connection (and its transaction state) stays usable.
func remote(db *sql.DB, conn *sql.Conn, id int64) Executor {
	return func(ctx context.Context, query string) (*Result, error) {
		streaming := isTail(query)
		qctx, cancel := context.WithCancel(ctx)
		if streaming {
			// The stream outlives ctx until KILL QUERY ends it on the server.
			qctx, cancel = context.WithCancel(context.Background())
		}
		rows, err := conn.QueryContext(qctx, query)
		if err != nil {
			cancel()
			return nil, remoteError(err)
		}
		cols, err := rows.ColumnTypes()
		if err != nil {
			rows.Close()
			cancel()
			return nil, remoteError(err)
		}
		res := &Result{}
		if len(cols) > 0 {
			for _, c := range cols {
				res.Columns = append(res.Columns, engine.Column{Name: c.Name(), Kind: kindOf(c.DatabaseTypeName()), SQLType: c.DatabaseTypeName()})
			}
		}
		if streaming {
			stop := context.AfterFunc(ctx, func() { killQuery(db, id) })
			res.Next = func(context.Context) ([]dataflow.Row, error) {
				if !rows.Next() {
					err := remoteError(rows.Err())
					if e, ok := err.(*sqlerr.Error); ok && e.Code == sqlerr.QueryCanceled {
						err = nil // ended by KILL QUERY: the normal end of a TAIL here
					}
					if err != nil {
						return nil, err
					}
					return nil, io.EOF
				}
				row, err := scanRow(rows, len(cols))
				return []dataflow.Row{row}, err
			}
			res.Close = func() {
				if stop() {
					killQuery(db, id)
				}
				rows.Close()
				cancel()
			}
			return res, nil
		}
		defer cancel()
		defer rows.Close()
		for rows.Next() {
			row, err := scanRow(rows, len(cols))
			if err != nil {
				return nil, err
			}
			res.Rows = append(res.Rows, row)
		}
		if err := rows.Err(); err != nil {
			return nil, remoteError(err)
		}
		if len(cols) == 0 {
			res.Columns = nil
		}
		return res, nil
	}
}

// killQuery ends the statement running on connection id, from another connection.
func killQuery(db *sql.DB, id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = db.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", id))
}

// isTail reports whether a statement is a TAIL, whose result never ends by itself.
func isTail(query string) bool {
	f := strings.Fields(query)
	return len(f) > 0 && strings.EqualFold(f[0], "tail")
}

// scanRow reads one row as text datums (NULL stays NULL).
func scanRow(rows *sql.Rows, n int) (dataflow.Row, error) {
	vals := make([]sql.NullString, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, remoteError(err)
	}
	row := make(dataflow.Row, n)
	for i, v := range vals {
		if v.Valid {
			row[i] = dataflow.NewString(v.String)
		}
	}
	return row, nil
}

// kindOf maps a MySQL column type name to the kind the shell aligns it as.
func kindOf(typeName string) dataflow.Kind {
	switch strings.ToUpper(typeName) {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "UNSIGNED BIGINT", "YEAR":
		return dataflow.KindInt
	case "FLOAT", "DOUBLE":
		return dataflow.KindFloat
	case "DECIMAL":
		return dataflow.KindDecimal
	case "DATETIME", "TIMESTAMP", "DATE":
		return dataflow.KindTime
	case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY":
		return dataflow.KindBytes
	}
	return dataflow.KindString
}

// remoteError turns a server's MySQL error into a *sqlerr.Error with its code and state.
func remoteError(err error) error {
	if err == nil {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return &sqlerr.Error{Code: me.Number, State: string(me.SQLState[:]), Msg: me.Message}
	}
	return err
}
