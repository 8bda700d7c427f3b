package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	protoenc "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/cdc-dev/cdc/engine"
	"github.com/cdc-dev/cdc/proto/enginepb"
)

// GRPCConfig configures the gRPC listener.
type GRPCConfig struct {
	// Addr is the TCP address to listen on, e.g. 127.0.0.1:6877 (port 0 picks a free one).
	Addr string
	// Password, if set, is the bearer token every call must carry in the metadata
	// "authorization: Bearer <password>" (reflection and health checks included).
	Password string
	// Logger receives the server's logs; nil means slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds how long Serve waits for unary calls to end once its context
	// ends; streams (subscriptions) are cut at once. Default 5s.
	ShutdownTimeout time.Duration
	// Metrics, if set, counts calls by method and status code, and refused tokens.
	Metrics *Metrics
}

// GRPC serves the built-in cdc.v1.Engine service, health checking, server reflection and
// the services of the engine's modules, which are looked up at every call: a module loaded
// or dropped while the server runs is served, or not, from its next call on.
type GRPC struct {
	e      *engine.Engine
	cfg    GRPCConfig
	log    *slog.Logger
	lis    net.Listener
	srv    *grpc.Server
	health *health.Server
	done   chan struct{} // closed when shutdown starts: streams end
	// bad holds the decoding errors of requests of compiled services, by request, until
	// the interceptors turn them into INVALID_ARGUMENT (gRPC itself would answer INTERNAL).
	bad *sync.Map
}

// NewGRPC listens on cfg.Addr; call Serve to accept calls.
func NewGRPC(e *engine.Engine, cfg GRPCConfig) (*GRPC, error) {
	if e == nil {
		return nil, errors.New("grpc server: nil engine")
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("grpc server: listen on %s: %w", cfg.Addr, err)
	}
	g := &GRPC{e: e, cfg: cfg, log: log, lis: lis, done: make(chan struct{}), bad: &sync.Map{}}
	g.srv = grpc.NewServer(
		grpc.ForceServerCodecV2(frameCodec{encoding.GetCodecV2(protoenc.Name), g.bad}),
		grpc.UnknownServiceHandler(g.serveModule),
		grpc.ChainUnaryInterceptor(g.authorizeUnary),
		grpc.ChainStreamInterceptor(g.authorizeStream),
	)
	enginepb.RegisterEngineServer(g.srv, &engineService{e: e, g: g})
	g.health = health.NewServer()
	healthpb.RegisterHealthServer(g.srv, g.health)
	opts := reflection.ServerOptions{Services: g, DescriptorResolver: moduleResolver{e}, ExtensionResolver: protoregistry.GlobalTypes}
	reflectionv1.RegisterServerReflectionServer(g.srv, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(g.srv, reflection.NewServer(opts))
	return g, nil
}

// Addr is the address the server listens on.
func (g *GRPC) Addr() string { return g.lis.Addr().String() }

// Serve answers calls until ctx ends, then stops: subscriptions end at once, unary calls
// get ShutdownTimeout to finish.
func (g *GRPC) Serve(ctx context.Context) error {
	g.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	errc := make(chan error, 1)
	go func() { errc <- g.srv.Serve(g.lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("grpc server: %w", err)
	case <-ctx.Done():
	}
	g.health.Shutdown()
	close(g.done)
	stopped := make(chan struct{})
	go func() {
		g.srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(g.cfg.ShutdownTimeout):
		g.srv.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpc server: %w", err)
	}
	return nil
}

// streamContext is a stream's context, also ended when the server shuts down.
func (g *GRPC) streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-g.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// authorize checks the bearer token of a call when the server has a password. The
// interceptors that call it also count the call and turn a panic into INTERNAL, so that one
// call's bug does not take the server down.
func (g *GRPC) authorize(ctx context.Context) error {
	if g.cfg.Password == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if subtle.ConstantTimeCompare([]byte(v), []byte("Bearer "+g.cfg.Password)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "missing or wrong token: send the metadata 'authorization: Bearer <password>'")
}

func (g *GRPC) authorizeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			g.log.Error("grpc call panicked", "method", info.FullMethod, "panic", r)
			res, err = nil, status.Errorf(codes.Internal, "internal error: %v", r)
		}
		g.cfg.Metrics.grpcCall(info.FullMethod, err)
	}()
	if err := g.authorize(ctx); err != nil {
		g.bad.Delete(req)
		return nil, err
	}
	if err := g.decodingError(req); err != nil {
		return nil, err
	}
	return next(ctx, req)
}

func (g *GRPC) authorizeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			g.log.Error("grpc call panicked", "method", info.FullMethod, "panic", r)
			err = status.Errorf(codes.Internal, "internal error: %v", r)
		}
		g.cfg.Metrics.grpcCall(info.FullMethod, err)
	}()
	if err := g.authorize(ss.Context()); err != nil {
		return err
	}
	return next(srv, checkedStream{ss, g})
}

// decodingError returns INVALID_ARGUMENT if the request's bytes did not decode.
func (g *GRPC) decodingError(req any) error {
	if err, ok := g.bad.LoadAndDelete(req); ok {
		return status.Errorf(codes.InvalidArgument, "malformed request: %v", err)
	}
	return nil
}

// checkedStream reports the requests of a stream that did not decode as INVALID_ARGUMENT.
type checkedStream struct {
	grpc.ServerStream
	g *GRPC
}

func (s checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.g.decodingError(m)
}

// GetServiceInfo lists the compiled services and those of the loaded modules, for server
// reflection.
func (g *GRPC) GetServiceInfo() map[string]grpc.ServiceInfo {
	out := g.srv.GetServiceInfo()
	for _, m := range g.e.Modules() {
		for _, svc := range m.Services {
			info := grpc.ServiceInfo{Metadata: svc.Desc.ParentFile().Path()}
			for _, meth := range svc.Methods {
				info.Methods = append(info.Methods, grpc.MethodInfo{
					Name: string(meth.Desc.Name()), IsClientStream: meth.Desc.IsStreamingClient(), IsServerStream: meth.Desc.IsStreamingServer(),
				})
			}
			out[string(svc.Desc.FullName())] = info
		}
	}
	return out
}

// moduleResolver resolves descriptors among the loaded modules' files, then the compiled ones.
type moduleResolver struct{ e *engine.Engine }

func (r moduleResolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	if fd, err := protoregistry.GlobalFiles.FindFileByPath(path); err == nil {
		return fd, nil
	}
	for _, m := range r.e.Modules() {
		if fd, err := m.Registry.FindFileByPath(path); err == nil {
			return fd, nil
		}
	}
	return nil, protoregistry.NotFound
}

func (r moduleResolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	if d, err := protoregistry.GlobalFiles.FindDescriptorByName(name); err == nil {
		return d, nil
	}
	for _, m := range r.e.Modules() {
		if d, err := m.Registry.FindDescriptorByName(name); err == nil {
			return d, nil
		}
	}
	return nil, protoregistry.NotFound
}

// frame is a request received as its encoded bytes: the handler decodes it, so that
// malformed bytes are INVALID_ARGUMENT rather than gRPC's INTERNAL.
type frame struct{ b []byte }

// frameCodec is the proto codec, except that it leaves frames encoded and that a request
// that does not decode is recorded in bad (for the interceptors) rather than failed.
type frameCodec struct {
	encoding.CodecV2
	bad *sync.Map
}

func (c frameCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if f, ok := v.(*frame); ok {
		f.b = data.Materialize()
		return nil
	}
	if err := c.CodecV2.Unmarshal(data, v); err != nil {
		c.bad.Store(v, err)
	}
	return nil
}
