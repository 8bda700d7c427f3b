package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cdc-dev/cdc/sqlerr"
)

// grpcError converts an engine error to a gRPC status whose code says what the client can
// do about it; the message is the engine's.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	var se *sqlerr.Error
	if !errors.As(err, &se) {
		return status.Error(codes.Unavailable, err.Error())
	}
	code := codes.Unknown
	switch se.Code {
	case sqlerr.NoSuchTable, sqlerr.BadTable, sqlerr.KeyNotFound:
		code = codes.NotFound
	case sqlerr.TableExists, sqlerr.DupEntry, sqlerr.DupKeyName:
		code = codes.AlreadyExists
	case sqlerr.Parse, sqlerr.WrongValue, sqlerr.DataOutOfRange, sqlerr.BadNull, sqlerr.WrongArguments,
		sqlerr.DataTooLong, sqlerr.BadField, sqlerr.WrongValueCnt, sqlerr.NoDefault, sqlerr.NonUniq,
		sqlerr.InvalidGroup, sqlerr.WrongFieldSpec, sqlerr.DupFieldName, sqlerr.InvalidDefault:
		code = codes.InvalidArgument
	case sqlerr.NotSupported:
		code = codes.Unimplemented
	case sqlerr.Dependent, sqlerr.WrongObject, sqlerr.NonUpdatable, sqlerr.CantDropIndex:
		code = codes.FailedPrecondition
	case sqlerr.DiskFull:
		code = codes.ResourceExhausted
	case sqlerr.QueryCanceled:
		code = codes.Canceled
	}
	return status.Error(code, se.Msg)
}
