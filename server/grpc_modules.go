package server

import (
	"errors"
	"io"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/modules"
)

// maxRowsPerCall bounds the messages of one write call (one transaction).
const maxRowsPerCall = 100_000

// Metadata a module's subscription call may carry.
const (
	// mdAsOf resumes a subscription after an LSN (as TAIL ... AS OF).
	mdAsOf = "cdc-as-of"
	// mdSnapshot ("true"/"false") asks for, or not, the current rows first; the default is
	// true, or false with cdc-as-of.
	mdSnapshot = "cdc-snapshot"
	// mdLSN is the trailer of a write call: the LSN its transaction was committed at.
	mdLSN = "cdc-lsn"
)

// serveModule serves a call of a module's method: the module is looked up at each call.
func (g *GRPC) serveModule(_ any, stream grpc.ServerStream) error {
	path, _ := grpc.MethodFromServerStream(stream)
	_, m, ok := g.e.ModuleMethod(path)
	if !ok {
		return status.Errorf(codes.Unimplemented, "unknown method %s: no loaded module serves it", path)
	}
	if m.Kind == modules.Write {
		return g.writeCall(stream, m)
	}
	return g.subscribeCall(stream, m)
}

// receive reads the next request message of a call, decoding it as the method's input.
func receive(stream grpc.ServerStream, m *modules.Method) (*dynamicpb.Message, error) {
	var f frame
	if err := stream.RecvMsg(&f); err != nil {
		return nil, err
	}
	msg := dynamicpb.NewMessage(m.Desc.Input())
	if err := proto.Unmarshal(f.b, msg); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "malformed %s: %v", m.Desc.Input().FullName(), err)
	}
	return msg, nil
}

// writeCall stores every request message of a call in one transaction and answers with the
// method's response message; the trailer cdc-lsn carries the commit LSN.
func (g *GRPC) writeCall(stream grpc.ServerStream, m *modules.Method) error {
	var rows []dataflow.Row
	for {
		msg, err := receive(stream, m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		row, err := m.Table.Row(msg)
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "%v", err)
		}
		if len(rows) >= maxRowsPerCall {
			return status.Errorf(codes.ResourceExhausted, "a call of %s may write at most %d messages: split the stream into several calls", m.Desc.FullName(), maxRowsPerCall)
		}
		rows = append(rows, row)
	}
	cols := make([]string, len(m.Table.Columns))
	for i, c := range m.Table.Columns {
		cols[i] = c.Name
	}
	var lsn uint64
	var n int64
	if len(rows) > 0 {
		res, err := g.e.WriteRows(stream.Context(), m.Table.Name, m.Mode, cols, rows)
		if err != nil {
			return grpcError(err)
		}
		lsn, n = res.LSN, res.RowsAffected
	}
	stream.SetTrailer(metadata.Pairs(mdLSN, strconv.FormatUint(lsn, 10)))
	return stream.SendMsg(m.Ack(lsn, n))
}

// subscribeCall streams the rows a subscription method selects for its request: first the
// current ones (unless resuming), then every change. On a plain stream each inserted row is
// one message and deletions are not sent; a change-wrapper stream carries lsn and diff.
func (g *GRPC) subscribeCall(stream grpc.ServerStream, m *modules.Method) error {
	req, err := receive(stream, m)
	if errors.Is(err, io.EOF) {
		return status.Errorf(codes.InvalidArgument, "%s needs a request message", m.Desc.FullName())
	}
	if err != nil {
		return err
	}
	cols, vals, err := m.ParamValues(req)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "%v", err)
	}
	opts, err := subscribeMetadata(stream)
	if err != nil {
		return err
	}
	ctx, cancel := g.streamContext(stream.Context())
	defer cancel()
	sub, err := g.e.SubscribeMethod(ctx, m, cols, vals, opts)
	if err != nil {
		return grpcError(err)
	}
	defer sub.Close()
	names := make([]string, 0, len(sub.Columns()))
	for _, c := range sub.Columns()[2:] { // after lsn and diff
		names = append(names, c.Name)
	}
	for {
		b, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil && stream.Context().Err() == nil {
				return status.Error(codes.Unavailable, "the server is shutting down: resume with cdc-as-of")
			}
			return grpcError(err)
		}
		for _, u := range b.Updates {
			row, err := m.Row.NewMessage(names, u.Row)
			if err != nil {
				return status.Errorf(codes.Internal, "%v", err)
			}
			if m.Changes {
				if err := stream.SendMsg(m.Change(b.LSN, u.Diff, row)); err != nil {
					return err
				}
				continue
			}
			for i := int64(0); i < u.Diff; i++ {
				if err := stream.SendMsg(row); err != nil {
					return err
				}
			}
		}
	}
}

// subscribeMetadata reads a subscription call's cdc-as-of and cdc-snapshot metadata.
func subscribeMetadata(stream grpc.ServerStream) (engine.SubscribeOptions, error) {
	md, _ := metadata.FromIncomingContext(stream.Context())
	var opts engine.SubscribeOptions
	if v := md.Get(mdAsOf); len(v) > 0 {
		n, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil {
			return opts, status.Errorf(codes.InvalidArgument, "%s takes an LSN, not %q", mdAsOf, v[0])
		}
		opts.AsOf, opts.HasAsOf = n, true
	}
	opts.Snapshot = !opts.HasAsOf
	if v := md.Get(mdSnapshot); len(v) > 0 {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			return opts, status.Errorf(codes.InvalidArgument, "%s takes true or false, not %q", mdSnapshot, v[0])
		}
		opts.Snapshot = b
	}
	return opts, nil
}
