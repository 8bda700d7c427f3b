package server

import (
	"context"

	"vitess.io/vitess/go/mysql"
	"vitess.io/vitess/go/sqltypes"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/sqlerr"
	"github.com/cdc-dev/cdc/sqlplan"
)

// maxLoadData is the most file bytes a LOAD DATA LOCAL INFILE takes; a larger file is read
// to its end (the protocol requires it) and refused.
const maxLoadData = 256 << 20

// loadData runs LOAD DATA LOCAL INFILE: it asks the client for the file (a 0xFB packet
// naming it, answered with the file's bytes in packets and an empty one), then inserts its
// rows through the session.
func (h *handler) loadData(ctx context.Context, c *mysql.Conn, sess *engine.Session, ld *sqlplan.LoadData, callback func(*sqltypes.Result) error) error {
	data, tooLarge, err := readLocalFile(c, ld.File)
	if err != nil {
		return err
	}
	if tooLarge {
		return h.toSQLError(sqlerr.New(sqlerr.PacketTooLarge, "LOAD DATA LOCAL INFILE: the file is larger than %d bytes; split it", maxLoadData))
	}
	res, err := sess.LoadData(ctx, ld, data)
	setStatus(c, sess)
	if err != nil {
		h.log.Debug("LOAD DATA failed", "conn", c.ConnectionID, "err", err)
		return h.toSQLError(err)
	}
	return callback(toResult(res))
}

// readLocalFile asks the client for the file name and reads what it sends, up to
// maxLoadData bytes (tooLarge: there was more, which was read and dropped). A client that
// will not send it answers with no data.
func readLocalFile(c *mysql.Conn, name string) (data []byte, tooLarge bool, err error) {
	// WritePacket takes the payload after room for the packet header.
	req := append(make([]byte, mysql.PacketHeaderSize, mysql.PacketHeaderSize+1+len(name)), 0xfb)
	if err := c.WritePacket(append(req, name...)); err != nil {
		return nil, false, err
	}
	if err := c.FlushWriteBuffer(); err != nil {
		return nil, false, err
	}
	for {
		p, err := c.ReadPacket()
		if err != nil {
			return nil, false, err
		}
		if len(p) == 0 {
			return data, tooLarge, nil
		}
		if len(data)+len(p) > maxLoadData {
			tooLarge, data = true, nil
			continue
		}
		data = append(data, p...)
	}
}
