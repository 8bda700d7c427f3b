package server

import (
	"context"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"github.com/cdc-dev/cdc/proto/enginepb"
	"github.com/cdc-dev/cdc/sqlplan"
	"vitess.io/vitess/go/vt/sqlparser"
)

// engineService implements cdc.v1.Engine.
type engineService struct {
	enginepb.UnimplementedEngineServer
	e *engine.Engine
	g *GRPC
}

// run executes one statement on a session of its own.
func (s *engineService) run(ctx context.Context, sql string) (*engine.Result, error) {
	sess := s.e.NewSession()
	defer sess.Close()
	res, err := sess.Exec(ctx, sql)
	if err != nil {
		return nil, grpcError(err)
	}
	if res.Tail != nil {
		res.Tail.Close()
		return nil, status.Error(codes.InvalidArgument, "TAIL streams: call Subscribe")
	}
	return res, nil
}

// queryOnly refuses a statement that is not a read (SELECT, SHOW, EXPLAIN, VERIFY).
func queryOnly(sql string) error {
	stmt, err := sqlplan.Parse(sql)
	if err != nil {
		return grpcError(err)
	}
	switch st := stmt.(type) {
	case *sqlplan.ShowObjects, *sqlplan.ShowCreate, *sqlplan.Explain, *sqlplan.Verify:
		return nil
	case *sqlplan.Tail:
		return status.Error(codes.InvalidArgument, "TAIL streams: call Subscribe")
	case *sqlplan.Vitess:
		switch st.Stmt.(type) {
		case sqlparser.TableStatement, *sqlparser.Show, *sqlparser.ExplainStmt:
			return nil
		}
	}
	return status.Error(codes.InvalidArgument, "Query runs statements that read (SELECT, SHOW, EXPLAIN, VERIFY): call Exec for the others")
}

// columns converts result columns.
func columns(cols []engine.Column) []*enginepb.Column {
	out := make([]*enginepb.Column, len(cols))
	for i, c := range cols {
		out[i] = &enginepb.Column{Name: c.Name, Type: c.SQLType}
	}
	return out
}

func (s *engineService) Exec(ctx context.Context, req *enginepb.ExecRequest) (*enginepb.ExecResponse, error) {
	res, err := s.run(ctx, req.Sql)
	if err != nil {
		return nil, err
	}
	out := &enginepb.ExecResponse{RowsAffected: res.RowsAffected, Lsn: res.LSN}
	if res.HasRows() {
		out.Columns = columns(res.Columns)
		for _, r := range res.Rows {
			out.Rows = append(out.Rows, engine.EncodeRow(r))
		}
	}
	return out, nil
}

func (s *engineService) Query(ctx context.Context, req *enginepb.QueryRequest) (*enginepb.QueryResponse, error) {
	// Refused before it runs: a write must not be applied by a call that then fails.
	if err := queryOnly(req.Sql); err != nil {
		return nil, err
	}
	res, err := s.run(ctx, req.Sql)
	if err != nil {
		return nil, err
	}
	if !res.HasRows() {
		return nil, status.Error(codes.InvalidArgument, "the statement returns no rows: call Exec")
	}
	out := &enginepb.QueryResponse{Columns: columns(res.Columns)}
	for _, r := range res.Rows {
		out.Rows = append(out.Rows, engine.EncodeRow(r))
	}
	return out, nil
}

func (s *engineService) Subscribe(req *enginepb.SubscribeRequest, stream grpc.ServerStreamingServer[enginepb.ChangeBatch]) error {
	ctx, cancel := s.g.streamContext(stream.Context())
	defer cancel()
	opts := engine.SubscribeOptions{Snapshot: req.Snapshot, Progress: req.Progress}
	if req.AsOf != nil {
		opts.AsOf, opts.HasAsOf = *req.AsOf, true
	}
	sub, err := s.e.Subscribe(ctx, req.View, opts)
	if err != nil {
		return grpcError(err)
	}
	defer sub.Close()
	cols := columns(sub.Columns())
	skip := 2 // lsn, diff
	if req.Progress {
		skip = 3
	}
	cols = cols[skip:]
	snapshot := req.Snapshot
	for {
		b, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil && stream.Context().Err() == nil {
				return status.Error(codes.Unavailable, "the server is shutting down: resume with as_of")
			}
			return grpcError(err)
		}
		out := &enginepb.ChangeBatch{Lsn: b.LSN, Columns: cols, Progress: b.Progress}
		cols = nil
		if !b.Progress {
			out.Snapshot, snapshot = snapshot, false
			out.Changes = make([]*enginepb.Change, len(b.Updates))
			for i, u := range b.Updates {
				out.Changes[i] = &enginepb.Change{Diff: u.Diff, Row: engine.EncodeRow(u.Row)}
			}
		}
		if err := stream.Send(out); err != nil {
			return err
		}
	}
}

func (s *engineService) ChangeLog(req *enginepb.ChangeLogRequest, stream grpc.ServerStreamingServer[changelogpb.Transaction]) error {
	ctx, cancel := s.g.streamContext(stream.Context())
	defer cancel()
	after := req.After
	for {
		err := s.e.ReadLog(after, func(tx *changelogpb.Transaction) error {
			if err := stream.Send(tx); err != nil {
				return err
			}
			after = tx.Lsn
			return nil
		})
		if err != nil {
			return grpcError(err)
		}
		if _, err := s.e.WaitLSN(ctx, after); err != nil {
			if ctx.Err() != nil && stream.Context().Err() == nil {
				return status.Error(codes.Unavailable, "the server is shutting down: resume with after")
			}
			return grpcError(err)
		}
	}
}

func (s *engineService) LoadModule(ctx context.Context, req *enginepb.LoadModuleRequest) (*enginepb.LoadModuleResponse, error) {
	if len(req.Files) == 0 {
		return nil, status.Error(codes.InvalidArgument, "LoadModule needs at least one file")
	}
	mod, replaced, err := s.e.LoadModule(ctx, req.Name, req.Files, req.Main, true)
	if err != nil {
		return nil, grpcError(err)
	}
	out := &enginepb.LoadModuleResponse{Replaced: replaced}
	for _, t := range mod.Tables {
		out.Tables = append(out.Tables, &enginepb.ModuleTable{Name: t.Name, CreateSql: t.CreateSQL()})
	}
	for _, svc := range mod.Services {
		out.Services = append(out.Services, string(svc.Desc.FullName()))
	}
	return out, nil
}

func (s *engineService) ListModules(context.Context, *enginepb.ListModulesRequest) (*enginepb.ListModulesResponse, error) {
	out := &enginepb.ListModulesResponse{}
	for _, m := range s.e.Modules() {
		info := &enginepb.ModuleInfo{Name: m.Name}
		for _, t := range m.Tables {
			info.Tables = append(info.Tables, t.Name)
		}
		for _, svc := range m.Services {
			info.Services = append(info.Services, string(svc.Desc.FullName()))
		}
		sort.Strings(info.Services)
		out.Modules = append(out.Modules, info)
	}
	return out, nil
}

func (s *engineService) DropModule(ctx context.Context, req *enginepb.DropModuleRequest) (*enginepb.DropModuleResponse, error) {
	if err := s.e.DropModule(ctx, req.Name, req.IfExists); err != nil {
		return nil, grpcError(err)
	}
	return &enginepb.DropModuleResponse{}, nil
}
